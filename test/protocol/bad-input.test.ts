// Proves that the Reader rejects every input outside Aerie's msgpack subset with PARAMETER, from
// both readValue and skipValue, without allocating what a hostile header declares.

import t, { type Test } from 'tap';
import { VALUE_DEPTH_MAX } from '../../src/constants';
import { Status } from '../../src/errors';
import { unpackValue } from '../../src/protocol/codec';
import { Reader } from '../../src/protocol/reader';
import { Writer } from '../../src/protocol/writer';

const PARAMETER = { code: Status.PARAMETER };
const reader = new Reader();

function bytes(...parts: Array<number | number[] | Uint8Array>): Buffer {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') out.push(part);
    else out.push(...part);
  }
  return Buffer.from(out);
}

/** Both entry points must reject `input`. */
function rejects(t: Test, input: Uint8Array, what: string): void {
  t.throws(() => reader.reset(input).readValue(), PARAMETER, `readValue: ${what}`);
  t.throws(() => reader.reset(input).skipValue(), PARAMETER, `skipValue: ${what}`);
}

function encode(value: unknown): Buffer {
  const w = new Writer(1 << 20);
  w.writeValue(value);
  return w.copy() as Buffer;
}

t.test('the reserved byte 0xc1 is rejected, alone and nested', async (t) => {
  rejects(t, bytes(0xc1), 'top level');
  rejects(t, bytes(0x91, 0xc1), 'in an array');
  rejects(t, bytes(0x81, 0xa1, 0x61, 0xc1), 'as a map value');
});

t.test('every ext and fixext type is rejected, whatever its type byte and payload', async (t) => {
  for (const type of [0x00, 0x01, 0x42, 0x7f, 0xff]) {
    rejects(t, bytes(0xd4, type, 0), `fixext1 type ${type}`);
    rejects(t, bytes(0xd5, type, [0, 0]), `fixext2 type ${type}`);
    rejects(t, bytes(0xd6, type, [0, 0, 0, 0]), `fixext4 type ${type}`);
    rejects(t, bytes(0xd7, type, new Uint8Array(8)), `fixext8 type ${type}`);
    rejects(t, bytes(0xd8, type, new Uint8Array(16)), `fixext16 type ${type}`);
    rejects(t, bytes(0xc7, 1, type, 0), `ext8 type ${type}`);
    rejects(t, bytes(0xc8, 0, 1, type, 0), `ext16 type ${type}`);
    rejects(t, bytes(0xc9, 0, 0, 0, 1, type, 0), `ext32 type ${type}`);
  }
  rejects(t, bytes(0xd6, 0xff, [0, 0, 0, 0]), 'timestamp32 (ext -1)');
  rejects(t, bytes(0x92, 1, 0xd4, 0, 0), 'ext inside an array');
});

t.test('truncating a valid message at every byte position is rejected', async (t) => {
  const message = encode([
    7,
    2,
    {
      ns: 'test',
      set: 'demo',
      key: -(2 ** 40),
      digest: Buffer.alloc(20, 1),
      bins: { s: 'héllo 😀', f: 1.25, f32: 0, big: 2n ** 62n, list: [1, [2, [3]]], m: new Map([[1, 'x']]) },
      long: 'z'.repeat(300),
      bin16: Buffer.alloc(300),
    },
  ]);
  let checked = 0;
  for (let end = 0; end < message.length; end++) {
    t.throws(() => reader.reset(message, 0, end).readValue(), PARAMETER);
    t.throws(() => reader.reset(message, 0, end).skipValue(), PARAMETER);
    checked++;
  }
  t.equal(checked, message.length, `${checked} truncation points`);
  t.doesNotThrow(() => reader.reset(message).readValue(), 'the untruncated message decodes');
});

t.test('declared lengths beyond the remaining bytes are rejected before allocating', async (t) => {
  rejects(t, bytes(0xdd, 0xff, 0xff, 0xff, 0xff), 'array32 of 4G items');
  rejects(t, bytes(0xdf, 0xff, 0xff, 0xff, 0xff), 'map32 of 4G pairs');
  rejects(t, bytes(0xdb, 0xff, 0xff, 0xff, 0xff), 'str32 of 4 GiB');
  rejects(t, bytes(0xc6, 0xff, 0xff, 0xff, 0xff), 'bin32 of 4 GiB');
  rejects(t, bytes(0xdc, 0x00, 0x03, 1, 2), 'array16 of 3 with 2 items present');
  rejects(t, bytes(0x82, 1, 2, 3), 'fixmap of 2 pairs with 3 bytes present');
  rejects(t, bytes(0xd9, 5, 0x61, 0x62), 'str8 of 5 with 2 bytes present');
  rejects(t, bytes(0xc4, 3, 1), 'bin8 of 3 with 1 byte present');
  rejects(t, bytes(0xdd, 0x00, 0x10, 0x00, 0x00, ...new Array<number>(0xffff).fill(0xc0)), 'array32 of 65536 with 65535 items');
});

t.test(`nesting deeper than VALUE_DEPTH_MAX (${VALUE_DEPTH_MAX}) is rejected`, async (t) => {
  const nested = (depth: number): Buffer => bytes(...new Array<number>(depth).fill(0x91), 0xc0);
  t.doesNotThrow(() => reader.reset(nested(VALUE_DEPTH_MAX)).readValue(), 'depth 32 decodes');
  t.doesNotThrow(() => reader.reset(nested(VALUE_DEPTH_MAX)).skipValue(), 'depth 32 skips');
  rejects(t, nested(VALUE_DEPTH_MAX + 1), 'arrays 33 deep');
  const maps = bytes(...new Array<number>(VALUE_DEPTH_MAX + 1).fill(0).flatMap(() => [0x81, 0xa1, 0x6b]), 0xc0);
  rejects(t, maps, 'maps 33 deep');
  rejects(t, nested(100_000), 'arrays 100000 deep (no unbounded recursion)');
  t.throws(() => reader.reset(nested(3)).readValue(2), PARAMETER, 'a smaller depthMax is honoured');
  t.doesNotThrow(() => reader.reset(nested(VALUE_DEPTH_MAX + 2)).readValue(VALUE_DEPTH_MAX + 2), 'a larger one too');
});

