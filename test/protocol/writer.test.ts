// Proves the Writer's exact byte output (smallest integer, string and container headers), its
// growth and cap, splicing and patching, and that it refuses values outside BinValue.

import t from 'tap';
import { VALUE_DEPTH_MAX } from '../../src/constants';
import { Status } from '../../src/errors';
import { Reader } from '../../src/protocol/reader';
import { Writer } from '../../src/protocol/writer';

const PARAMETER = { code: Status.PARAMETER };

function hex(write: (w: Writer) => void): string {
  const w = new Writer(1 << 20, 1);
  write(w);
  return (w.bytes() as Buffer).toString('hex');
}

t.test('integers take their smallest encoding', async (t) => {
  const cases: Array<[number | bigint, string]> = [
    [0, '00'],
    [127, '7f'],
    [128, 'cc80'],
    [255, 'ccff'],
    [256, 'cd0100'],
    [65535, 'cdffff'],
    [65536, 'ce00010000'],
    [2 ** 32 - 1, 'ceffffffff'],
    [2 ** 32, 'cf0000000100000000'],
    [2 ** 53 - 1, 'cf001fffffffffffff'],
    [-1, 'ff'],
    [-32, 'e0'],
    [-33, 'd0df'],
    [-128, 'd080'],
    [-129, 'd1ff7f'],
    [-32768, 'd18000'],
    [-32769, 'd2ffff7fff'],
    [-(2 ** 31), 'd280000000'],
    [-(2 ** 31) - 1, 'd3ffffffff7fffffff'],
    [-(2 ** 53) + 1, 'd3ffe0000000000001'],
    [5n, '05'],
    [-5n, 'fb'],
    [2n ** 63n - 1n, 'cf7fffffffffffffff'],
    [-(2n ** 63n), 'd38000000000000000'],
    [2n ** 53n, 'cf0020000000000000'],
  ];
  for (const [n, want] of cases) {
    t.equal(
      hex((w) => w.writeInt(n)),
      want,
      `writeInt ${n}`,
    );
    t.equal(
      hex((w) => w.writeValue(n)),
      want,
      `writeValue ${n}`,
    );
  }
  t.equal(
    hex((w) => w.writeUint(300)),
    'cd012c',
  );
});

t.test('other scalars', async (t) => {
  t.equal(
    hex((w) => w.writeNil()),
    'c0',
  );
  t.equal(
    hex((w) => w.writeBool(true)),
    'c3',
  );
  t.equal(
    hex((w) => w.writeBool(false)),
    'c2',
  );
  t.equal(
    hex((w) => w.writeFloat64(1.5)),
    'cb3ff8000000000000',
  );
  t.equal(
    hex((w) => w.writeValue(1.5)),
    'cb3ff8000000000000',
    'a fractional number is float64',
  );
  t.equal(
    hex((w) => w.writeValue(2 ** 60)),
    'cb43b0000000000000',
    'an unsafe integral number is float64',
  );
  t.equal(
    hex((w) => w.writeValue(-0)),
    'cb8000000000000000',
    '-0 is float64',
  );
  t.equal(hex((w) => w.writeValue(NaN)).slice(0, 2), 'cb');
});

t.test('string headers follow the UTF-8 byte length, not the char count', async (t) => {
  const header = (s: string): string => hex((w) => w.writeString(s)).slice(0, 10);
  t.equal(
    hex((w) => w.writeString('')),
    'a0',
  );
  t.equal(
    hex((w) => w.writeString('abc')),
    'a3616263',
  );
  t.equal(
    hex((w) => w.writeString('é')),
    'a2c3a9',
  );
  t.equal(header('a'.repeat(31)).slice(0, 2), 'bf');
  t.equal(header('a'.repeat(32)).slice(0, 4), 'd920');
  t.equal(header('é'.repeat(15)).slice(0, 2), 'be', '15 chars, 30 bytes: fixstr although 45 bytes were reserved');
  t.equal(header('é'.repeat(16)).slice(0, 4), 'd920', '16 chars, 32 bytes: str8');
  t.equal(header('a'.repeat(255)).slice(0, 4), 'd9ff');
  t.equal(header('a'.repeat(256)).slice(0, 6), 'da0100');
  t.equal(header('€'.repeat(100)).slice(0, 6), 'da012c', '100 chars, 300 bytes: str16');
  t.equal(header('a'.repeat(65535)).slice(0, 6), 'daffff');
  t.equal(header('a'.repeat(65536)).slice(0, 10), 'db00010000');
  t.equal(header('😀'.repeat(20_000)).slice(0, 10), 'db00013880', '40000 UTF-16 units, 80000 bytes');
  t.equal(
    hex((w) => w.writeString('😀')),
    'a4f09f9880',
  );
});

