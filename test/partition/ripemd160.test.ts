// Proves the allocation-free RIPEMD-160 equals node:crypto's on every length around the block and
// padding boundaries and on random inputs, and that computeDigest (which now uses it, with a cached
// set name and no BigInt for safe integers) equals the textbook construction for every key type.
import t from 'tap';
import { hash, randomBytes } from 'node:crypto';
import { ripemd160 } from '../../src/partition/ripemd160';
import { computeDigest, computeDigestInto } from '../../src/partition/digest';
import { prng, testSeed } from '../helpers/prng';
import { Random } from '../helpers/values';

const ours = (b: Uint8Array) => {
  const out = Buffer.alloc(20);
  ripemd160(b, 0, b.length, out, 0);
  return out.toString('hex');
};
const theirs = (b: Uint8Array) => (hash('ripemd160', b, 'buffer') as unknown as Buffer).toString('hex');

t.test('published vectors', async (t) => {
  t.equal(ours(Buffer.from('')), '9c1185a5c5e9fc54612808977ee8f548b2258d31');
  t.equal(ours(Buffer.from('abc')), '8eb208f7e05d987a9b044a8e98c6b087f15a0bfc');
});

t.test('every length from 0 to 300 bytes, and random inputs up to 4 KiB (seeded)', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const random = new Random(seed);
  const mismatches: number[] = [];
  for (let n = 0; n <= 300; n++) {
    const b = random.bytes(n);
    if (ours(b) !== theirs(b)) mismatches.push(n);
  }
  for (let i = 0; i < 200; i++) {
    const b = random.bytes(random.below(4096));
    if (ours(b) !== theirs(b)) mismatches.push(b.length);
  }
  t.same(mismatches, [], 'no length differs');
});

t.test('hashes a range of a larger buffer into an offset of the output', async (t) => {
  const b = randomBytes(200);
  const out = Buffer.alloc(64, 0xee);
  ripemd160(b, 17, 150, out, 30);
  t.equal(out.subarray(30, 50).toString('hex'), theirs(b.subarray(17, 150)));
  t.ok(out.subarray(0, 30).every((x) => x === 0xee) && out.subarray(50).every((x) => x === 0xee), 'nothing else written');
});

/** Aerospike's construction spelled out: RIPEMD-160(set ‖ type ‖ key bytes), integers as int64 BE. */
function reference(set: string | null, key: string | number | bigint | Buffer): string {
  const parts: Buffer[] = [Buffer.from(set ?? '', 'utf8')];
  if (typeof key === 'string') parts.push(Buffer.from([3]), Buffer.from(key, 'utf8'));
  else if (typeof key === 'number' || typeof key === 'bigint') {
    const b = Buffer.alloc(9);
    b[0] = 1;
    b.writeBigInt64BE(BigInt(key), 1);
    parts.push(b);
  } else parts.push(Buffer.from([4]), key);
  return theirs(Buffer.concat(parts));
}

t.test('computeDigest equals the construction for every key type (seeded)', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const rand = prng(seed);
  const edges = [0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
  const sets = [null, '', 's', 'users', 'ensemble-é', 'x'.repeat(63)];
  const bad: string[] = [];
  for (let i = 0; i < 3000; i++) {
    // Alternate sets often, so the cached set name is both reused and replaced.
    const set = sets[Math.floor(rand() * sets.length)];
    const pick = rand();
    const key =
      i < edges.length
        ? edges[i]
        : pick < 0.4
          ? Math.floor((rand() - 0.5) * 2 ** 53)
          : pick < 0.7
            ? `k${Math.floor(rand() * 1e9)}é`
            : pick < 0.85
              ? BigInt(Math.floor((rand() - 0.5) * 2 ** 53)) * 1024n
              : Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
    if (computeDigest(set, key).toString('hex') !== reference(set, key)) bad.push(`${set} ${String(key)}`);
  }
  t.same(bad.slice(0, 5), [], 'every digest matches');
});

t.test('a rejected set name does not spoil the next digest of the previous set', async (t) => {
  const before = computeDigest('s', 'k').toString('hex');
  t.throws(() => computeDigest('y'.repeat(300), 'k'));
  t.equal(computeDigest('s', 'k').toString('hex'), before);
  const out = Buffer.alloc(20);
  computeDigestInto('s', 'k', out, 0);
  t.equal(out.toString('hex'), before, 'computeDigestInto writes the same 20 bytes');
});
