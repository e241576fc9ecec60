// Proves how server answers become API results: operate() bins merging, batch answers in key
// order with null for missing keys, scan pages with digest-only or full keys.
import t from 'tap';
import { Key } from '../../src/client/key';
import { lists, maps, ops } from '../../src/client/operations';
import { toBatchExists, toBatchRecords, toMetadata, toOperateResult, toRecord, toScanPage } from '../../src/client/records';
import { Status } from '../../src/errors';

const key = new Key('test', 'demo', 'k');

t.test('get and metadata', async (t) => {
  t.same(toRecord(key, { gen: 2, ttl: 100, bins: { a: 1 } }), { key, bins: { a: 1 }, gen: 2, ttl: 100 });
  t.same(toRecord(key, { gen: 2, ttl: -1, bins: null }).bins, {});
  t.same(toMetadata({ gen: 1n, ttl: 5 }, 'put'), { gen: 1, ttl: 5 }, 'small bigints become numbers');
  for (const bad of [null, [], { gen: 'x', ttl: 1 }, { gen: 1 }, { gen: 1, ttl: 2n ** 60n }]) {
    t.throws(
      () => toMetadata(bad, 'put'),
      { code: Status.PARAMETER },
      JSON.stringify(bad, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)),
    );
  }
  t.throws(() => toRecord(key, { gen: 1, ttl: 1, bins: [1] }), { code: Status.PARAMETER });
});

t.test('operate merges results into bins', async (t) => {
  const operations = [ops.incr('n', 1), ops.read('n'), lists.append('l', 'x'), maps.getByKey('m', 'k'), ops.read(), ops.write('w', 1)];
  const results = [null, 5, 3, null, { n: 5, l: ['x'], s: 'str' }, null];
  const result = toOperateResult(key, operations, { gen: 4, ttl: 10, results });
  t.same(result.results, results);
  t.same(result.bins, { n: 5, l: ['x'], s: 'str' }, 'read-all merged over per-bin results');
  t.equal(result.gen, 4);
  t.same(toOperateResult(key, [lists.size('l'), ops.read('n')], { gen: 1, ttl: 1, results: [2, 9] }).bins, { l: 2, n: 9 });
  t.throws(() => toOperateResult(key, operations, { gen: 1, ttl: 1, results: [1] }), { code: Status.PARAMETER }, 'one result per op');
});

t.test('batch answers', async (t) => {
  const keys = [new Key('test', 'demo', 1), new Key('test', 'demo', 2), new Key('test', 'demo', 3)];
  const body = {
    records: [
      [0, 1, 50, { a: 1 }],
      [Status.KEY_NOT_FOUND, 0, 0, null],
      [0, 3, -1, {}],
    ],
  };
  t.same(toBatchRecords(keys, body), [{ key: keys[0], bins: { a: 1 }, gen: 1, ttl: 50 }, null, { key: keys[2], bins: {}, gen: 3, ttl: -1 }]);
  t.same(
    toBatchExists(keys, {
      records: [
        [0, 1, 50],
        [2, 0, 0],
        [0, 3, -1],
      ],
    }),
    [{ key: keys[0], gen: 1, ttl: 50 }, null, { key: keys[2], gen: 3, ttl: -1 }],
  );
  t.throws(() => toBatchRecords(keys, { records: [] }), { code: Status.PARAMETER }, 'one answer per key');
  t.throws(
    () =>
      toBatchRecords(keys, {
        records: [
          [0, 1, 1, {}],
          [Status.PARTITION_UNAVAILABLE, 0, 0, null],
          [0, 1, 1, {}],
        ],
      }),
    { code: Status.PARTITION_UNAVAILABLE },
    'other per-key codes fail the batch',
  );
});

t.test('scan pages', async (t) => {
  const stored = new Key('test', 'demo', 'kept');
  const anonymous = new Key('test', null, 'anon');
  const page = toScanPage('test', {
    records: [
      [stored.digest, 'demo', 'kept', 1, 100, { a: 1 }],
      [anonymous.digest, null, null, 2, -1, { b: 2 }],
    ],
    cursor: Buffer.from('next'),
  });
  t.equal(page.records[0].key.value, 'kept');
  t.same(page.records[0].key.digest, stored.digest);
  t.equal(page.records[1].key.value, null);
  t.equal(page.records[1].key.set, null);
  t.same(page.records[1].key.digest, anonymous.digest);
  t.same(page.records[1].bins, { b: 2 });
  t.same(page.cursor, Buffer.from('next'));
  t.equal(toScanPage('test', { records: [], cursor: null }).cursor, null);
  t.throws(() => toScanPage('test', { records: [[Buffer.alloc(3), null, null, 1, 1, {}]], cursor: null }), { code: Status.PARAMETER });
  t.throws(() => toScanPage('test', { records: [], cursor: 5 }), { code: Status.PARAMETER });
});
