// One namespace as a worker holds it: the record store plus the namespace's rules for TTL,
// memory and stop-writes. The worker's share of the namespace memory is memoryBytesMax / workers.

import type { NamespaceConfig } from '../config';
import { CITRUSLEAF_EPOCH_SEC, DIGEST_BYTES, GENERATION_MAX, REPAIR_WATCH_DIGESTS_MAX, TTL_SEC_MAX } from '../constants';
import { Ttl } from '../protocol/ops';
import { RecordStore } from '../shm/record-store';

export class Namespace {
  readonly config: NamespaceConfig;
  /** Replaced only by a restore (src/worker/store-control.ts), between batches. */
  store: RecordStore;
  readonly index: number;
  private readonly stopWritesBytes: number;
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

  constructor(index: number, config: NamespaceConfig, workerCount: number, store: RecordStore) {
    this.index = index;
    this.config = config;
    this.store = store;
    this.stopWritesBytes = Math.floor(((config.memoryBytesMax / workerCount) * config.stopWritesPct) / 100);
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

/** Void-time of now + ttlSec, rounded up so a record lives at least its TTL. */
function voidTimeAfter(ttlSec: number, nowMs: number): number {
  return Math.ceil(nowMs / 1000 + ttlSec) - CITRUSLEAF_EPOCH_SEC;
}

/** Whole seconds since the citrusleaf epoch: a record with 0 < voidTime <= this has expired. */
export function nowVoidSec(nowMs: number): number {
  return Math.floor(nowMs / 1000) - CITRUSLEAF_EPOCH_SEC;
}

/** The TTL a client sees: seconds left, or -1 for a record that never expires. */
export function ttlOf(voidTime: number, nowVoid: number): number {
  return voidTime === 0 ? -1 : Math.max(1, voidTime - nowVoid);
}

/** Generations wrap 65535 -> 1, as in Aerospike; 0 means "no record". */
export function nextGeneration(gen: number): number {
  return gen >= GENERATION_MAX ? 1 : gen + 1;
}