t.test('bins and container headers', async (t) => {
  t.equal(
    hex((w) => w.writeBin(new Uint8Array([1, 2]))),
    'c4020102',
  );
  t.equal(hex((w) => w.writeBin(Buffer.alloc(256))).slice(0, 6), 'c50100');
  t.equal(hex((w) => w.writeBin(Buffer.alloc(65536))).slice(0, 10), 'c600010000');
  t.equal(
    hex((w) => w.writeArrayHeader(15)),
    '9f',
  );
  t.equal(
    hex((w) => w.writeArrayHeader(16)),
    'dc0010',
  );
  t.equal(
    hex((w) => w.writeArrayHeader(65536)),
    'dd00010000',
  );
  t.equal(
    hex((w) => w.writeMapHeader(0)),
    '80',
  );
  t.equal(
    hex((w) => w.writeMapHeader(65535)),
    'deffff',
  );
  t.equal(
    hex((w) => w.writeMapHeader(2 ** 32 - 1)),
    'dfffffffff',
  );
  t.throws(() => new Writer().writeArrayHeader(2 ** 32), PARAMETER);
  t.throws(() => new Writer().writeMapHeader(-1), PARAMETER);
});

t.test('growth doubles from a tiny start and keeps earlier bytes', async (t) => {
  const w = new Writer(1 << 20, 1);
  for (let i = 0; i < 1000; i++) w.writeValue({ i, s: 'x'.repeat(i % 40) });
  const r = new Reader(w.bytes());
  for (let i = 0; i < 1000; i++) t.same(r.readValue(), { i, s: 'x'.repeat(i % 40) }) || t.bailout();
  t.ok(r.atEnd());
});

t.test('the cap throws RECORD_TOO_BIG, and exactly the cap fits', async (t) => {
  const w = new Writer(100, 8);
  w.writeBin(Buffer.alloc(98)); // 2-byte header + 98 = 100
  t.equal(w.length, 100);
  t.throws(() => w.writeNil(), { code: Status.RECORD_TOO_BIG });
  w.reset();
  t.throws(() => w.writeString('a'.repeat(2000)), { code: Status.RECORD_TOO_BIG });
  w.reset();
  t.throws(() => w.writeValue(new Array(200).fill(1)), { code: Status.RECORD_TOO_BIG });
  t.throws(() => new Writer(10, 20), PARAMETER, 'initial size above the cap');
  t.throws(() => new Writer(0), PARAMETER);
});

t.test('writeString near the cap does not over-reserve', async (t) => {
  const w = new Writer(2000, 16);
  w.writeString('a'.repeat(1200)); // would need 3600 bytes if reserved at 3 bytes a char
  t.equal(w.length, 3 + 1200);
  const w2 = new Writer(40, 4);
  w2.writeString('abcdefghijklmnopqrstuvwxyz0123'); // 30 ASCII chars: 31 bytes
  t.equal(w2.length, 31);
});

t.test('bytes() is a view, copy() is independent, reset and truncate rewind', async (t) => {
  const w = new Writer(1024, 16);
  w.writeValue('abc');
  const view = w.bytes();
  const copy = w.copy();
  w.reset();
  w.writeValue('xyz');
  t.equal((view as Buffer).toString('hex'), (w.bytes() as Buffer).toString('hex'), 'the view now shows the new bytes');
  t.equal((copy as Buffer).toString('hex'), 'a3616263', 'the copy kept the old ones');
  const mark = w.length;
  w.writeValue([1, 2, 3]);
  w.truncate(mark);
  t.equal((w.bytes() as Buffer).toString('hex'), 'a378797a');
  t.throws(() => w.truncate(mark + 1), PARAMETER);
});

