// Reads the few body fields the primary needs to route a request (namespace, set, key or digest)
// and validates them; every other field is skipped unread and checked later by the worker
// (which fields exist, and who reads each: src/protocol/body-fields.ts).

import { DIGEST_BYTES, SET_NAME_BYTES_MAX, VALUE_DEPTH_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import { computeDigestInto, isDigest } from '../partition/digest';
import { RoutingField as Field } from '../protocol/body-fields';
import type { Reader } from '../protocol/reader';

export class RoutingFields {
  ns: string | null = null;
  set: string | null = null;
  digest: Buffer = Buffer.alloc(DIGEST_BYTES);
  hasKey = false;
  /** Raw byte range of a `bins` field (BATCH_GET) and of a scan `cursor`. */
  binsStart = -1;
  binsEnd = -1;
  cursor: Uint8Array | null = null;
  pageSize = 0;
  keysStart = -1;
  keysEnd = -1;
  /** TRUNCATE's cut-off (ms since the Unix epoch); -1 when not given. */
  beforeMs = -1;
  /** commitLevel 'master': answer a write once its master applied it, without waiting for replicas. */
  commitMaster = false;
  /** Field bits named by the body, and the first field not read here (the worker checks those for its ops). */
  seen = 0;
  other: string | null = null;

  reset(): void {
    this.seen = 0;
    this.other = null;
    this.ns = null;
    this.set = null;
    this.hasKey = false;
    this.binsStart = this.binsEnd = -1;
    this.cursor = null;
    this.pageSize = 0;
    this.keysStart = this.keysEnd = -1;
    this.beforeMs = -1;
    this.commitMaster = false;
  }
}

function bad(what: string): never {
  throw new AerieError(Status.PARAMETER, what);
}

function readSet(r: Reader): string | null {
  if (r.isNil()) {
    r.readNil();
    return null;
  }
  const set = r.readString();
  if (Buffer.byteLength(set) > SET_NAME_BYTES_MAX) bad(`set name longer than ${SET_NAME_BYTES_MAX} bytes`);
  return set.length === 0 ? null : set;
}

/**
 * Reads the body map at r.pos (ending at `end`) into f. With `needKey`, a key or digest is
 * required and f.digest is filled. Throws AerieError(PARAMETER) on anything malformed.
 */
export function readRoutingFields(r: Reader, end: number, f: RoutingFields, needKey: boolean): void {
  f.reset();
  let key: unknown;
  let digest: unknown;
  if (r.pos < end && !r.isNil()) {
    const n = r.readMapHeader();
    for (let i = 0; i < n; i++) {
      const name = r.readString();
      switch (name) {
        case 'ns':
          f.seen |= Field.ns;
          f.ns = r.readString();
          break;
        case 'set':
          f.seen |= Field.set;
          f.set = readSet(r);
          break;
        case 'key':
          f.seen |= Field.key;
          key = r.readValue();
          break;
        case 'digest':
          f.seen |= Field.digest;
          digest = r.readValue();
          break;
        case 'bins':
          f.seen |= Field.bins;
          f.binsStart = r.pos;
          r.skipValue(VALUE_DEPTH_MAX + 2);
          f.binsEnd = r.pos;
          break;
        case 'keys':
          f.seen |= Field.keys;
          f.keysStart = r.pos;
          r.skipValue();
          f.keysEnd = r.pos;
          break;
        case 'cursor': {
          f.seen |= Field.cursor;
          const c = r.readValue();
          if (c !== null && !(c instanceof Uint8Array)) bad('cursor must be bytes or nil');
          f.cursor = c as Uint8Array | null;
          break;
        }
        case 'pageSize': {
          f.seen |= Field.pageSize;
          const p = r.readValue();
          if (typeof p !== 'number' || !Number.isInteger(p) || p < 1) bad('pageSize must be a positive integer');
          f.pageSize = p;
          break;
        }
        case 'beforeMs': {
          f.seen |= Field.beforeMs;
          const b = r.readValue();
          if (typeof b !== 'number' || !Number.isSafeInteger(b) || b < 0) bad('beforeMs must be a non-negative integer (ms since 1970)');
          f.beforeMs = b;
          break;
        }
        case 'commitLevel': {
          f.seen |= Field.commitLevel;
          const c = r.readValue();
          if (c !== 'all' && c !== 'master') bad("commitLevel must be 'all' or 'master'");
          f.commitMaster = c === 'master';
          break;
        }
        default:
          f.other ??= name;
          r.skipValue(VALUE_DEPTH_MAX + 2);
      }
    }
  } else if (r.pos < end) {
    r.readNil();
  }
  if (r.pos !== end) bad('trailing bytes after the body');
  if (!needKey) return;
  if (digest !== undefined && digest !== null) {
    if (!isDigest(digest)) bad(`digest must be ${DIGEST_BYTES} bytes`);
    if (key !== undefined && key !== null) {
      computeDigestInto(f.set, key, f.digest, 0);
      if (!f.digest.equals(digest)) bad('key and digest disagree');
    }
    f.digest.set(digest);
  } else if (key !== undefined && key !== null) {
    computeDigestInto(f.set, key, f.digest, 0);
  } else {
    bad('a key or a digest is required');
  }
  f.hasKey = key !== undefined && key !== null;
}

/**
 * Throws PARAMETER unless the body named only fields of `allowed` (Field bits): for bodies the
 * primary consumes whole (a batch and its key references), which no worker checks after it.
 */
export function onlyFields(f: RoutingFields, allowed: number, what: string): void {
  if (f.other !== null) bad(`unknown field '${f.other}' in ${what}`);
  const extra = f.seen & ~allowed;
  if (extra === 0) return;
  const name = Object.entries(Field).find(([, bit]) => (extra & bit) !== 0)![0];
  bad(`field ${name} is not allowed in ${what}`);
}
