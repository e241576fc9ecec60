// One namespace as a worker holds it: the record store plus the namespace's rules for TTL,
// memory and stop-writes. The worker's share of the namespace memory is memoryBytesMax / workers.

import type { NamespaceConfig } from '../config';
import { DIGEST_BYTES, GENERATION_MAX, REPAIR_WATCH_DIGESTS_MAX, TTL_SEC_MAX } from '../constants';
import { Ttl } from '../protocol/ops';
import type { RecordStore } from '../shm/record-store';
import { StopWritesReason } from '../shm/stats';
import { workerShareBytes } from '../memory-sizing';
import { voidTimeAfter } from '../shm/void-time';

export class Namespace {
  readonly config: NamespaceConfig;
  /** Replaced only by a restore (src/worker/store-control.ts), between batches. */
  store: RecordStore;
  readonly index: number;
  private readonly stopWritesBytes: number;
  private readonly shareBytes: number;
  private readonly workerIndex: number;
  /**
   * The store refused the last write that needed memory (no block or index growth to be had
   * within the worker's share) though stop-writes had not begun; the next write it takes clears it.
   */
  memoryRefused = false;
  /** Writes refused for memory since the stats last read this (the log counts a stop-writes episode). */
  memoryRefusals = 0;
  /** Where the background expiry sweep resumes. */
  sweepSlot = 0;
  /**
   * While a repair is under way (src/worker/store-control.ts): the digests written or deleted
   * since it began (hex), so it never puts back an older version over a newer one.
   */
  repairWatch: Set<string> | null = null;
  /** Too many writes to track, or a truncate: the repair leaves every record as it is. */
  repairWatchOverflow = false;
  /**
   * The latest truncate cut-off per set id (SCAN_ALL_SETS: the whole namespace): a replicated
   * image last updated at or before it was truncated on its master, or is about to be.
   */
  readonly truncateCutoffs = new Map<number, number>();
  /**
   * False when the store was adopted from a thread that died: it may hold records whose log
   * appends were still buffered, so a record kept as is by a copy round is logged again.
   */
  storeMatchesLog = true;
  /** The log of a file-backed namespace; null in memory. */
  log: import('./persistence').NamespaceLog | null = null;

  constructor(index: number, config: NamespaceConfig, workerCount: number, store: RecordStore, workerIndex = 0) {
    this.index = index;
    this.config = config;
    this.store = store;
    this.workerIndex = workerIndex;
    this.shareBytes = workerShareBytes(config.memoryBytesMax, workerCount);
    this.stopWritesBytes = Math.floor((this.shareBytes * config.stopWritesPct) / 100);
  }

  /** Notes a write or delete of the digest at bytes[offset] for the repair under way. */
  noteWrite(bytes: Uint8Array, offset: number): void {
    if (this.repairWatch === null || this.repairWatchOverflow) return;
    if (this.repairWatch.size >= REPAIR_WATCH_DIGESTS_MAX) {
      this.repairWatchOverflow = true;
      return;
    }
    this.repairWatch.add(Buffer.from(bytes.buffer, bytes.byteOffset + offset, DIGEST_BYTES).toString('hex'));
  }

  /** True once memory use passes stop-writes: writes fail with SERVER_MEM, reads and deletes go on. */
  stopWrites(): boolean {
    return this.store.memoryBytes >= this.stopWritesBytes;
  }

  /** What INFO shows: the state that refuses writes, and which limit it is (shm/stats.ts). */
  stopWritesReason(): number {
    if (this.stopWrites()) return StopWritesReason.STOP_WRITES_PCT;
    return this.memoryRefused ? StopWritesReason.MEMORY_BYTES_MAX : StopWritesReason.NONE;
  }

  /** Why a write is refused in stop-writes, with the figures (built only on a refusal). */
  stopWritesMessage(): string {
    const used = this.store.memoryBytes;
    return (
      `namespace ${this.config.name}: stop-writes: worker ${this.workerIndex} uses ${used} bytes (index ${this.store.index.memoryBytes}, ` +
      `records ${this.store.arena.bytesAllocated}) of its ${this.shareBytes}-byte share of memoryBytesMax ${this.config.memoryBytesMax}: ` +
      `${((used / this.shareBytes) * 100).toFixed(1)} %, stopWritesPct ${this.config.stopWritesPct}`
    );
  }

  /** Why the store itself refused a write for memory (the arena or index limit), with the figures. */
  memoryLimitMessage(reason: string): string {
    return (
      `namespace ${this.config.name}: memoryBytesMax: worker ${this.workerIndex} at ${this.store.memoryBytes} of its ${this.shareBytes}-byte share ` +
      `(${((this.store.memoryBytes / this.shareBytes) * 100).toFixed(1)} %, below stopWritesPct ${this.config.stopWritesPct}): ${reason}`
    );
  }

  /**
   * The void-time for a write's ttl field, or -1 when the ttl is invalid.
   * ttl -2 keeps the current void-time (a new record gets the namespace default).
   */
  voidTimeFor(ttl: number, currentVoidTime: number, exists: boolean, nowMs: number): number {
    if (ttl === Ttl.DONT_UPDATE) return exists ? currentVoidTime : this.voidTimeFor(Ttl.NAMESPACE_DEFAULT, 0, false, nowMs);
    if (ttl === Ttl.NEVER_EXPIRE) return 0;
    if (ttl === Ttl.NAMESPACE_DEFAULT) {
      return this.config.defaultTtlSec === 0 ? 0 : voidTimeAfter(this.config.defaultTtlSec, nowMs);
    }
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > TTL_SEC_MAX) return -1;
    return voidTimeAfter(ttl, nowMs);
  }
}

/** Generations wrap 65535 -> 1, as in Aerospike; 0 means "no record". */
export function nextGeneration(gen: number): number {
  return gen >= GENERATION_MAX ? 1 : gen + 1;
}
