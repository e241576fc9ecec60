// Parses a request body (the client's msgpack map) into one reused struct, so the worker
// allocates nothing per request beyond the values it must decode (bins, ops); the primary reads
// bin names with it too. Unknown fields are rejected: a misspelt policy must fail loudly rather
// than be ignored. Which fields exist is src/protocol/body-fields.ts.

import { BINS_PER_RECORD_MAX, VALUE_DEPTH_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import { PRIMARY_ONLY_FIELDS } from './body-fields';
import { Exists, GenPolicy, Ttl } from './ops';
import type { Reader } from './reader';

export class RequestFields {
  bins: unknown = undefined;
  /** Bin names to read (GET, BATCH_GET, SCAN); null = all. */
  binNames: string[] | null = null;
  ops: unknown = undefined;
  ttl: number = Ttl.NAMESPACE_DEFAULT;
  gen = 0;
  exists: number = Exists.UPDATE;
  genPolicy: number = GenPolicy.NONE;
  sendKey = false;
  /** Byte range of the raw msgpack user key inside the body, or keyStart = -1. */
  keyStart = -1;
  keyEnd = -1;

  reset(): void {
    this.bins = undefined;
    this.binNames = null;
    this.ops = undefined;
    this.ttl = Ttl.NAMESPACE_DEFAULT;
    this.gen = 0;
    this.exists = Exists.UPDATE;
    this.genPolicy = GenPolicy.NONE;
    this.sendKey = false;
    this.keyStart = -1;
    this.keyEnd = -1;
  }
}

function bad(what: string): never {
  throw new AerieError(Status.PARAMETER, what);
}

function intIn(v: unknown, min: number, max: number, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${field} must be an integer from ${min} to ${max}`);
  return v;
}

function readBinNames(r: Reader): string[] | null {
  if (r.isNil()) {
    r.readNil();
    return null;
  }
  const v = r.readValue();
  if (!Array.isArray(v) || v.some((n) => typeof n !== 'string')) bad('bins must be an array of bin names');
  // Each name is looked up in every record read (a batch repeats that per key): bounded as bins are.
  if (v.length > BINS_PER_RECORD_MAX) bad(`bins may name at most ${BINS_PER_RECORD_MAX} bins`);
  return v as string[];
}

/**
 * Reads the body map at r.pos..end into f. `readBins` says whether `bins` holds values (PUT) or
 * names (GET, BATCH_GET, SCAN). Fields that only the primary uses (PRIMARY_ONLY_FIELDS) are
 * skipped; of `key`, which the primary reads too, the raw bytes are kept for sendKey.
 */
export function parseBody(r: Reader, end: number, f: RequestFields, binsAreValues: boolean): void {
  f.reset();
  if (r.pos >= end) return;
  if (r.isNil()) {
    r.readNil();
    return;
  }
  const n = r.readMapHeader();
  for (let i = 0; i < n; i++) {
    const field = r.readString();
    switch (field) {
      case 'bins':
        if (binsAreValues)
          f.bins = r.readValue(VALUE_DEPTH_MAX + 1); // the bins map, then values
        else f.binNames = readBinNames(r);
        break;
      case 'ops':
        f.ops = r.readValue(VALUE_DEPTH_MAX + 2); // the ops list, each op, then values
        break;
      case 'ttl':
        f.ttl = intIn(r.readValue(), -2, 0x7fffffff, 'ttl');
        break;
      case 'gen':
        f.gen = intIn(r.readValue(), 0, 0xffff, 'gen');
        break;
      case 'exists':
        f.exists = intIn(r.readValue(), 0, 4, 'exists');
        break;
      case 'genPolicy':
        f.genPolicy = intIn(r.readValue(), 0, 2, 'genPolicy');
        break;
      case 'sendKey': {
        const v = r.readValue();
        if (typeof v !== 'boolean') bad('sendKey must be a boolean');
        f.sendKey = v;
        break;
      }
      case 'key':
        f.keyStart = r.pos;
        r.skipValue();
        f.keyEnd = r.pos;
        break;
      default:
        if (!PRIMARY_ONLY_FIELDS.has(field)) bad(`unknown field '${field}'`);
        r.skipValue();
    }
  }
  if (r.pos !== end) bad('trailing bytes after the body');
}
