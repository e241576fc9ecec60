// Bin names and values: the checks every write passes, and the pure helpers that build a record's
// new bins. Values arrive from the strict msgpack reader, so the domain is small and closed:
// null, boolean, number, bigint, string, bytes, lists (arrays), string-keyed maps (plain objects)
// and integer- or mixed-keyed maps (JS Maps). Nothing here mutates its inputs.

import { BIN_NAME_BYTES_MAX, BINS_PER_RECORD_MAX, VALUE_DEPTH_MAX } from '../constants';
import { Status } from '../errors';
import type { BinValue, Bins } from '../protocol/ops';
import { valueWalked } from '../protocol/walk-beat';

export const INT64_MIN = -(1n << 63n);
export const INT64_MAX = (1n << 63n) - 1n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Assigning "__proto__" on an ordinary object replaces its prototype instead of adding a key, so
 * the name is refused wherever it could become an object key: bin names and map keys.
 */
export const FORBIDDEN_KEY = '__proto__';

/** 0, or the status a bin name fails with. */
export function checkBinName(name: string): number {
  if (name.length === 0 || name === FORBIDDEN_KEY) return Status.PARAMETER;
  // A UTF-8 character is at most 3 bytes per UTF-16 unit, so short names skip the byte count.
  if (name.length * 3 > BIN_NAME_BYTES_MAX && Buffer.byteLength(name, 'utf8') > BIN_NAME_BYTES_MAX) {
    return Status.BIN_NAME_TOO_LONG;
  }
  return 0;
}

/** A safe integer number, or a bigint (decoded integers outside the safe range). */
export function isInteger(v: unknown): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v));
}

/**
 * A number that is not a safe integer. Integral floats in the safe range (2.0) decode as plain
 * numbers and are indistinguishable from integers; like msgpackr, Aerie treats them as integers.
 */
export function isFloat(v: unknown): v is number {
  return typeof v === 'number' && !Number.isSafeInteger(v);
}

export function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

/** A map with string keys, as the reader builds it (not a class instance, array or JS Map). */
export function isPlainObject(v: unknown): v is { [key: string]: BinValue } {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function isInt64(x: bigint): boolean {
  return x >= INT64_MIN && x <= INT64_MAX;
}

/** The canonical form of an integer: a number when it is safe, else the bigint itself. */
export function normalizeInt(x: bigint): number | bigint {
  return x >= SAFE_MIN && x <= SAFE_MAX ? Number(x) : x;
}

/** A map key Aerie accepts: a string other than "__proto__", or a 64-bit integer. */
export function isMapKey(k: unknown): k is string | number | bigint {
  if (typeof k === 'string') return k !== FORBIDDEN_KEY;
  if (typeof k === 'bigint') return isInt64(k);
  return typeof k === 'number' && Number.isSafeInteger(k);
}

/**
 * 0, or PARAMETER for a value Aerie cannot store: a type outside the domain, an integer outside
 * 64 bits, a bad map key, or more than VALUE_DEPTH_MAX nested lists and maps. `depth` counts the
 * containers already enclosing `v`. NaN and the infinities are accepted, as Aerospike floats are
 * IEEE doubles. A cyclic value fails the depth bound rather than looping.
 */
export function checkValue(v: unknown, depth = 0): number {
  valueWalked();
  switch (typeof v) {
    case 'boolean':
    case 'number':
    case 'string':
      return 0;
    case 'bigint':
      return isInt64(v) ? 0 : Status.PARAMETER;
    case 'object':
      break;
    default:
      return Status.PARAMETER;
  }
  if (v === null || isBytes(v)) return 0;
  if (depth + 1 > VALUE_DEPTH_MAX) return Status.PARAMETER;
  if (Array.isArray(v)) {
    for (const element of v) {
      const code = checkValue(element, depth + 1);
      if (code !== 0) return code;
    }
    return 0;
  }
  if (v instanceof Map) {
    for (const [key, value] of v) {
      if (!isMapKey(key)) return Status.PARAMETER;
      const code = checkValue(value, depth + 1);
      if (code !== 0) return code;
    }
    return 0;
  }
  if (isPlainObject(v)) {
    for (const key of Object.keys(v)) {
      if (key === FORBIDDEN_KEY) return Status.PARAMETER;
      const code = checkValue(v[key], depth + 1);
      if (code !== 0) return code;
    }
    return 0;
  }
  return Status.PARAMETER;
}

/**
 * 0, or the status a PUT's `bins` field fails with: it must be a plain object of
 * 1..BINS_PER_RECORD_MAX bins with valid names and values (null means "delete this bin").
 */
export function checkBinsForWrite(bins: unknown): number {
  if (!isPlainObject(bins)) return Status.PARAMETER;
  const names = Object.keys(bins);
  if (names.length === 0 || names.length > BINS_PER_RECORD_MAX) return Status.PARAMETER;
  for (const name of names) {
    const nameCode = checkBinName(name);
    if (nameCode !== 0) return nameCode;
    const valueCode = checkValue(bins[name], 0);
    if (valueCode !== 0) return valueCode;
  }
  return 0;
}

/**
 * The bins a write leaves: `existing` (ignored when `replace`), overlaid with `incoming`, where a
 * null value deletes its bin. Returns a new object sharing the unchanged values. The result may
 * hold more than BINS_PER_RECORD_MAX bins; the caller checks with `binCount`.
 */
export function mergeBins(existing: Bins | null, incoming: Bins, replace: boolean): Bins {
  const merged: Bins = existing !== null && !replace ? { ...existing } : {};
  for (const name of Object.keys(incoming)) {
    const value = incoming[name];
    if (value === null || value === undefined) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}

/** The named bins that exist, for a GET with a bin list; absent names are left out. */
export function selectBins(bins: Bins, names: readonly string[]): Bins {
  const selected: Bins = {};
  for (const name of names) {
    if (name !== FORBIDDEN_KEY && Object.hasOwn(bins, name)) selected[name] = bins[name];
  }
  return selected;
}

export function binCount(bins: Bins): number {
  return Object.keys(bins).length;
}
