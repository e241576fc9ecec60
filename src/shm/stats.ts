// Per-worker statistics in a SharedArrayBuffer: the worker writes plain Float64 slots (no atomics
// needed for monotonic counters read approximately), the primary reads them for INFO without
// sending the worker a message. Slots are named constants, per worker and per namespace; the
// requests by op and result code and their latencies follow them (src/shm/request-metrics.ts).

import { REQUEST_METRICS_BYTES, RequestMetrics } from './request-metrics';

export const WorkerStat = {
  HEARTBEAT_MS: 0,
  REQUESTS: 1,
  READS: 2,
  WRITES: 3,
  DELETES: 4,
  ERRORS: 5,
  NOT_FOUND: 6,
  SCAN_PAGES: 7,
  EXPIRED: 8,
  DEFRAG_BYTES: 9,
  HEAP_USED_BYTES: 10,
  /** The longest event-loop delay in the last stats window (ms): how long the thread went without yielding. */
  EVENT_LOOP_LAG_MS: 11,
  /** Replication messages written to replicas' channels, and applied from masters' (docs/replication.md). */
  REPL_SENT: 12,
  REPL_APPLIED: 13,
  /** Times a channel had no room, so its replica will be copied whole. */
  REPL_OVERFLOWS: 14,
  /** Records this worker copied to rebuilding workers. */
  MIGRATED_RECORDS: 15,
  /**
   * The request message the worker is applying: its offset plus one (0: none) and its length, in
   * the buffer APPLYING_SOURCE names (ApplyingSource). A thread that dies with it set died
   * applying that request.
   */
  APPLYING_OFFSET: 16,
  APPLYING_LENGTH: 17,
  /** Reads this worker's endpoint served itself (src/worker/local-requests.ts), and requests it forwarded. */
  LOCAL_REQUESTS: 18,
  FORWARDED: 19,
  APPLYING_SOURCE: 20,
} as const;
const WORKER_SLOTS = 21;

/** Where the request a worker is applying lies (WorkerStat.APPLYING_SOURCE). */
export const ApplyingSource = {
  /** The request ring the primary writes. */
  RING: 0,
  /** Its endpoint's queue of requests applied in the loop (src/worker/local-writes.ts). */
  LOCAL_QUEUE: 1,
  /** Its endpoint's buffer of a request applied at once (src/worker/local-requests.ts). */
  LOCAL_MESSAGE: 2,
} as const;

export const NamespaceStat = {
  RECORDS: 0,
  MEMORY_BYTES: 1,
  INDEX_BYTES: 2,
  ARENA_BYTES: 3,
  LIVE_BYTES: 4,
  STOP_WRITES: 5,
  EXPIRED: 6,
  WRITE_FAIL_MEMORY: 7,
  // The log watermarks of a file namespace (LogWatermarks below): written with Atomics only.
  LOG_APPENDED_SEQUENCE: 8,
  LOG_DURABLE_SEQUENCE: 9,
  LOG_ACTIVE_SEGMENT: 10,
  LOG_FAILED: 11,
  LOG_DRAIN_EPOCH: 12,
  LOG_INCARNATION: 13,
  LOG_STORE_AHEAD: 14,
  /** Records of partitions this worker masters now (RECORDS counts every copy it holds). */
  MASTER_RECORDS: 15,
  /** A file namespace's disk state on this worker (src/storage/disk-space.ts DiskState), -1: no log. */
  DISK_STATE: 16,
  /** Free bytes on its log's device (estimated between two statfs reads), -1 unknown. */
  DISK_FREE_BYTES: 17,
  /** The reserve under which writes stop. */
  DISK_RESERVE_BYTES: 18,
  /** Requests refused because of the disk since the log opened. */
  DISK_REFUSED: 19,
  /** A file namespace's log: bytes made durable, fdatasync/fsync calls, and their summed duration (µs). */
  LOG_BYTES_SYNCED: 20,
  LOG_SYNCS: 21,
  LOG_SYNC_MICROS: 22,
} as const;
const NAMESPACE_SLOTS = 24;

/** The values of NamespaceStat.STOP_WRITES: whether a worker refuses writes, and which limit does. */
export const StopWritesReason = {
  NONE: 0,
  /** Memory use passed stopWritesPct of the worker's share. */
  STOP_WRITES_PCT: 1,
  /** Below stopWritesPct, the store had no room for a block or a larger index within the share. */
  MEMORY_BYTES_MAX: 2,
} as const;

export class StatsBlock {
  readonly sab: SharedArrayBuffer;
  readonly values: Float64Array;
  readonly namespaceCount: number;
  /** The thread's requests by op and code, and their latencies, after the slots above. */
  readonly requests: RequestMetrics;

  private constructor(sab: SharedArrayBuffer, namespaceCount: number) {
    const slotBytes = (WORKER_SLOTS + namespaceCount * NAMESPACE_SLOTS) * 8;
    this.sab = sab;
    this.values = new Float64Array(sab, 0, slotBytes / 8);
    this.namespaceCount = namespaceCount;
    this.requests = new RequestMetrics(sab, slotBytes);
  }

  static create(namespaceCount: number): StatsBlock {
    return new StatsBlock(new SharedArrayBuffer((WORKER_SLOTS + namespaceCount * NAMESPACE_SLOTS) * 8 + REQUEST_METRICS_BYTES), namespaceCount);
  }

  static attach(sab: SharedArrayBuffer, namespaceCount: number): StatsBlock {
    return new StatsBlock(sab, namespaceCount);
  }

  add(slot: number, n = 1): void {
    this.values[slot] += n;
  }

  get(slot: number): number {
    return this.values[slot];
  }

  set(slot: number, v: number): void {
    this.values[slot] = v;
  }

