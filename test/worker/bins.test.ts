// Proves that bin names and values are checked against Aerospike's limits and that merging and
// selecting bins builds new objects with UPDATE / REPLACE semantics, never touching the inputs.
import t from 'tap';
import { BIN_NAME_BYTES_MAX, BINS_PER_RECORD_MAX, VALUE_DEPTH_MAX } from '../../src/constants';
import { Status } from '../../src/errors';
import type { BinValue, Bins } from '../../src/protocol/ops';
import { binCount, checkBinName, checkBinsForWrite, checkValue, isFloat, isInteger, isMapKey, isPlainObject, mergeBins, normalizeInt, selectBins, INT64_MAX, INT64_MIN } from '../../src/worker/bins';

function nested(levels: number): BinValue {
  let value: BinValue = 1;
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { k: value };
  return value;
}

t.test('checkBinName', async (t) => {
  t.equal(checkBinName('a'), 0);
  t.equal(checkBinName('x'.repeat(BIN_NAME_BYTES_MAX)), 0);
  t.equal(checkBinName('x'.repeat(BIN_NAME_BYTES_MAX + 1)), Status.BIN_NAME_TOO_LONG);
  t.equal(checkBinName(''), Status.PARAMETER);
  t.equal(checkBinName('__proto__'), Status.PARAMETER);
  // Five 3-byte characters fit in 15 bytes; six do not, though they are only six UTF-16 units.
  t.equal(checkBinName('€'.repeat(5)), 0);
  t.equal(checkBinName('€'.repeat(6)), Status.BIN_NAME_TOO_LONG);
  t.equal(checkBinName('😀'.repeat(3)) /* 12 bytes */, 0);
  t.equal(checkBinName('😀'.repeat(4)) /* 16 bytes */, Status.BIN_NAME_TOO_LONG);
});

t.test('integer and float classification', async (t) => {
  t.ok(isInteger(0));
  t.ok(isInteger(-5));
  t.ok(isInteger(Number.MAX_SAFE_INTEGER));
  t.ok(isInteger(2n ** 60n));
  t.notOk(isInteger(1.5));
  t.notOk(isInteger(2 ** 60)); // an integral double outside the safe range came from a float
  t.notOk(isInteger('1'));
  t.ok(isFloat(1.5));
  t.ok(isFloat(2 ** 60));
  t.ok(isFloat(NaN));
  t.ok(isFloat(Infinity));
  t.notOk(isFloat(3));
  t.notOk(isFloat(3n));
});

