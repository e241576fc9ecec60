// Proves that every kind of value survives Writer -> Reader, msgpackr -> Reader and Writer -> msgpackr
// unchanged in meaning, including integer and length boundaries and random nested values.

import t from 'tap';
import { Packr, Unpackr } from 'msgpackr';
import { Status } from '../../src/errors';
import { packValue, unpackValue } from '../../src/protocol/codec';
import type { BinValue } from '../../src/protocol/ops';
import { Reader } from '../../src/protocol/reader';
import { Writer } from '../../src/protocol/writer';
import { Random, canon, randomValue, testSeed } from '../helpers/values';

const writer = new Writer(64 * 1024 * 1024);
const reader = new Reader();
const msgpackrPackr = new Packr({ useRecords: false, variableMapSize: true });
// 'auto' (int64 as a number when safe, else a bigint) exists at run time but not in msgpackr's types.
const msgpackrUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: 'auto' as 'bigint' });

function viaWriter(value: BinValue): BinValue {
  writer.reset();
  writer.writeValue(value);
  reader.reset(writer.bytes());
  const out = reader.readValue();
  if (!reader.atEnd()) throw new Error('bytes left after the value');
  return out;
}

function viaMsgpackr(value: BinValue): BinValue {
  reader.reset(msgpackrPackr.pack(value));
  const out = reader.readValue();
  if (!reader.atEnd()) throw new Error('bytes left after the value');
  return out;
}

function writerToMsgpackr(value: BinValue): unknown {
  writer.reset();
  writer.writeValue(value);
  return msgpackrUnpackr.unpack(writer.copy());
}

const INT_EDGES: Array<number | bigint> = [
  0,
  1,
  127,
  128,
  255,
  256,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  -(2 ** 31) - 1,
  2 ** 32 - 1,
  2 ** 32,
  -(2 ** 32),
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  -1,
  -32,
  -33,
  -128,
  -129,
  -32768,
  -32769,
  2n ** 53n,
  -(2n ** 53n),
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  -(2n ** 63n),
  -(2n ** 63n) + 1n,
];

const FIXED: Array<[string, BinValue]> = [
  ['nil', null],
  ['true', true],
  ['false', false],
  ...INT_EDGES.map((n): [string, BinValue] => [`int ${n}`, n]),
  ['float 1.5', 1.5],
  ['float -0.1', -0.1],
  ['float 2^60 (integral, unsafe)', 2 ** 60],
  ['float max', Number.MAX_VALUE],
  ['float min', Number.MIN_VALUE],
  ['float Infinity', Infinity],
  ['float -Infinity', -Infinity],
  ['empty string', ''],
  ['ascii', 'hello'],
  ['utf8 2-byte', 'héllo wörld'],
  ['utf8 3-byte', '日本語テキスト'],
  ['emoji (surrogate pairs)', '😀👍🏽 family: 👨‍👩‍👧'],
  ['fixstr max (31 bytes)', 'a'.repeat(31)],
  ['str8 min (32 bytes)', 'a'.repeat(32)],
  ['str8 max (255 bytes)', 'é'.repeat(127) + 'a'],
  ['str16 min (256 bytes)', 'a'.repeat(256)],
  ['str16 of multibyte chars', '€'.repeat(1000)],
  ['str16 max (65535 bytes)', 'a'.repeat(65535)],
  ['str32 (65536 bytes)', 'a'.repeat(65536)],
  ['str32 long emoji', '😀'.repeat(300_000)],
  ['empty bin', Buffer.alloc(0)],
  ['bin8', Buffer.from([1, 2, 3])],
  ['bin16', Buffer.alloc(300, 7)],
  ['bin32', Buffer.alloc(70_000, 9)],
  ['plain Uint8Array bin', new Uint8Array([250, 251])],
  ['empty array', []],
  ['array16', Array.from({ length: 20 }, (_, i) => i)],
  ['array32', Array.from({ length: 70_000 }, (_, i) => i % 3)],
  ['empty map', {}],
  ['map16', Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]))],
  ['nested', { a: [1, { b: [true, null, 'x'] }], c: { d: { e: Buffer.from('z') } } }],
  [
    'integer-keyed Map',
    new Map<number, BinValue>([
      [1, 'one'],
      [-5, 'minus five'],
      [2 ** 31, 'big'],
    ]),
  ],
  [
    'bigint-keyed Map',
    new Map<bigint, BinValue>([
      [2n ** 62n, 1],
      [-(2n ** 63n), 2],
    ]),
  ],
  [
    'mixed-key Map',
    new Map<string | number, BinValue>([
      ['a', 1],
      [2, [3]],
      ['constructor', 4],
    ]),
  ],
  ['keys that shadow Object.prototype', { constructor: 1, toString: 2, hasOwnProperty: 3 }],
  ['depth 32', nest(32)],
];