t.test('writeRaw splices encoded bytes; beginArray32 and patchArray32 count them later', async (t) => {
  const body = new Writer();
  body.writeValue({ gen: 1 });
  const pre = body.copy();
  const w = new Writer();
  const at = w.beginArray32();
  for (let i = 0; i < 3; i++) {
    w.writeArrayHeader(3);
    w.writeUint(i);
    w.writeInt(0);
    w.writeRaw(pre);
  }
  w.writeRaw(Buffer.from([0xff, 0xc0, 0xff]), 1, 2); // a nil from the middle of a buffer
  w.patchArray32(at, 4);
  t.same(new Reader(w.bytes()).readValue(), [[0, 0, { gen: 1 }], [1, 0, { gen: 1 }], [2, 0, { gen: 1 }], null]);
  t.throws(() => w.patchArray32(at + 1, 1), PARAMETER, 'no array32 header there');
  t.throws(() => w.writeRaw(pre, 2, 1), PARAMETER);
});

t.test('patchArray32 offsets survive growth', async (t) => {
  const w = new Writer(1 << 20, 1);
  w.writeNil();
  const at = w.beginArray32();
  for (let i = 0; i < 5000; i++) w.writeValue('item');
  w.patchArray32(at, 5000);
  const r = new Reader(w.bytes());
  r.readNil();
  t.equal(r.readArrayHeader(), 5000);
});

t.test('patchUint32LE overwrites four written bytes', async (t) => {
  const w = new Writer();
  w.writeRaw(new Uint8Array(4));
  w.writeNil();
  w.patchUint32LE(0, 0x01020304);
  t.equal((w.bytes() as Buffer).toString('hex'), '04030201c0');
  t.throws(() => w.patchUint32LE(2, 1), PARAMETER);
});

t.test('writeValue refuses what is not a BinValue', async (t) => {
  const bad: Array<[string, unknown]> = [
    ['undefined', undefined],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['a Date', new Date()],
    ['a class instance', new (class X {})()],
    ['a Set', new Set([1])],
    ['a Uint16Array', new Uint16Array(2)],
    ['an ArrayBuffer', new ArrayBuffer(2)],
    ['undefined inside an object', { a: undefined }],
    ['a hole in an array', [1, , 3]],
    ['a bigint above int64', 2n ** 63n],
    ['a bigint below int64', -(2n ** 63n) - 1n],
    ['a float Map key', new Map([[1.5, 1]])],
    ['a nil Map key', new Map([[null, 1]])],
    ['an unsafe number Map key', new Map([[2 ** 60, 1]])],
    ['a __proto__ key', JSON.parse('{"__proto__": 1}')],
    ['a __proto__ Map key', new Map([['__proto__', 1]])],
  ];
  for (const [what, value] of bad) t.throws(() => new Writer().writeValue(value), PARAMETER, what);
  t.throws(() => new Writer().writeUint(-1), PARAMETER);
  t.throws(() => new Writer().writeUint(1.5), PARAMETER);
  t.throws(() => new Writer().writeInt(2 ** 53), PARAMETER, 'an unsafe number is not an int');
});

t.test('writeValue bounds nesting, which also stops cycles', async (t) => {
  let deep: unknown = 1;
  for (let i = 0; i < VALUE_DEPTH_MAX; i++) deep = [deep];
  t.doesNotThrow(() => new Writer().writeValue(deep));
  t.throws(() => new Writer().writeValue([deep]), PARAMETER);
  t.doesNotThrow(() => new Writer().writeValue([deep], VALUE_DEPTH_MAX + 1));
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  t.throws(() => new Writer().writeValue(cyclic), PARAMETER);
  const cyclicObject: { [k: string]: unknown } = {};
  cyclicObject.self = cyclicObject;
  t.throws(() => new Writer().writeValue(cyclicObject), PARAMETER);
});

t.test('objects with a null prototype are plain maps', async (t) => {
  const bare = Object.create(null) as { [k: string]: unknown };
  bare.a = 1;
  const w = new Writer();
  w.writeValue(bare);
  t.same(new Reader(w.bytes()).readValue(), { a: 1 });
});

t.test('a string that fits under the cap is written even when 3 bytes a char would not fit', async (t) => {
  const w = new Writer(1100, 16);
  w.writeString('a'.repeat(1000));
  t.equal(w.length, 1003);
  const w2 = new Writer(64, 64);
  w2.writeString('é'.repeat(20)); // 40 bytes + 2 header; 60 reserved would not fit beside the header
  t.equal(w2.length, 42);
  t.equal(new Reader(w2.bytes()).readValue(), 'é'.repeat(20));
});