t.test('normalizeInt', async (t) => {
  t.equal(normalizeInt(5n), 5);
  t.equal(normalizeInt(-5n), -5);
  t.equal(normalizeInt(BigInt(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  t.equal(normalizeInt(BigInt(Number.MIN_SAFE_INTEGER)), Number.MIN_SAFE_INTEGER);
  t.equal(normalizeInt(BigInt(Number.MAX_SAFE_INTEGER) + 1n), 2n ** 53n);
  t.equal(normalizeInt(INT64_MIN), INT64_MIN);
});

t.test('map keys', async (t) => {
  t.ok(isMapKey('a'));
  t.ok(isMapKey(''));
  t.ok(isMapKey(7));
  t.ok(isMapKey(INT64_MAX));
  t.notOk(isMapKey(INT64_MAX + 1n));
  t.notOk(isMapKey(1.5));
  t.notOk(isMapKey(null));
  t.notOk(isMapKey('__proto__'));
});

t.test('isPlainObject', async (t) => {
  t.ok(isPlainObject({}));
  t.ok(isPlainObject(Object.create(null)));
  t.notOk(isPlainObject([]));
  t.notOk(isPlainObject(new Map()));
  t.notOk(isPlainObject(new Date()));
  t.notOk(isPlainObject(null));
});

t.test('checkValue accepts the value domain', async (t) => {
  const good: unknown[] = [
    null,
    true,
    false,
    0,
    -1,
    1.5,
    NaN,
    Infinity,
    -Infinity,
    2n ** 62n,
    INT64_MIN,
    INT64_MAX,
    '',
    'text',
    Buffer.from('ab'),
    new Uint8Array(0),
    [],
    [1, 'a', null, [2]],
    {},
    { a: 1, b: { c: [] } },
    new Map<string | number | bigint, BinValue>([
      [1, 'a'],
      ['b', 2],
      [INT64_MIN, null],
    ]),
    nested(VALUE_DEPTH_MAX),
  ];
  for (const v of good) t.equal(checkValue(v), 0, `accepts ${String(v)}`);
});

t.test('checkValue rejects values outside the domain', async (t) => {
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  const bad: unknown[] = [
    undefined,
    INT64_MAX + 1n,
    INT64_MIN - 1n,
    () => 1,
    Symbol('s'),
    new Date(),
    new Set(),
    new Uint16Array(2),
    [undefined],
    { a: undefined },
    { a: INT64_MAX + 1n },
    new Map<unknown, unknown>([[1.5, 'a']]),
    new Map<unknown, unknown>([[null, 'a']]),
    new Map<unknown, unknown>([['__proto__', 1]]),
    new Map<unknown, unknown>([[1, undefined]]),
    JSON.parse('{"__proto__": 1}'),
    nested(VALUE_DEPTH_MAX + 1),
    cyclic,
  ];
  for (const v of bad) t.equal(checkValue(v), Status.PARAMETER, `rejects ${typeof v}`);
  // The depth argument counts containers already around the value.
  t.equal(checkValue([1], VALUE_DEPTH_MAX - 1), 0);
  t.equal(checkValue([1], VALUE_DEPTH_MAX), Status.PARAMETER);
  t.equal(checkValue(1, VALUE_DEPTH_MAX), 0);
});

t.test('checkBinsForWrite', async (t) => {
  t.equal(checkBinsForWrite({ a: 1, b: null }), 0);
  t.equal(checkBinsForWrite({}), Status.PARAMETER);
  t.equal(checkBinsForWrite(null), Status.PARAMETER);
  t.equal(checkBinsForWrite([1]), Status.PARAMETER);
  t.equal(checkBinsForWrite(new Map([['a', 1]])), Status.PARAMETER);
  t.equal(checkBinsForWrite('a'), Status.PARAMETER);
  t.equal(checkBinsForWrite({ ['x'.repeat(16)]: 1 }), Status.BIN_NAME_TOO_LONG);
  t.equal(checkBinsForWrite({ '': 1 }), Status.PARAMETER);
  t.equal(checkBinsForWrite(JSON.parse('{"__proto__": 1}')), Status.PARAMETER);
  t.equal(checkBinsForWrite({ a: undefined }), Status.PARAMETER);
  t.equal(checkBinsForWrite({ a: new Date() }), Status.PARAMETER);

  const most: Bins = {};
  for (let i = 0; i < BINS_PER_RECORD_MAX; i++) most[`b${i}`] = i;
  t.equal(checkBinsForWrite(most), 0);
  most['one-more'] = 1;
  t.equal(checkBinsForWrite(most), Status.PARAMETER);
});

t.test('mergeBins updates, replaces and deletes without mutating', async (t) => {
  const existing: Bins = { a: 1, b: [1, 2], c: 'x' };
  const incoming: Bins = { b: 'new', c: null, d: true };
  const merged = mergeBins(existing, incoming, false);
  t.same(merged, { a: 1, b: 'new', d: true });
  t.same(existing, { a: 1, b: [1, 2], c: 'x' });
  t.same(incoming, { b: 'new', c: null, d: true });
  t.not(merged, existing);

  t.same(mergeBins(existing, incoming, true), { b: 'new', d: true });
  t.same(mergeBins(null, incoming, false), { b: 'new', d: true });
  t.same(mergeBins(existing, { a: null, b: null, c: null }, false), {});
  const copy = mergeBins(existing, {}, false);
  t.same(copy, existing);
  t.not(copy, existing);
});

t.test('selectBins', async (t) => {
  const bins: Bins = { a: 1, b: 'two', c: [3] };
  t.same(selectBins(bins, ['a', 'c', 'missing']), { a: 1, c: [3] });
  t.same(selectBins(bins, []), {});
  // Names of Object.prototype members are not bins.
  const selected = selectBins(bins, ['toString', 'constructor', '__proto__']);
  t.same(Object.keys(selected), []);
  t.equal(Object.getPrototypeOf(selected), Object.prototype);
});

t.test('binCount', async (t) => {
  t.equal(binCount({}), 0);
  t.equal(binCount({ a: 1, b: null }), 2);
});
