// Shapes server answers into what the API returns. Pure functions of (request, answer body), so
// the mapping is tested without a server; a body of the wrong shape fails with PARAMETER.

import { AerieError, Status } from '../errors';
import { OpType, type Bins } from '../protocol/ops';
import { Key } from './key';
import { isReadAll, operationBin, type OperateOp } from './operations';
import { parameterError } from './validate';

/** Generation and remaining TTL of a record (ttl -1: never expires). */
export interface RecordMetadata {
  gen: number;
  ttl: number;
}

/**
 * A record. `T` is the bins' shape as the caller declares it (`client.get<User>(key)`): the SDK
 * does not check the bins against it, as JSON.parse's callers do not.
 */
export interface AerieRecord<T = Bins> extends RecordMetadata {
  key: Key;
  bins: T;
}

export interface ExistsResult extends RecordMetadata {
  key: Key;
}

export interface OperateResult<T = Bins> extends AerieRecord<T> {
  /** results[i] answers ops[i]; null for operations without a result. */
  results: unknown[];
}

export interface ScanPage<T = Bins> {
  records: AerieRecord<T>[];
  /** Pass it back to continue; null when the scan is complete. */
  cursor: Uint8Array | null;
}

function asObject(body: unknown, what: string): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw parameterError(`malformed ${what} answer`);
  return body as Record<string, unknown>;
}

function asNumber(value: unknown, what: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  throw parameterError(`malformed ${what}: not a number`);
}

function asBins(value: unknown, what: string): Bins {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value) || value instanceof Map || value instanceof Uint8Array) {
    throw parameterError(`malformed ${what}: bins are not a map`);
  }
  return value as Bins;
}

export function toMetadata(body: unknown, what: string): RecordMetadata {
  const fields = asObject(body, what);
  return { gen: asNumber(fields.gen, `${what} gen`), ttl: asNumber(fields.ttl, `${what} ttl`) };
}

export function toRecord(key: Key, body: unknown): AerieRecord {
  const fields = asObject(body, 'get');
  return { key, bins: asBins(fields.bins, 'get'), ...toMetadata(fields, 'get') };
}

/**
 * `bins` gathers what the operations answered: READ results by bin name (a read of all bins
 * merges the whole record), and every other non-null result under the bin it acted on. When two
 * operations answer for one bin the later wins; `results` keeps every answer in order.
 */
export function toOperateResult(key: Key, operations: readonly OperateOp[], body: unknown): OperateResult {
  const fields = asObject(body, 'operate');
  const results = fields.results;
  if (!Array.isArray(results) || results.length !== operations.length) throw parameterError('malformed operate answer: results');
  const bins: Bins = {};
  operations.forEach((op, index) => {
    const result = results[index];
    if (result === null || result === undefined) return;
    if (isReadAll(op)) Object.assign(bins, asBins(result, 'operate read'));
    else if (op[0] === OpType.READ || operationBin(op) !== null) bins[operationBin(op)!] = result;
  });
  return { key, bins, results, ...toMetadata(fields, 'operate') };
}

function recordsOf(body: unknown, what: string, count: number): unknown[] {
  const records = asObject(body, what).records;
  if (!Array.isArray(records) || records.length !== count) throw parameterError(`malformed ${what} answer: records`);
  return records;
}

function batchEntry(entry: unknown, what: string, key: Key): [code: number, gen: number, ttl: number, bins: unknown] {
  if (!Array.isArray(entry) || entry.length < 3) throw parameterError(`malformed ${what} entry`);
  const code = asNumber(entry[0], `${what} code`);
  if (code !== Status.OK && code !== Status.KEY_NOT_FOUND) {
    throw new AerieError(code, `${what} failed for ${key.toString()}`);
  }
  return [code, code === Status.OK ? asNumber(entry[1], `${what} gen`) : 0, code === Status.OK ? asNumber(entry[2], `${what} ttl`) : 0, entry[3]];
}

/**
 * One answer per key, in key order: a record, or null for a key that does not exist. Any other
 * per-key code fails the whole batch with that code.
 */
export function toBatchRecords(keys: readonly Key[], body: unknown): (AerieRecord | null)[] {
  return recordsOf(body, 'batch get', keys.length).map((entry, index) => {
    const [code, gen, ttl, bins] = batchEntry(entry, 'batch get', keys[index]);
    return code === Status.OK ? { key: keys[index], bins: asBins(bins, 'batch get'), gen, ttl } : null;
  });
}

export function toBatchExists(keys: readonly Key[], body: unknown): (ExistsResult | null)[] {
  return recordsOf(body, 'batch exists', keys.length).map((entry, index) => {
    const [code, gen, ttl] = batchEntry(entry, 'batch exists', keys[index]);
    return code === Status.OK ? { key: keys[index], gen, ttl } : null;
  });
}

/** Scan records are [digest, set|nil, key|nil, gen, ttl, bins]; the key is present when it was stored. */
export function toScanPage(ns: string, body: unknown): ScanPage {
  const fields = asObject(body, 'scan');
  if (!Array.isArray(fields.records)) throw parameterError('malformed scan answer: records');
  const cursor = fields.cursor;
  if (cursor !== null && cursor !== undefined && !(cursor instanceof Uint8Array)) throw parameterError('malformed scan cursor');
  const records = fields.records.map((entry: unknown): AerieRecord => {
    if (!Array.isArray(entry) || entry.length < 6) throw parameterError('malformed scan record');
    const [digest, set, userKey, gen, ttl, bins] = entry as unknown[];
    if (!(digest instanceof Uint8Array)) throw parameterError('malformed scan record: digest');
    const key = userKey === null || userKey === undefined ? new Key(ns, set as string | null, { digest }) : new Key(ns, set as string | null, userKey as string, digest);
    return { key, bins: asBins(bins, 'scan'), gen: asNumber(gen, 'scan gen'), ttl: asNumber(ttl, 'scan ttl') };
  });
  return { records, cursor: cursor instanceof Uint8Array ? cursor : null };
}
