// Requests by op and result code, and a latency histogram per op, in shared memory. Each thread
// that answers requests writes its own block (a worker: the tail of its stats block; the
// primary: a block of its own for the reads it answers from shared memory and the requests it
// refuses), with plain Float64 adds into fixed slots: no allocation and no atomics per request,
// one writer per block. /metrics adds the blocks up when it is scraped (src/ops/).

import { Op } from '../protocol/ops';

/** Op numbers below this are counted (src/protocol/ops.ts numbers the data ops 2 to 16). */
export const REQUEST_METRICS_OPS = 20;
/** Result codes 0 to CODES - 2 each have a slot; any other code is counted in the last one. */
export const REQUEST_METRICS_CODES = 128;
export const REQUEST_METRICS_CODE_OTHER = REQUEST_METRICS_CODES - 1;
/**
 * Latency buckets: bucket i counts requests that took at most 2^(i + FIRST_SHIFT) microseconds
 * (16 µs, 32 µs, … about 1 s); the last one counts every slower request. Powers of two make the
 * bucket one count-leading-zeros away, with no search.
 */
export const LATENCY_BUCKET_FIRST_SHIFT = 4;
export const LATENCY_BUCKETS_FINITE = 17;
/** Finite buckets plus the one past the last bound (+Inf). */
const LATENCY_SLOTS = LATENCY_BUCKETS_FINITE + 1;

const COUNTS_BASE = 0;
const BUCKETS_BASE = COUNTS_BASE + REQUEST_METRICS_OPS * REQUEST_METRICS_CODES;
const SUMS_BASE = BUCKETS_BASE + REQUEST_METRICS_OPS * LATENCY_SLOTS;
const SLOTS = SUMS_BASE + REQUEST_METRICS_OPS;
/** Bytes of one block (a multiple of 8, so a block can follow Float64 slots in a buffer). */
export const REQUEST_METRICS_BYTES = SLOTS * 8;

/** The upper bound of finite bucket `index`, in seconds (Prometheus' unit). */
export function latencyBucketBoundSec(index: number): number {
  return 2 ** (index + LATENCY_BUCKET_FIRST_SHIFT) / 1e6;
}

/** The bucket of a latency in microseconds: the first whose bound it does not pass. */
export function latencyBucket(micros: number): number {
  const us = Math.ceil(micros);
  if (us <= 1 << LATENCY_BUCKET_FIRST_SHIFT) return 0;
  // ceil(log2(us)) for us >= 2 is 32 - clz32(us - 1); a latency past 2^31 µs lands in +Inf.
  const index = 32 - Math.clz32(Math.min(us, 2 ** 31) - 1) - LATENCY_BUCKET_FIRST_SHIFT;
  return Math.min(index, LATENCY_BUCKETS_FINITE);
}

export class RequestMetrics {
  readonly values: Float64Array;

  constructor(sab: SharedArrayBuffer, byteOffset: number) {
    this.values = new Float64Array(sab, byteOffset, SLOTS);
  }

  /** A block of its own (the primary's). */
  static create(): RequestMetrics {
    return new RequestMetrics(new SharedArrayBuffer(REQUEST_METRICS_BYTES), 0);
  }

  /** One request of `op` answered `code` after `micros` microseconds. Ops past the table are not counted. */
  record(op: number, code: number, micros: number): void {
    if (op >= REQUEST_METRICS_OPS) return;
    const v = this.values;
    v[COUNTS_BASE + op * REQUEST_METRICS_CODES + codeSlot(code)] += 1;
    v[BUCKETS_BASE + op * LATENCY_SLOTS + latencyBucket(micros)] += 1;
    v[SUMS_BASE + op] += micros;
  }

  /**
   * One request of a kind timed one in `weight` (the primary's direct reads): counted once by
   * code, and in the histogram as `weight` requests of its latency, so the histogram keeps the
   * mix of timed-always and sampled requests right.
   */
  recordSampled(op: number, code: number, micros: number, weight: number): void {
    if (op >= REQUEST_METRICS_OPS) return;
    const v = this.values;
    v[COUNTS_BASE + op * REQUEST_METRICS_CODES + codeSlot(code)] += 1;
    v[BUCKETS_BASE + op * LATENCY_SLOTS + latencyBucket(micros)] += weight;
    v[SUMS_BASE + op] += micros * weight;
  }

  /** A request refused before any work was timed: counted by code, not in the histogram. */
  count(op: number, code: number): void {
    if (op >= REQUEST_METRICS_OPS) return;
    this.values[COUNTS_BASE + op * REQUEST_METRICS_CODES + codeSlot(code)] += 1;
  }

  requests(op: number, codeIndex: number): number {
    return this.values[COUNTS_BASE + op * REQUEST_METRICS_CODES + codeIndex];
  }

  /** Requests in bucket `index` alone (not cumulative); index LATENCY_BUCKETS_FINITE is past the last bound. */
  bucket(op: number, index: number): number {
    return this.values[BUCKETS_BASE + op * LATENCY_SLOTS + index];
  }

  latencySumMicros(op: number): number {
    return this.values[SUMS_BASE + op];
  }
}

/** The ops counted, by the name /metrics gives them (the client's data requests). */
export const COUNTED_OPS: ReadonlyArray<readonly [op: number, name: string]> = [
  [Op.PUT, 'put'],
  [Op.GET, 'get'],
  [Op.EXISTS, 'exists'],
  [Op.REMOVE, 'remove'],
  [Op.TOUCH, 'touch'],
  [Op.OPERATE, 'operate'],
  [Op.BATCH_GET, 'batch_get'],
  [Op.BATCH_EXISTS, 'batch_exists'],
  [Op.SCAN, 'scan'],
  [Op.TRUNCATE, 'truncate'],
];
const COUNTED = new Uint8Array(REQUEST_METRICS_OPS);
for (const [op] of COUNTED_OPS) COUNTED[op] = 1;

export function isDataOp(op: number): boolean {
  return op < REQUEST_METRICS_OPS && COUNTED[op] === 1;
}

/**
 * The op a request is counted under: an element of a batch (sent to its worker as a GET or an
 * EXISTS) counts under its batch's op, so `get` means single-key reads.
 */
export function countedOp(op: number, batchElement: boolean): number {
  if (!batchElement) return op;
  return op === Op.GET ? Op.BATCH_GET : op === Op.EXISTS ? Op.BATCH_EXISTS : op;
}

function codeSlot(code: number): number {
  return code >= 0 && code < REQUEST_METRICS_CODE_OTHER ? code : REQUEST_METRICS_CODE_OTHER;
}