  nsSlot(nsIndex: number, slot: number): number {
    return WORKER_SLOTS + nsIndex * NAMESPACE_SLOTS + slot;
  }
}

/**
 * What a worker tells a compaction job about one namespace's log, through the namespace's slots
 * of its stats block. The worker applies a write to its record store before the write's log
 * bytes are durable, so a job that sees a newer version in the store may drop the older one on
 * disk only after the newer one's record is durable; these watermarks let it wait for that.
 *
 * - drain epoch (Int32, odd while a drain runs): every logged write happens inside a drain, and
 *   the appended sequence is published before the epoch turns even. A job that read the store and
 *   then sees the epoch even (or odd, then changed) knows the appended sequence covers every write
 *   it saw.
 * - appended / durable sequence, active segment, failed: from the writer (durable via onSync).
 * - incarnation: bumped by each thread that opens the log; a change means the worker restarted.
 * - store ahead: set (for good, until a cold start) when a thread adopts a store whose previous
 *   thread died inside a drain or before its appended records were written: the store may then
 *   hold versions the log never got, and no job may trust it.
 *
 * Sequences are exact up to 2^53 and published as BigInt64 with Atomics (a Float64 may tear);
 * the epoch is a wrapping Int32, so a drain costs two Atomics.add and no allocation.
 */
export class LogWatermarks {
  private readonly words: BigInt64Array;
  private readonly halves: Int32Array;
  private readonly base: number;
  /** Last appended sequence published (the worker publishes only changes). */
  private appendedPublished = -1;

  private readonly values: Float64Array;

  constructor(stats: StatsBlock, nsIndex: number) {
    this.words = new BigInt64Array(stats.sab);
    this.halves = new Int32Array(stats.sab);
    this.values = stats.values;
    this.base = stats.nsSlot(nsIndex, 0);
  }

  // ---- worker side ----

  /** A thread opened the log; `adopted` when it took over a dead thread's store. */
  opened(adopted: boolean, recoveredLastSequence: number, activeSegment: number): void {
    const epochIndex = this.epochIndex();
    const diedInDrain = (Atomics.load(this.halves, epochIndex) & 1) === 1;
    const lostAppends = this.load(NamespaceStat.LOG_APPENDED_SEQUENCE) > recoveredLastSequence;
    if (adopted && (diedInDrain || lostAppends)) this.store(NamespaceStat.LOG_STORE_AHEAD, 1);
    if (diedInDrain) Atomics.add(this.halves, epochIndex, 1);
    this.store(NamespaceStat.LOG_FAILED, 0);
    this.store(NamespaceStat.LOG_APPENDED_SEQUENCE, recoveredLastSequence);
    this.appendedPublished = recoveredLastSequence;
    this.store(NamespaceStat.LOG_DURABLE_SEQUENCE, recoveredLastSequence);
    this.store(NamespaceStat.LOG_ACTIVE_SEGMENT, activeSegment);
    this.store(NamespaceStat.LOG_INCARNATION, this.load(NamespaceStat.LOG_INCARNATION) + 1);
  }

  beginDrain(): void {
    Atomics.add(this.halves, this.epochIndex(), 1);
  }

  /** After a drain: everything it logged is appended up to `appendedSequence`. */
  endDrain(appendedSequence: number): void {
    if (appendedSequence !== this.appendedPublished) {
      this.appendedPublished = appendedSequence;
      this.store(NamespaceStat.LOG_APPENDED_SEQUENCE, appendedSequence);
    }
    Atomics.add(this.halves, this.epochIndex(), 1);
  }

  /** After a sync that made `bytes` durable in `micros` (counted for /metrics: plain adds, one writer). */
  synced(durableSequence: number, activeSegment: number, bytes = 0, micros = 0): void {
    this.store(NamespaceStat.LOG_DURABLE_SEQUENCE, durableSequence);
    this.store(NamespaceStat.LOG_ACTIVE_SEGMENT, activeSegment);
    this.values[this.base + NamespaceStat.LOG_BYTES_SYNCED] += bytes;
    this.values[this.base + NamespaceStat.LOG_SYNCS] += 1;
    this.values[this.base + NamespaceStat.LOG_SYNC_MICROS] += micros;
  }

  failed(): void {
    this.store(NamespaceStat.LOG_FAILED, 1);
  }

  // ---- reader side (jobs, INFO) ----

  get drainEpoch(): number {
    return Atomics.load(this.halves, this.epochIndex());
  }
  get appendedSequence(): number {
    return this.load(NamespaceStat.LOG_APPENDED_SEQUENCE);
  }
  get durableSequence(): number {
    return this.load(NamespaceStat.LOG_DURABLE_SEQUENCE);
  }
  /** The segment being appended to; every lower-numbered segment is sealed and durable. 0: no log open. */
  get activeSegment(): number {
    return this.load(NamespaceStat.LOG_ACTIVE_SEGMENT);
  }
  get isFailed(): boolean {
    return this.load(NamespaceStat.LOG_FAILED) !== 0;
  }
  get incarnation(): number {
    return this.load(NamespaceStat.LOG_INCARNATION);
  }
  get storeAhead(): boolean {
    return this.load(NamespaceStat.LOG_STORE_AHEAD) !== 0;
  }

  private epochIndex(): number {
    // The first Int32 of the 8-byte slot; the slot is never read as a BigInt.
    return (this.base + NamespaceStat.LOG_DRAIN_EPOCH) * 2;
  }
  private load(slot: number): number {
    return Number(Atomics.load(this.words, this.base + slot));
  }
  private store(slot: number, value: number): void {
    Atomics.store(this.words, this.base + slot, BigInt(value));
  }
}
