// Proves, over ~20k seeded random and mutated inputs, that the Reader only ever returns a value or
// throws AerieError(PARAMETER), and that skipValue accepts exactly what readValue accepts.

import t from 'tap';
import { AerieError, Status } from '../../src/errors';
import { Reader, ValueType } from '../../src/protocol/reader';
import { Writer } from '../../src/protocol/writer';
import { Random, randomValue, testSeed } from '../helpers/values';

const CASES = 20_000;
const seed = testSeed();
t.comment(`seed ${seed} (replay with AERIE_SEED=${seed})`);
const r = new Random(seed);
const writer = new Writer(1 << 20);
const reader = new Reader();

/** Bytes worth splicing in: every header byte that declares a length, and the invalid ones. */
const HOSTILE = [0xc1, 0xd4, 0xc7, 0xdb, 0xdd, 0xdf, 0xc6, 0xcf, 0xd3, 0xff, 0x80, 0x9f, 0xbf, 0xa9];

function validMessage(): Buffer {
  writer.reset();
  writer.writeValue([r.below(1000), r.below(13), randomValue(r, 5)]);
  return writer.copy() as Buffer;
}

function mutate(input: Buffer): Buffer {
  const out = Buffer.from(input);
  const edits = 1 + r.below(4);
  let bytes: Buffer = out;
  for (let e = 0; e < edits && bytes.length > 0; e++) {
    const at = r.below(bytes.length);
    switch (r.below(5)) {
      case 0:
        bytes[at] ^= 1 << r.below(8);
        break;
      case 1:
        bytes[at] = r.below(256);
        break;
      case 2:
        bytes[at] = HOSTILE[r.below(HOSTILE.length)];
        break;
      case 3:
        bytes = bytes.subarray(0, at);
        break;
      default:
        bytes = Buffer.concat([bytes.subarray(0, at), r.bytes(1 + r.below(4)), bytes.subarray(at)]);
    }
  }
  return bytes;
}

type Outcome = { ok: true; end: number } | { ok: false; code: number };

function attempt(input: Buffer, skip: boolean): Outcome {
  reader.reset(input);
  try {
    if (skip) reader.skipValue();
    else reader.readValue();
    return { ok: true, end: reader.pos };
  } catch (err) {
    if (!(err instanceof AerieError)) throw new Error(`not an AerieError: ${String(err)}`, { cause: err });
    return { ok: false, code: err.code };
  }
}

t.test('random bytes and mutated messages: a value or PARAMETER, and skip agrees with read', async (t) => {
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < CASES; i++) {
    const input = i % 4 === 0 ? r.bytes(r.below(48)) : mutate(validMessage());
    let read: Outcome;
    let skipped: Outcome;
    try {
      read = attempt(input, false);
      skipped = attempt(input, true);
    } catch (err) {
      t.fail(`case ${i}, seed ${seed}, input ${input.toString('hex')}: ${String(err)}`);
      return;
    }
    if (!read.ok && read.code !== Status.PARAMETER) {
      t.fail(`case ${i}, seed ${seed}: code ${read.code} for ${input.toString('hex')}`);
      return;
    }
    // readValue also rejects duplicate map keys, which skipValue cannot see without building keys.
    const agree = read.ok ? skipped.ok && skipped.end === read.end : !skipped.ok || duplicateKeys(input);
    if (!agree) {
      t.fail(`case ${i}, seed ${seed}: read ${JSON.stringify(read)} skip ${JSON.stringify(skipped)} for ${input.toString('hex')}`);
      return;
    }
    if (read.ok) decoded++;
    else rejected++;
  }
  t.ok(decoded > CASES / 20, `${decoded} inputs decoded`);
  t.ok(rejected > CASES / 20, `${rejected} inputs rejected`);
});

/**
 * Whether a value that skipValue accepted repeats a key in some map: readValue rejects that, and
 * skipValue cannot see it without building the keys. Walks with the Reader's header-level reads.
 */
function duplicateKeys(input: Buffer): boolean {
  const walker = new Reader(input);
  const walk = (): boolean => {
    const type = walker.peekType();
    if (type === ValueType.ARRAY) {
      let found = false;
      for (let n = walker.readArrayHeader(); n > 0; n--) found = walk() || found;
      return found;
    }
    if (type !== ValueType.MAP) {
      walker.skipValue();
      return false;
    }
    const keys = new Set<string>();
    let found = false;
    for (let n = walker.readMapHeader(); n > 0; n--) {
      const key = walker.peekType() === ValueType.STR ? `s${walker.readString()}` : `i${walker.readInt()}`;
      if (keys.has(key)) found = true;
      keys.add(key);
      found = walk() || found;
    }
    return found;
  };
  return walk();
}
