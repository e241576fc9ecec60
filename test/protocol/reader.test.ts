// Proves the Reader's typed reads, peeking, positions and reuse across buffers, and that decoded
// bins own their bytes rather than viewing the (reused) frame.

import t from 'tap';
import { Status } from '../../src/errors';
import { Reader, ValueType } from '../../src/protocol/reader';
import { Writer } from '../../src/protocol/writer';

function encode(...values: unknown[]): Buffer {
  const w = new Writer(1 << 20);
  for (const v of values) w.writeValue(v);
  return w.copy() as Buffer;
}

t.test('reads a request-shaped frame field by field', async (t) => {
  const frame = encode([
    [7, 3, { ns: 'test', key: 'k' }],
    [8, 12, null],
  ]);
  const r = new Reader(frame);
  t.equal(r.readArrayHeader(), 2);
  t.equal(r.readArrayHeader(), 3);
  t.equal(r.readUint32(), 7);
  t.equal(r.readInt(), 3);
  t.equal(r.peekType(), ValueType.MAP);
  t.equal(r.readMapHeader(), 2);
  t.equal(r.readString(), 'ns');
  t.equal(r.readString(), 'test');
  t.equal(r.readString(), 'key');
  t.equal(r.readString(), 'k');
  t.equal(r.readArrayHeader(), 3);
  t.equal(r.readUint32(), 8);
  t.equal(r.readInt(), 12);
  t.ok(r.isNil());
  t.equal(r.readNil(), null);
  t.ok(r.atEnd());
  t.notOk(r.isNil(), 'isNil is false at the end');
});

t.test('peekType names every accepted kind without consuming it', async (t) => {
  const cases: Array<[unknown, number]> = [
    [null, ValueType.NIL],
    [true, ValueType.BOOL],
    [-3, ValueType.INT],
    [2n ** 60n, ValueType.INT],
    [0.5, ValueType.FLOAT],
    ['s', ValueType.STR],
    [Buffer.from([1]), ValueType.BIN],
    [[1], ValueType.ARRAY],
    [{ a: 1 }, ValueType.MAP],
  ];
  for (const [value, type] of cases) {
    const r = new Reader(encode(value));
    t.equal(r.peekType(), type, `type of ${String(value)}`);
    t.equal(r.pos, 0, 'not consumed');
  }
  t.equal(new Reader(Buffer.from([0xc1])).peekType(), ValueType.INVALID);
  t.equal(new Reader(Buffer.from([0xd4, 1, 1])).peekType(), ValueType.INVALID);
});

t.test('readBool, readBin, readInt return their values', async (t) => {
  const r = new Reader(encode(false, true, Buffer.from('abc'), -(2n ** 63n), 2 ** 53 - 1, 4294967295));
  t.equal(r.readBool(), false);
  t.equal(r.readBool(), true);
  t.same(r.readBin(), Buffer.from('abc'));
  t.equal(r.readInt(), -(2n ** 63n));
  t.equal(r.readInt(), 2 ** 53 - 1);
  t.equal(r.readUint32(), 4294967295);
  t.ok(r.atEnd());
});

t.test('decoded bins are copies, not views of the frame', async (t) => {
  const frame = encode([Buffer.from('abc')]);
  const bin = new Reader(frame).readValue() as Buffer[];
  frame.fill(0);
  t.equal(bin[0].toString(), 'abc');
  const direct = encode(Buffer.from('xyz'));
  const read = new Reader(direct).readBin();
  direct.fill(0);
  t.equal(read.toString(), 'xyz');
});

