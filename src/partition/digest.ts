// Aerospike's record digest and partition id, bit for bit (reference.md, "Digest and partitions").
// digest = RIPEMD-160(set name UTF-8 ‖ key type byte ‖ key bytes); the namespace is not hashed.

import { hash } from 'node:crypto';
import { DIGEST_BYTES, PARTITION_COUNT, USER_KEY_BYTES_MAX } from '../constants';
import { AerieError, Status } from '../errors';

/** Aerospike's particle types for user keys. */
export const KeyType = { INTEGER: 1, STRING: 3, BYTES: 4 } as const;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// One scratch buffer for the hashed bytes: digests are computed synchronously, one at a time.
const scratch = Buffer.allocUnsafe(1 + 63 * 3 + 1 + USER_KEY_BYTES_MAX * 3 + 16);

/**
 * The digest of a user key in a set. Throws AerieError(PARAMETER) for keys Aerospike's clients
 * reject: empty strings and bytes, non-integral or unsafe numbers, out-of-range bigints.
 */
export function computeDigest(set: string | null | undefined, key: unknown): Buffer {
  let pos = set ? scratch.write(set, 0, 'utf8') : 0;
  if (set && pos >= 64 * 3) throw new AerieError(Status.PARAMETER, 'set name too long');
  if (typeof key === 'string') {
    if (key.length === 0) throw new AerieError(Status.PARAMETER, 'empty string key');
    if (Buffer.byteLength(key, 'utf8') > USER_KEY_BYTES_MAX) {
      throw new AerieError(Status.PARAMETER, `key longer than ${USER_KEY_BYTES_MAX} bytes`);
    }
    scratch[pos++] = KeyType.STRING;
    pos += scratch.write(key, pos, 'utf8');
  } else if (typeof key === 'number' || typeof key === 'bigint') {
    let n: bigint;
    if (typeof key === 'number') {
      if (!Number.isSafeInteger(key)) throw new AerieError(Status.PARAMETER, 'integer key must be a safe integer or a bigint');
      n = BigInt(key);
    } else {
      if (key < INT64_MIN || key > INT64_MAX) throw new AerieError(Status.PARAMETER, 'integer key out of 64-bit range');
      n = key;
    }
    scratch[pos++] = KeyType.INTEGER;
    scratch.writeBigInt64BE(n, pos);
    pos += 8;
  } else if (key instanceof Uint8Array) {
    if (key.length === 0) throw new AerieError(Status.PARAMETER, 'empty bytes key');
    if (key.length > USER_KEY_BYTES_MAX) throw new AerieError(Status.PARAMETER, `key longer than ${USER_KEY_BYTES_MAX} bytes`);
    scratch[pos++] = KeyType.BYTES;
    scratch.set(key, pos);
    pos += key.length;
  } else {
    throw new AerieError(Status.PARAMETER, 'key must be a string, an integer or bytes');
  }
  return hash('ripemd160', scratch.subarray(0, pos), 'buffer') as unknown as Buffer;
}

/** Partition id of a digest: the first 12 bits, little-endian, as Aerospike computes it. */
export function partitionOf(digest: Uint8Array, offset = 0): number {
  return (digest[offset] | ((digest[offset + 1] & 0x0f) << 8)) % PARTITION_COUNT;
}

export function isDigest(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && v.length === DIGEST_BYTES;
}
