// Proves batch reads span workers and keep key order, and that scans stream every record once in
// bounded pages, filter by set, select bins and resume from a cursor.
import t from 'tap';
import { Key, status } from '../../src/index';
import { startTestNode } from '../helpers/node';

t.test('batch get and exists across workers', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.workers.count = 3;
  });
  const keys = Array.from({ length: 300 }, (_, i) => new Key('test', 'b', i));
  await Promise.all(keys.filter((_, i) => i % 3 !== 0).map((k) => client.put(k, { i: k.value as number, pad: 'p' })));
  const got = await client.batchGet(keys);
  t.equal(got.length, 300);
  for (let i = 0; i < 300; i++) {
    if (i % 3 === 0) t.equal(got[i], null, `missing ${i}`);
    else t.equal(got[i]?.bins.i, i, `present ${i}`);
  }
  const sel = await client.batchGet(keys.slice(1, 3), ['i']);
  t.same(
    sel.map((r) => r?.bins),
    [{ i: 1 }, { i: 2 }],
  );
  const ex = await client.batchExists(keys.slice(0, 3));
  t.same(
    ex.map((e) => e?.gen ?? null),
    [null, 1, 1],
  );
  t.same(await client.batchGet([]), []);
  await t.rejects(client.batchGet([new Key('nope', 's', 1)]), { code: status.INVALID_NAMESPACE });
  const many = Array.from({ length: 12000 }, (_, i) => new Key('test', 'b', i));
  const all = await client.batchGet(many);
  t.equal(all.filter((r) => r !== null).length, 200, 'the SDK splits batches larger than the server limit');
});

t.test('scan streams every record once, by set, in pages', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.workers.count = 3;
  });
  const N = 2500;
  await Promise.all(Array.from({ length: N }, (_, i) => client.put(new Key('test', i % 2 ? 'odd' : 'even', i), { i, half: i % 2 })));
  const seen = new Set<number>();
  let dup = 0;
  for await (const rec of client.scan('test', 'odd', { pageSize: 100 })) {
    const i = rec.bins.i as number;
    if (seen.has(i)) dup++;
    seen.add(i);
    t.equal(rec.key.set, 'odd');
  }
  t.equal(dup, 0);
  t.equal(seen.size, N / 2);
  let all = 0;
  for await (const rec of client.scan('test', null, { bins: ['half'] })) {
    all++;
    if (all === 1) t.same(Object.keys(rec.bins), ['half'], 'bin selection');
  }
  t.equal(all, N);
  let none = 0;
  for await (const _ of client.scan('test', 'never-written')) none++;
  t.equal(none, 0);

  // Resume from a cursor, as a client would after a reconnect.
  let count = 0;
  let page = await client.scanPage('test', 'even', { pageSize: 200 });
  count += page.records.length;
  while (page.cursor !== null) {
    page = await client.scanPage('test', 'even', { pageSize: 200, cursor: page.cursor });
    t.ok(page.records.length <= 200);
    count += page.records.length;
  }
  t.equal(count, N / 2);
  await t.rejects(client.scanPage('test', 'even', { cursor: Buffer.from('junk') }), { code: status.PARAMETER });
  await t.rejects(client.scanPage('test', 'even', { pageSize: 1_000_000 }), { code: status.PARAMETER });
});