function nest(depth: number): BinValue {
  let value: BinValue = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { v: value };
  return value;
}

t.test('fixed values round-trip through Writer -> Reader', async (t) => {
  for (const [name, value] of FIXED) t.equal(canon(viaWriter(value)), canon(value), name);
});

t.test('fixed values round-trip through packValue -> Reader', async (t) => {
  for (const [name, value] of FIXED) t.equal(canon(unpackValue(packValue(value))), canon(value), name);
});

t.test('integer map keys beyond 32 bits survive the Writer, but msgpackr makes them float keys', async (t) => {
  const value = new Map<number | bigint, BinValue>([
    [2 ** 40, 'a'],
    [-(2 ** 40), 'b'],
    [2n ** 62n, 'c'],
  ]);
  t.equal(canon(viaWriter(value)), canon(value));
  t.equal(canon(unpackValue(packValue(value))), canon(value));
  t.throws(() => viaMsgpackr(new Map([[2 ** 40, 'a']])), { code: Status.PARAMETER });
});

t.test('fixed values round-trip through msgpackr -> Reader', async (t) => {
  for (const [name, value] of FIXED) t.equal(canon(viaMsgpackr(value)), canon(value), name);
});

t.test('Writer output decodes identically with msgpackr', async (t) => {
  for (const [name, value] of FIXED) t.equal(canon(writerToMsgpackr(value)), canon(value), name);
});

t.test('decoded integers are numbers when safe and bigints otherwise', async (t) => {
  for (const n of INT_EDGES) {
    const out = viaWriter(n);
    const safe = Number.isSafeInteger(Number(n)) && BigInt(n) === BigInt(Number(n));
    t.equal(typeof out, safe ? 'number' : 'bigint', `type of ${n}`);
  }
  t.equal(viaWriter(5n), 5, 'a small bigint comes back as a number');
  t.equal(viaMsgpackr(5n), 5, 'msgpackr int64 encoding of a small bigint comes back as a number');
});

t.test('-0 survives the Writer as a float', async (t) => {
  t.ok(Object.is(viaWriter(-0), -0));
});

t.test('maps decode to plain objects only when every key is a string', async (t) => {
  const object = viaWriter(new Map([['a', 1]]));
  t.equal(Object.getPrototypeOf(object), Object.prototype);
  const map = viaWriter(
    new Map<string | number, BinValue>([
      ['a', 1],
      [7, 2],
    ]),
  );
  t.ok(map instanceof Map);
  t.equal((map as Map<string | number, BinValue>).get(7), 2);
  t.equal((map as Map<string | number, BinValue>).get('a'), 1);
});

t.test('bins decode as Buffers', async (t) => {
  t.ok(Buffer.isBuffer(viaWriter(new Uint8Array([1]))));
  t.ok(Buffer.isBuffer(viaMsgpackr(Buffer.from([1]))));
});

t.test('random nested values round-trip every way', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (replay with AERIE_SEED=${seed})`);
  const r = new Random(seed);
  for (let i = 0; i < 3000; i++) {
    const value = randomValue(r, 4);
    const want = canon(value);
    if (canon(viaWriter(value)) !== want) t.fail(`Writer -> Reader case ${i}, seed ${seed}: ${want}`);
    if (canon(viaMsgpackr(value)) !== want) t.fail(`msgpackr -> Reader case ${i}, seed ${seed}: ${want}`);
    if (canon(writerToMsgpackr(value)) !== want) t.fail(`Writer -> msgpackr case ${i}, seed ${seed}: ${want}`);
  }
  t.pass('3000 random values');
});