t.test('map keys must be strings or integers, never "__proto__", never repeated', async (t) => {
  rejects(t, bytes(0x81, 0xa9, [...Buffer.from('__proto__')], 1), 'fixstr key __proto__');
  rejects(t, bytes(0x81, 0xd9, 9, [...Buffer.from('__proto__')], 1), 'str8 key __proto__');
  rejects(t, bytes(0x82, 1, 1, 0xa9, [...Buffer.from('__proto__')], 1), '__proto__ after an integer key');
  rejects(t, bytes(0x81, 0xc0, 1), 'nil key');
  rejects(t, bytes(0x81, 0xc3, 1), 'bool key');
  rejects(t, bytes(0x81, 0xcb, new Uint8Array(8), 1), 'float64 key');
  rejects(t, bytes(0x81, 0xca, new Uint8Array(4), 1), 'float32 key');
  rejects(t, bytes(0x81, 0xc4, 1, 0x61, 1), 'bin key');
  rejects(t, bytes(0x81, 0x90, 1), 'array key');
  rejects(t, bytes(0x81, 0x80, 1), 'map key');
  rejects(t, bytes(0x81, 0xd4, 0, 0, 1), 'ext key');
  t.throws(() => reader.reset(bytes(0x82, 0xa1, 0x61, 1, 0xa1, 0x61, 2)).readValue(), PARAMETER, 'duplicate string key');
  t.throws(() => reader.reset(bytes(0x82, 5, 1, 0xd0, 5, 2)).readValue(), PARAMETER, 'duplicate integer key in two encodings');
  t.throws(() => reader.reset(bytes(0x83, 0xa1, 0x61, 1, 5, 1, 0xa1, 0x61, 2)).readValue(), PARAMETER, 'duplicate string key after the switch to a Map');
  const decoded = reader.reset(bytes(0x81, 0xa8, [...Buffer.from('__proto_')], 1)).readValue();
  t.same(Object.keys(decoded as object), ['__proto_'], 'a near miss is an ordinary key');
});

t.test('integers outside int64 are rejected', async (t) => {
  rejects(t, bytes(0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0), 'uint64 2^63');
  rejects(t, bytes(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 'uint64 max');
  t.equal(reader.reset(bytes(0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)).readValue(), 2n ** 63n - 1n, 'uint64 2^63-1 is fine');
});

t.test('strings must be valid UTF-8', async (t) => {
  rejects(t, bytes(0xa1, 0xff), 'a lone 0xff');
  rejects(t, bytes(0xa2, 0xc3, 0x28), 'a broken two-byte sequence');
  rejects(t, bytes(0xa3, 0xed, 0xa0, 0x80), 'an encoded surrogate');
  rejects(t, bytes(0xa2, 0xc0, 0x80), 'an overlong NUL');
  rejects(t, bytes(0xd9, 40, ...new Array<number>(39).fill(0x61), 0x80), 'a bad byte at the end of a long string');
  rejects(t, bytes(0x81, 0xa2, 0xc3, 0x28, 1), 'a bad map key');
});

t.test('typed reads reject the wrong type', async (t) => {
  t.throws(() => reader.reset(bytes(0xa1, 0x61)).readUint32(), PARAMETER, 'string as uint32');
  t.throws(() => reader.reset(bytes(0xff)).readUint32(), PARAMETER, '-1 as uint32');
  t.throws(() => reader.reset(bytes(0xcf, 0, 0, 0, 1, 0, 0, 0, 0)).readUint32(), PARAMETER, '2^32 as uint32');
  t.throws(() => reader.reset(bytes(0xcb, new Uint8Array(8))).readInt(), PARAMETER, 'float as int');
  t.throws(() => reader.reset(bytes(0x01)).readString(), PARAMETER, 'int as string');
  t.throws(() => reader.reset(bytes(0xa1, 0xff)).readString(), PARAMETER, 'invalid UTF-8 via readString');
  t.throws(() => reader.reset(bytes(0xa1, 0x61)).readBin(), PARAMETER, 'string as bin');
  t.throws(() => reader.reset(bytes(0x80)).readArrayHeader(), PARAMETER, 'map as array');
  t.throws(() => reader.reset(bytes(0x90)).readMapHeader(), PARAMETER, 'array as map');
  t.throws(() => reader.reset(bytes(0x01)).readNil(), PARAMETER, 'int as nil');
  t.throws(() => reader.reset(bytes(0xc0)).readBool(), PARAMETER, 'nil as bool');
  t.throws(() => reader.reset(bytes()).readValue(), PARAMETER, 'empty input');
  t.throws(() => reader.reset(bytes()).peekType(), PARAMETER, 'peek at the end');
  t.throws(() => reader.reset(bytes(0xdd, 0, 0)).readArrayHeader(), PARAMETER, 'truncated header');
  t.throws(() => reader.reset(bytes(0x01), 0, 2), PARAMETER, 'reset beyond the buffer');
});

t.test('unpackValue rejects trailing bytes', async (t) => {
  t.throws(() => unpackValue(bytes(0x01, 0x02)), PARAMETER);
  t.equal(unpackValue(bytes(0x01, 0x02), 1), 2, 'a range that holds exactly one value is fine');
});
