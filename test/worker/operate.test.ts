// Proves that applyOps validates wire ops strictly and applies every op type with Aerospike's
// semantics (int64 wrap, delete-then-write, last-bin removal) without ever mutating the caller's bins.
import t from 'tap';
import { BINS_PER_RECORD_MAX, VALUE_DEPTH_MAX } from '../../src/constants';
import { Status } from '../../src/errors';
import { OpType } from '../../src/protocol/ops';
import type { BinValue, Bins } from '../../src/protocol/ops';
import { INT64_MAX, INT64_MIN } from '../../src/worker/bins';
import { addNumbers, applyOps } from '../../src/worker/operate';
import type { OperateResult } from '../../src/worker/operate';
import { Random, testSeed } from '../helpers/values';

const O = OpType;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Runs ops that must succeed and returns the result. */
function ok(t: tap.Test, existing: Bins | null, ops: unknown[]): OperateResult {
  const result = applyOps(existing, ops);
  t.equal(result.code, 0, `ops succeed: ${result.message ?? ''}`);
  return result;
}

function code(existing: Bins | null, ops: unknown): number {
  return applyOps(existing, ops).code;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    if (value instanceof Map) for (const v of value.values()) deepFreeze(v);
    else for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

t.test('malformed ops are PARAMETER before any op runs', async (t) => {
  const rec: Bins = { a: 1 };
  for (const ops of [null, undefined, 'ops', {}, [], new Array(BINS_PER_RECORD_MAX + 1).fill([O.READ, 'a'])]) {
    t.equal(code(rec, ops), Status.PARAMETER, 'ops list shape');
  }
  t.equal(code(rec, new Array(BINS_PER_RECORD_MAX).fill([O.READ, 'a'])), 0, 'the most ops allowed');
  const bad: unknown[] = [
    'op',
    1,
    null,
    {},
    [],
    [99, 'a'],
    ['1', 'a'],
    [null],
    [1.5, 'a'],
    [O.READ],
    [O.READ, 'a', 1],
    [O.WRITE, 'a'],
    [O.WRITE, 'a', 1, 2],
    [O.INCR, 'a'],
    [O.APPEND, 'a'],
    [O.TOUCH, null],
    [O.DELETE, 'a'],
    [O.LIST_APPEND, 'a'],
    [O.LIST_GET, 'a'],
    [O.LIST_SIZE, 'a', 0],
    [O.LIST_REMOVE, 'a'],
    [O.LIST_POP, 'a'],
    [O.MAP_PUT, 'a', 'k'],
    [O.MAP_GET_BY_KEY, 'a'],
    [O.MAP_REMOVE_BY_KEY, 'a'],
    [O.MAP_SIZE, 'a', 'k'],
    [O.MAP_INCREMENT, 'a', 'k'],
    // bin names
    [O.WRITE, 1, 1],
    [O.WRITE, null, 1],
    [O.LIST_SIZE, null],
    [O.WRITE, '', 1],
    [O.WRITE, '__proto__', 1],
    // arguments
    [O.WRITE, 'a', undefined],
    [O.WRITE, 'a', INT64_MAX + 1n],
    [O.WRITE, 'a', new Date()],
    [O.WRITE, 'a', nested(VALUE_DEPTH_MAX + 1)],
    [O.LIST_APPEND, 'a', nested(VALUE_DEPTH_MAX)],
    [O.INCR, 'a', '1'],
    [O.INCR, 'a', null],
    [O.INCR, 'a', true],
    [O.INCR, 'a', INT64_MIN - 1n],
    [O.APPEND, 'a', 1],
    [O.PREPEND, 'a', null],
    [O.APPEND, 'a', ['x']],
    [O.LIST_GET, 'a', 1.5],
    [O.LIST_POP, 'a', '0'],
    [O.LIST_REMOVE, 'a', null],
    [O.MAP_GET_BY_KEY, 'a', 1.5],
    [O.MAP_GET_BY_KEY, 'a', null],
    [O.MAP_PUT, 'a', '__proto__', 1],
    [O.MAP_REMOVE_BY_KEY, 'a', [1]],
    [O.MAP_PUT, 'a', 'k', undefined],
    [O.MAP_PUT, 'a', 'k', nested(VALUE_DEPTH_MAX)],
    [O.MAP_INCREMENT, 'a', 'k', 'x'],
    [O.MAP_INCREMENT, 'a', 2n ** 64n, 1],
  ];
  for (const op of bad) {
    t.equal(code(rec, [[O.WRITE, 'b', 1], op]), Status.PARAMETER, `rejects ${JSON.stringify(op, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  }
  t.equal(code(rec, [[O.WRITE, 'x'.repeat(16), 1]]), Status.BIN_NAME_TOO_LONG);
  t.equal(code(rec, [[O.READ, '€'.repeat(6)]]), Status.BIN_NAME_TOO_LONG);
  // Validation precedes execution: a runtime failure earlier in the list does not mask it.
  t.equal(code({ a: 'text' }, [[O.INCR, 'a', 1], [99]]), Status.PARAMETER);
  const failed = applyOps(rec, [
    [O.WRITE, 'b', 1],
    [O.READ, ''],
  ]);
  t.same(failed.results, []);
  t.same(failed.bins, {});
  t.equal(failed.write, false);
  t.type(failed.message, 'string');
});

function nested(levels: number): BinValue {
  let value: BinValue = 1;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

t.test('a missing record', async (t) => {
  for (const ops of [
    [[O.READ, 'a']],
    [[O.READ, null]],
    [[O.TOUCH]],
    [[O.TOUCH], [O.READ, 'a']],
    [[O.LIST_SIZE, 'l']],
    [[O.MAP_GET_BY_KEY, 'm', 1]],
    [[O.DELETE]],
    [[O.WRITE, 'a', null]],
    [[O.LIST_POP, 'l', 0]],
    [[O.WRITE, 'a', 1], [O.DELETE]],
  ]) {
    t.equal(code(null, ops), Status.KEY_NOT_FOUND, JSON.stringify(ops));
  }
  const created = ok(t, null, [[O.READ, 'a'], [O.WRITE, 'a', 1], [O.READ, null], [O.TOUCH]]);
  t.same(created.results, [null, null, { a: 1 }, null]);
  t.same(created.bins, { a: 1 });
  t.equal(created.write, true);
  t.equal(created.touch, true);
  t.equal(created.deleteRecord, false);
});

t.test('READ and WRITE', async (t) => {
  const existing: Bins = { a: 1, b: 'two' };
  const r = ok(t, existing, [
    [O.READ, 'a'],
    [O.READ, 'missing'],
    [O.READ, 'toString'],
    [O.READ, null],
  ]);
  t.same(r.results, [1, null, null, { a: 1, b: 'two' }]);
  t.not(r.results[3], existing, 'read-all answers a copy');
  t.equal(r.write, false);
  t.equal(r.touch, false);
  t.equal(r.deleteRecord, false);

  const w = ok(t, existing, [
    [O.WRITE, 'a', 5],
    [O.READ, 'a'],
    [O.WRITE, 'b', null],
    [O.READ, 'b'],
    [O.WRITE, 'c', [1]],
    [O.READ, null],
  ]);
  t.same(w.results, [null, 5, null, null, null, { a: 5, c: [1] }]);
  t.same(w.bins, { a: 5, c: [1] });
  t.equal(w.write, true);
  t.same(existing, { a: 1, b: 'two' });
});

t.test('INCR', async (t) => {
  const bins = (r: OperateResult): Bins => r.bins;
  t.same(bins(ok(t, { x: 1 }, [[O.INCR, 'n', 5]])), { x: 1, n: 5 }, 'a missing bin starts at 0');
  t.equal(bins(ok(t, { n: 5 }, [[O.INCR, 'n', -7]])).n, -2);
  t.equal(bins(ok(t, { n: MAX_SAFE }, [[O.INCR, 'n', 1]])).n, 2n ** 53n, 'past the safe range becomes a bigint');
  t.equal(bins(ok(t, { n: 2n ** 53n }, [[O.INCR, 'n', -1]])).n, MAX_SAFE, 'back in the safe range becomes a number');
  t.equal(bins(ok(t, { n: INT64_MAX }, [[O.INCR, 'n', 1]])).n, INT64_MIN, 'wraps at 2^63');
  t.equal(bins(ok(t, { n: INT64_MIN }, [[O.INCR, 'n', -1]])).n, INT64_MAX, 'wraps at -2^63');
  t.equal(bins(ok(t, { n: INT64_MAX }, [[O.INCR, 'n', INT64_MAX]])).n, -2);
  t.equal(bins(ok(t, { n: 1 }, [[O.INCR, 'n', 0.5]])).n, 1.5, 'an integer bin plus a float');
  t.equal(bins(ok(t, { n: 0.25 }, [[O.INCR, 'n', 2]])).n, 2.25, 'a float bin plus an integer');
  t.equal(bins(ok(t, { n: 2n ** 60n }, [[O.INCR, 'n', 0.5]])).n, 2 ** 60 + 0.5, 'a bigint plus a float is a float');
  t.equal(bins(ok(t, { n: 1 }, [[O.INCR, 'n', 5n]])).n, 6, 'a safe bigint increment is normalised');
  t.same(
    ok(t, { n: 1 }, [
      [O.INCR, 'n', 1],
      [O.INCR, 'n', 1],
      [O.READ, 'n'],
    ]).results,
    [null, null, 3],
  );
  for (const v of ['s', true, [1], { a: 1 }, Buffer.from('x')]) {
    t.equal(code({ n: v }, [[O.INCR, 'n', 1]]), Status.BIN_TYPE, `bin holding ${typeof v}`);
  }
});

t.test('addNumbers matches a 64-bit model (seeded)', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const random = new Random(seed);
  const next32 = (): bigint => BigInt(random.uint32());
  const randomInt64 = (): bigint => {
    const shift = next32() % 64n; // a spread of magnitudes, not just huge numbers
    return BigInt.asIntN(64, ((next32() << 32n) | next32()) >> shift);
  };
  const norm = (x: bigint): number | bigint => (x >= -MAX_SAFE && x <= MAX_SAFE ? Number(x) : x);
  let mismatches = 0;
  for (let i = 0; i < 2000; i++) {
    const a = randomInt64();
    const b = randomInt64();
    const expected = norm(BigInt.asIntN(64, a + b));
    if (addNumbers(norm(a), norm(b)) !== expected) mismatches++;
  }
  t.equal(mismatches, 0, `seed ${seed}`);
});

t.test('APPEND and PREPEND', async (t) => {
  const r = ok(t, { s: 'mid', b: Buffer.from([2]) }, [
    [O.APPEND, 's', '>'],
    [O.PREPEND, 's', '<'],
    [O.APPEND, 'b', Buffer.from([3])],
    [O.PREPEND, 'b', new Uint8Array([1])],
    [O.APPEND, 'new', 'x'],
    [O.PREPEND, 'newb', Buffer.from([9])],
  ]);
  t.equal(r.bins.s, '<mid>');
  t.same([...(r.bins.b as Uint8Array)], [1, 2, 3]);
  t.equal(r.bins.new, 'x');
  t.same([...(r.bins.newb as Uint8Array)], [9]);
  t.equal(code({ s: 'x' }, [[O.APPEND, 's', Buffer.from('y')]]), Status.BIN_TYPE);
  t.equal(code({ b: Buffer.from('x') }, [[O.PREPEND, 'b', 'y']]), Status.BIN_TYPE);
  t.equal(code({ n: 1 }, [[O.APPEND, 'n', 'y']]), Status.BIN_TYPE);
  t.equal(code({ l: [] }, [[O.PREPEND, 'l', 'y']]), Status.BIN_TYPE);
});

t.test('TOUCH', async (t) => {
  const r = ok(t, { a: 1 }, [[O.TOUCH]]);
  t.equal(r.touch, true);
  t.equal(r.write, false);
  t.same(r.results, [null]);
  t.same(r.bins, { a: 1 });
});

t.test('DELETE, then later ops', async (t) => {
  const existing: Bins = { a: 1, b: 2 };
  const deleted = ok(t, existing, [[O.DELETE]]);
  t.equal(deleted.deleteRecord, true);
  t.equal(deleted.write, true);
  t.same(deleted.bins, {});
  t.same(existing, { a: 1, b: 2 });

  const reads = ok(t, existing, [[O.READ, 'a'], [O.DELETE], [O.READ, 'a'], [O.READ, null], [O.LIST_SIZE, 'a']]);
  t.same(reads.results, [1, null, null, {}, 0]);
  t.equal(reads.deleteRecord, true);

  const recreated = ok(t, existing, [[O.DELETE], [O.WRITE, 'c', 3]]);
  t.equal(recreated.deleteRecord, false);
  t.same(recreated.bins, { c: 3 });

  const noop = ok(t, existing, [[O.DELETE], [O.MAP_REMOVE_BY_KEY, 'm', 'k']]);
  t.equal(noop.deleteRecord, true, 'a write that leaves no bins does not recreate the record');

  t.same(ok(t, null, [[O.DELETE], [O.INCR, 'n', 2]]).bins, { n: 2 });
});

t.test('removing the last bin deletes the record', async (t) => {
  const r = ok(t, { a: 1 }, [[O.WRITE, 'a', null]]);
  t.equal(r.deleteRecord, true);
  t.same(r.bins, {});
  const kept = ok(t, { a: 1, b: 2 }, [[O.WRITE, 'a', null]]);
  t.equal(kept.deleteRecord, false);
  t.same(kept.bins, { b: 2 });
  const emptyList = ok(t, { l: [1] }, [[O.LIST_POP, 'l', 0]]);
  t.equal(emptyList.deleteRecord, false, 'an empty list is still a bin');
  t.same(emptyList.bins, { l: [] });
});

t.test('list ops', async (t) => {
  const existing: Bins = { l: [10, 20, 30], s: 'x' };
  const r = ok(t, existing, [
    [O.LIST_SIZE, 'l'],
    [O.LIST_GET, 'l', 0],
    [O.LIST_GET, 'l', -1],
    [O.LIST_GET, 'l', 2n],
    [O.LIST_APPEND, 'l', [40]],
    [O.LIST_SIZE, 'l'],
    [O.LIST_POP, 'l', -1],
    [O.LIST_REMOVE, 'l', 0],
    [O.READ, 'l'],
    [O.LIST_SIZE, 'missing'],
    [O.LIST_GET, 'missing', 0],
    [O.LIST_POP, 'missing', 0],
    [O.LIST_REMOVE, 'missing', 0],
    [O.LIST_APPEND, 'new', null],
    [O.LIST_GET, 'new', 0],
    [O.LIST_REMOVE, 'new', -1],
  ]);
  t.same(r.results, [3, 10, 30, 30, 4, 4, [40], 1, [20, 30], 0, null, null, null, 1, null, 1]);
  t.same(r.bins, { l: [20, 30], s: 'x', new: [] });
  t.same(existing, { l: [10, 20, 30], s: 'x' });

  for (const op of [
    [O.LIST_GET, 'l', 3],
    [O.LIST_GET, 'l', -4],
    [O.LIST_POP, 'l', 3],
    [O.LIST_REMOVE, 'l', -4],
    [O.LIST_GET, 'l', 2n ** 60n],
  ]) {
    t.equal(code(existing, [op]), Status.OP_NOT_APPLICABLE, `out of range: ${String(op[2])}`);
  }
  t.equal(code({ l: [] }, [[O.LIST_GET, 'l', 0]]), Status.OP_NOT_APPLICABLE);
  for (const op of [
    [O.LIST_APPEND, 's', 1],
    [O.LIST_GET, 's', 0],
    [O.LIST_SIZE, 's'],
    [O.LIST_REMOVE, 's', 0],
    [O.LIST_POP, 's', 0],
  ]) {
    t.equal(code(existing, [op]), Status.BIN_TYPE, `op ${op[0]} on a string`);
  }
  t.equal(code({ m: { a: 1 } }, [[O.LIST_SIZE, 'm']]), Status.BIN_TYPE);
  // The list's nesting counts: an appended value sits one level down.
  t.equal(code({ l: [] }, [[O.LIST_APPEND, 'l', nested(VALUE_DEPTH_MAX - 1)]]), 0);
});

t.test('map ops on a string-keyed map', async (t) => {
  const existing: Bins = { m: { a: 1, b: 'two' }, s: 'x' };
  const r = ok(t, existing, [
    [O.MAP_SIZE, 'm'],
    [O.MAP_GET_BY_KEY, 'm', 'a'],
    [O.MAP_GET_BY_KEY, 'm', 'zz'],
    [O.MAP_GET_BY_KEY, 'm', 'toString'],
    [O.MAP_PUT, 'm', 'c', [3]],
    [O.MAP_REMOVE_BY_KEY, 'm', 'b'],
    [O.MAP_REMOVE_BY_KEY, 'm', 'b'],
    [O.MAP_INCREMENT, 'm', 'a', 2],
    [O.MAP_INCREMENT, 'm', 'n', 1.5],
    [O.READ, 'm'],
    [O.MAP_SIZE, 'missing'],
    [O.MAP_GET_BY_KEY, 'missing', 'a'],
    [O.MAP_REMOVE_BY_KEY, 'missing', 'a'],
    [O.MAP_PUT, 'new', 'k', null],
    [O.MAP_INCREMENT, 'counter', 'hits', 1],
  ]);
  t.same(r.results, [2, 1, null, null, 3, 'two', null, 3, 1.5, { a: 3, c: [3], n: 1.5 }, 0, null, null, 1, 1]);
  t.strictSame(r.bins.m, { a: 3, c: [3], n: 1.5 });
  t.strictSame(r.bins.new, { k: null });
  t.strictSame(r.bins.counter, { hits: 1 });
  t.same(existing, { m: { a: 1, b: 'two' }, s: 'x' });

  t.equal(ok(t, { m: { a: INT64_MAX } }, [[O.MAP_INCREMENT, 'm', 'a', 1]]).results[0], INT64_MIN);
  for (const op of [
    [O.MAP_PUT, 's', 'k', 1],
    [O.MAP_GET_BY_KEY, 's', 'k'],
    [O.MAP_REMOVE_BY_KEY, 's', 'k'],
    [O.MAP_SIZE, 's'],
    [O.MAP_INCREMENT, 's', 'k', 1],
  ]) {
    t.equal(code(existing, [op]), Status.BIN_TYPE, `op ${op[0]} on a string`);
  }
  t.equal(code({ l: [1] }, [[O.MAP_SIZE, 'l']]), Status.BIN_TYPE, 'a list is not a map');
  t.equal(code({ m: { a: 'x' } }, [[O.MAP_INCREMENT, 'm', 'a', 1]]), Status.BIN_TYPE);
  t.equal(code({ m: { a: null } }, [[O.MAP_INCREMENT, 'm', 'a', 1]]), Status.BIN_TYPE);
});

t.test('integer map keys', async (t) => {
  const existing: Bins = { m: { a: 1, 7: 'seven' } };
  const r = ok(t, existing, [
    [O.MAP_GET_BY_KEY, 'm', 7],
    [O.MAP_REMOVE_BY_KEY, 'm', 7],
    [O.MAP_PUT, 'm', 7, 'int'],
    [O.MAP_GET_BY_KEY, 'm', 7],
    [O.MAP_GET_BY_KEY, 'm', '7'],
    [O.MAP_INCREMENT, 'm', 2n ** 60n, 1],
    [O.MAP_GET_BY_KEY, 'm', 5n],
    [O.MAP_SIZE, 'm'],
  ]);
  t.same(r.results, [null, null, 3, 'int', 'seven', 1, null, 4], 'string "7" and integer 7 are different keys');
  const m = r.bins.m;
  t.ok(m instanceof Map, 'an integer key turns a plain-object map into a JS Map');
  t.same(
    [...(m as Map<unknown, unknown>)],
    [
      ['7', 'seven'],
      ['a', 1],
      [7, 'int'],
      [2n ** 60n, 1],
    ],
  );
  t.same(existing, { m: { a: 1, 7: 'seven' } });

  const fresh = ok(t, { x: 1 }, [
    [O.MAP_PUT, 'm', 5n, 'five'],
    [O.MAP_GET_BY_KEY, 'm', 5],
    [O.MAP_INCREMENT, 'c', -1, 2],
  ]);
  t.same(fresh.results, [1, 'five', 2], 'key 5n and key 5 are the same integer');
  t.same([...(fresh.bins.m as Map<unknown, unknown>)], [[5, 'five']]);
  t.ok(fresh.bins.c instanceof Map);

  const jsMap = new Map<string | number | bigint, BinValue>([
    [1, 'one'],
    ['b', 2],
  ]);
  const onMap = ok(t, { m: jsMap }, [
    [O.MAP_REMOVE_BY_KEY, 'm', 1],
    [O.MAP_GET_BY_KEY, 'm', 'b'],
    [O.MAP_PUT, 'm', 'c', 3],
    [O.MAP_SIZE, 'm'],
  ]);
  t.same(onMap.results, ['one', 2, 2, 2]);
  t.same(
    [...jsMap],
    [
      [1, 'one'],
      ['b', 2],
    ],
    "the caller's JS Map is untouched",
  );
});

t.test('copy-on-write: existing is never mutated', async (t) => {
  const existing = deepFreeze<Bins>({
    l: [1, [2]],
    m: { a: 1 },
    im: new Map<string | number | bigint, BinValue>([[1, 1]]),
    n: 1,
    s: 'x',
    b: Buffer.from('y'),
  });
  const r = ok(t, existing, [
    [O.LIST_APPEND, 'l', 3],
    [O.LIST_POP, 'l', 0],
    [O.LIST_REMOVE, 'l', 0],
    [O.MAP_PUT, 'm', 'b', 2],
    [O.MAP_REMOVE_BY_KEY, 'm', 'a'],
    [O.MAP_INCREMENT, 'm', 'c', 1],
    [O.MAP_PUT, 'm', 9, 9],
    [O.MAP_PUT, 'im', 2, 2],
    [O.MAP_INCREMENT, 'im', 1, 1],
    [O.MAP_REMOVE_BY_KEY, 'im', 2],
    [O.INCR, 'n', 1],
    [O.APPEND, 's', 'z'],
    [O.APPEND, 'b', Buffer.from('z')],
    [O.DELETE],
    [O.WRITE, 'n', 1],
  ]);
  t.same(r.bins, { n: 1 });
  t.same(existing.l, [1, [2]]);
  t.same(existing.m, { a: 1 });
  t.same([...(existing.im as Map<unknown, unknown>)], [[1, 1]]);
  t.equal(existing.n, 1);
  t.equal(existing.s, 'x');
  t.equal(Buffer.from(existing.b as Uint8Array).toString(), 'y');
});

t.test('results that alias a bin are not changed by later ops', async (t) => {
  const r = ok(t, { l: [1] }, [
    [O.LIST_APPEND, 'l', 2],
    [O.READ, 'l'],
    [O.LIST_APPEND, 'l', 3],
    [O.READ, null],
    [O.LIST_POP, 'l', 0],
    [O.MAP_PUT, 'm', 'a', 1],
    [O.READ, 'm'],
    [O.MAP_PUT, 'm', 'b', 2],
    [O.MAP_PUT, 'm', 3, 3],
  ]);
  t.same(r.results[1], [1, 2]);
  t.strictSame(r.results[3], { l: [1, 2, 3] });
  t.same(r.results[6], { a: 1 });
  t.same(r.bins.l, [2, 3]);
  t.same(
    [...(r.bins.m as Map<unknown, unknown>)],
    [
      ['a', 1],
      ['b', 2],
      [3, 3],
    ],
  );
});

t.test('the first failing op stops the call', async (t) => {
  const r = applyOps({ a: 'x', n: 1 }, [
    [O.INCR, 'n', 1],
    [O.INCR, 'a', 1],
    [O.WRITE, 'c', 1],
  ]);
  t.equal(r.code, Status.BIN_TYPE);
  t.same(r.results, []);
  t.same(r.bins, {});
  t.equal(r.write, false);
  t.match(r.message, /^op 1:/);
});

t.test('a record may not grow past BINS_PER_RECORD_MAX bins', async (t) => {
  const full: Bins = {};
  for (let i = 0; i < BINS_PER_RECORD_MAX; i++) full[`b${i}`] = i;
  t.equal(code(full, [[O.WRITE, 'b0', 'replaced']]), 0);
  t.equal(code(full, [[O.WRITE, 'extra', 1]]), Status.PARAMETER);
  t.equal(
    code(full, [
      [O.WRITE, 'b0', null],
      [O.WRITE, 'extra', 1],
    ]),
    0,
  );
});
