// A record's address: namespace, set and either a user key or a bare digest. The digest is
// computed only when asked for, because the wire carries the user key and the server hashes it.

import { copyBytes, toHex, utf8ByteLength } from '../bytes';
import { DIGEST_BYTES, USER_KEY_BYTES_MAX } from '../constants';
import { computeDigestInto, isDigest, partitionOf } from '../partition/digest';
import type { KeyRef, UserKey } from '../protocol/ops';
import { checkNamespace, checkSet, parameterError } from './validate';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A key given only by its digest, e.g. one returned by a scan of a record stored without its key. */
export interface DigestOnly {
  digest: Uint8Array;
}

export class Key {
  readonly ns: string;
  /** The set, or null for records outside any set. */
  readonly set: string | null;
  /** The user key, or null when the key is known only by its digest. */
  readonly value: UserKey | null;
  private digestBytes: Uint8Array | null;
  /** The partition id once computed (-1 before): a routing client asks for it on every call. */
  private partition = -1;

  /**
   * Throws AerieError(PARAMETER) for keys the official clients reject: empty strings or bytes,
   * non-integral or unsafe numbers, bigints outside 64 bits, digests that are not 20 bytes.
   * `digest`, when given with a user key, is trusted as that key's digest (scan results carry both).
   */
  constructor(ns: string, set: string | null | undefined, value: UserKey | DigestOnly, digest?: Uint8Array) {
    this.ns = checkNamespace(ns);
    this.set = checkSet(set);
    if (isUserKey(value)) {
      this.value = checkUserKey(value);
      this.digestBytes = digest === undefined ? null : checkDigest(digest);
    } else if (value !== null && typeof value === 'object' && 'digest' in value) {
      this.value = null;
      this.digestBytes = checkDigest(value.digest);
    } else {
      throw parameterError('key must be a string, an integer, bytes or {digest}');
    }
  }

  /** RIPEMD-160 of set and key, exactly as Aerospike computes it. */
  get digest(): Uint8Array {
    if (this.digestBytes === null) this.digestBytes = digestOf(this.set, this.value!);
    return this.digestBytes;
  }

  /**
   * The partition (0..4095) the record lives in. Computed through a shared scratch digest, so
   * routing a call by partition allocates nothing; `digest` is still computed only when asked.
   */
  get partitionId(): number {
    if (this.partition < 0) {
      if (this.digestBytes !== null) {
        this.partition = partitionOf(this.digestBytes);
      } else {
        computeDigestInto(this.set, this.value!, digestScratch, 0);
        this.partition = partitionOf(digestScratch);
      }
    }
    return this.partition;
  }

  /** The key as the wire's KeyRef: the user key when known, otherwise the digest. */
  toWire(): KeyRef {
    const ref: KeyRef = { ns: this.ns };
    if (this.set !== null) ref.set = this.set;
    if (this.value !== null) ref.key = this.value;
    else ref.digest = this.digest;
    return ref;
  }

  toString(): string {
    const shown = this.value === null ? `digest:${toHex(this.digest)}` : describeUserKey(this.value);
    return `${this.ns}:${this.set ?? ''}:${shown}`;
  }
}

function isUserKey(value: unknown): value is UserKey {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' || value instanceof Uint8Array;
}

function checkUserKey(value: UserKey): UserKey {
  if (typeof value === 'string') {
    if (value.length === 0) throw parameterError('empty string key');
    if (utf8ByteLength(value) > USER_KEY_BYTES_MAX) throw parameterError(`key longer than ${USER_KEY_BYTES_MAX} bytes`);
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw parameterError('integer key must be a safe integer or a bigint');
  } else if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX) throw parameterError('integer key out of 64-bit range');
  } else {
    if (value.length === 0) throw parameterError('empty bytes key');
    if (value.length > USER_KEY_BYTES_MAX) throw parameterError(`key longer than ${USER_KEY_BYTES_MAX} bytes`);
  }
  return value;
}

function checkDigest(digest: unknown): Uint8Array {
  if (!isDigest(digest)) throw parameterError(`digest must be ${DIGEST_BYTES} bytes`);
  return digest;
}

/** Scratch for digests: computed synchronously, then copied out (a Buffer on Node). */
const digestScratch = new Uint8Array(DIGEST_BYTES);

function digestOf(set: string | null, value: UserKey): Uint8Array {
  computeDigestInto(set, value, digestScratch, 0);
  return copyBytes(digestScratch, 0, DIGEST_BYTES);
}

function describeUserKey(value: UserKey): string {
  if (value instanceof Uint8Array) return `bytes:${toHex(value)}`;
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
