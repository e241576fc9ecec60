// Per-worker statistics in a SharedArrayBuffer: the worker writes plain Float64 slots (no atomics
// needed for monotonic counters read approximately), the primary reads them for INFO without
// sending the worker a message. Slots are named constants, per worker and per namespace.

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
} as const;
const WORKER_SLOTS = 16;

export const NamespaceStat = {
  RECORDS: 0,
  MEMORY_BYTES: 1,
  INDEX_BYTES: 2,
  ARENA_BYTES: 3,
  LIVE_BYTES: 4,
  STOP_WRITES: 5,
  EXPIRED: 6,
  WRITE_FAIL_MEMORY: 7,
} as const;
const NAMESPACE_SLOTS = 8;

export class StatsBlock {
  readonly sab: SharedArrayBuffer;
  readonly values: Float64Array;
  readonly namespaceCount: number;

  private constructor(sab: SharedArrayBuffer, namespaceCount: number) {
    this.sab = sab;
    this.values = new Float64Array(sab);
    this.namespaceCount = namespaceCount;
  }

  static create(namespaceCount: number): StatsBlock {
    return new StatsBlock(new SharedArrayBuffer((WORKER_SLOTS + namespaceCount * NAMESPACE_SLOTS) * 8), namespaceCount);
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
