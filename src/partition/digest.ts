// Aerospike's record digest and partition id, bit for bit (reference.md, "Digest and partitions").
// digest = RIPEMD-160(set name UTF-8 ‖ key type byte ‖ key bytes); the namespace is not hashed.

import { allocBytes, utf8ByteLength, utf8Write, writeBigInt64BE, writeUint32BE } from '../bytes';
import { DIGEST_BYTES, PARTITION_COUNT, USER_KEY_BYTES_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import { ripemd160 } from './ripemd160';

/** Aerospike's particle types for user keys. */
export const KeyType = { INTEGER: 1, STRING: 3, BYTES: 4 } as const;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// One scratch buffer for the hashed bytes: digests are computed synchronously, one at a time. It
// starts with the set name of the last call, kept while the next call names the same set.
const scratch = allocBytes(1 + 63 * 3 + 1 + USER_KEY_BYTES_MAX * 3 + 16);
let scratchSet: string | null = null;
let scratchSetBytes = 0;
const TWO_32 = 0x100000000;

/**
 * The digest of a user key in a set, in a Buffer (Node only: code that also runs in browsers calls
 * computeDigestInto with bytes of its own). Throws AerieError(PARAMETER) for keys Aerospike's clients
 * reject: empty strings and bytes, non-integral or unsafe numbers, out-of-range bigints.
 */
export function computeDigest(set: string | null | undefined, key: unknown): Buffer {
  const out = Buffer.allocUnsafe(DIGEST_BYTES);
  computeDigestInto(set, key, out, 0);
  return out;
}

/** computeDigest into out[at, at + 20), allocating nothing for string and safe-integer keys. */
export function computeDigestInto(set: string | null | undefined, key: unknown, out: Uint8Array, at: number): void {
  let pos: number;
  if (!set) {
    pos = 0;
    scratchSet = null;
    scratchSetBytes = 0;
  } else if (set === scratchSet) {
    pos = scratchSetBytes;
  } else {
    scratchSet = null; // the bytes are overwritten now, whether or not the name is accepted
    pos = utf8Write(scratch, set, 0, scratch.length);
    if (pos >= 64 * 3) throw new AerieError(Status.PARAMETER, 'set name too long');
    scratchSet = set;
    scratchSetBytes = pos;
  }
  if (typeof key === 'string') {
    if (key.length === 0) throw new AerieError(Status.PARAMETER, 'empty string key');
    // A string of n UTF-16 units takes at most 3n UTF-8 bytes: only a long one needs measuring.
    if (key.length * 3 > USER_KEY_BYTES_MAX && utf8ByteLength(key) > USER_KEY_BYTES_MAX) {
      throw new AerieError(Status.PARAMETER, `key longer than ${USER_KEY_BYTES_MAX} bytes`);
    }
    scratch[pos++] = KeyType.STRING;
    pos += utf8Write(scratch, key, pos, scratch.length - pos);
  } else if (typeof key === 'number') {
    if (!Number.isSafeInteger(key)) throw new AerieError(Status.PARAMETER, 'integer key must be a safe integer or a bigint');
    // Big-endian two's complement in two 32-bit halves (no BigInt): exact for safe integers.
    const high = Math.floor(key / TWO_32);
    scratch[pos++] = KeyType.INTEGER;
    writeUint32BE(scratch, high >>> 0, pos);
    writeUint32BE(scratch, key - high * TWO_32, pos + 4);
    pos += 8;
  } else if (typeof key === 'bigint') {
    if (key < INT64_MIN || key > INT64_MAX) throw new AerieError(Status.PARAMETER, 'integer key out of 64-bit range');
    scratch[pos++] = KeyType.INTEGER;
    writeBigInt64BE(scratch, key, pos);
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
  ripemd160(scratch, 0, pos, out, at);
}

/** Partition id of a digest: the first 12 bits, little-endian, as Aerospike computes it. */
export function partitionOf(digest: Uint8Array, offset = 0): number {
  return (digest[offset] | ((digest[offset + 1] & 0x0f) << 8)) % PARTITION_COUNT;
}

export function isDigest(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && v.length === DIGEST_BYTES;
}