t.test('one reader serves many buffers, with sub-ranges and plain Uint8Arrays', async (t) => {
  const r = new Reader();
  t.ok(r.atEnd(), 'a fresh reader is at its end');
  const a = encode('first', 2);
  t.equal(r.reset(a).readValue(), 'first');
  t.equal(r.readValue(), 2);
  const b = Buffer.concat([Buffer.from([0xc1, 0xc1]), encode({ x: [1] }), Buffer.from([0xc1])]);
  r.reset(b, 2, b.length - 1);
  t.same(r.readValue(), { x: [1] });
  t.ok(r.atEnd());
  const plain = new Uint8Array(encode('plain'));
  t.equal(r.reset(plain).readValue(), 'plain');
  const backing = new Uint8Array(plain.length + 1);
  backing[0] = 0xc1;
  backing.set(plain, 1);
  t.equal(r.reset(backing.subarray(1)).readValue(), 'plain', 'a Uint8Array with a byteOffset');
});

t.test('skipValue ends where readValue ends', async (t) => {
  const values: unknown[] = [
    null,
    1,
    -(2 ** 40),
    1.5,
    'héllo',
    Buffer.alloc(300),
    [1, [2, { a: [3] }]],
    new Map<number | string, unknown>([
      [1, 'x'],
      ['y', new Map([[2, 3]])],
    ]),
    'x'.repeat(70_000),
  ];
  const frame = encode(...values);
  const reading = new Reader(frame);
  const skipping = new Reader(frame);
  for (let i = 0; i < values.length; i++) {
    reading.readValue();
    skipping.skipValue();
    t.equal(skipping.pos, reading.pos, `value ${i}`);
  }
  t.ok(skipping.atEnd());
});

t.test('float32 decodes to the nearest number', async (t) => {
  const r = new Reader(Buffer.from([0xca, 0x3f, 0xc0, 0x00, 0x00]));
  t.equal(r.readValue(), 1.5);
});

t.test('non-minimal encodings are accepted', async (t) => {
  const r = new Reader(
    Buffer.from([
      0xcf,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      5, // uint64 5
      0xd3,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff, // int64 -1
      0xd9,
      1,
      0x61, // str8 "a"
      0xdd,
      0,
      0,
      0,
      1,
      0xc0, // array32 [nil]
      0xdf,
      0,
      0,
      0,
      1,
      0xa1,
      0x6b,
      0x01, // map32 {k: 1}
    ]),
  );
  t.equal(r.readValue(), 5);
  t.equal(r.readValue(), -1);
  t.equal(r.readValue(), 'a');
  t.same(r.readValue(), [null]);
  t.same(r.readValue(), { k: 1 });
});

t.test('int64 boundaries around the safe range', async (t) => {
  const int64 = (v: bigint): Buffer => {
    const b = Buffer.alloc(9);
    b[0] = 0xd3;
    b.writeBigInt64BE(v, 1);
    return b;
  };
  const cases: Array<[bigint, number | bigint]> = [
    [2n ** 53n - 1n, 2 ** 53 - 1],
    [2n ** 53n, 2n ** 53n],
    [-(2n ** 53n) + 1n, -(2 ** 53) + 1],
    [-(2n ** 53n), -(2n ** 53n)],
    [-(2n ** 32n), -(2 ** 32)],
    [-(2n ** 32n) - 1n, -(2 ** 32) - 1],
    [-1n, -1],
    [-(2n ** 63n), -(2n ** 63n)],
  ];
  for (const [wire, want] of cases) t.equal(new Reader(int64(wire)).readValue(), want, `int64 ${wire}`);
});

t.test('map keys: cached short keys, long keys and non-ASCII keys all decode', async (t) => {
  const value = { a: 1, name: 2, 'sixteen-bytes-xx': 3, 'seventeen-bytes-x': 4, 'clé': 5, '': 6 };
  for (let i = 0; i < 3; i++) t.same(new Reader(encode(value)).readValue(), value, `pass ${i}`);
  t.same(new Reader(encode({ b: 1 })).readValue(), { b: 1 }, 'a different key in the same cache slot space');
});

t.test('errors carry PARAMETER', async (t) => {
  try {
    new Reader(Buffer.from([0x92, 0x01, 0xc1])).readValue();
    t.fail('should throw');
  } catch (err) {
    t.match(err, { code: Status.PARAMETER });
  }
});
