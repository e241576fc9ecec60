// One namespace's records on one worker: the digest index (IndexTable) plus the record bytes
// (Arena). Writes are copy-on-write: a new copy is appended, the index is pointed at it, and the
// old copy's space is freed, so a reader never sees a record change under it in place (except
// the fixed-size metadata of updateMeta). Defragmentation and expiry run in bounded steps.
//
// Record layout in the arena (little-endian, 8-aligned start):
//   0 u32 totalBytes (header + key + bins)   4 u16 generation   6 u16 setId   8 digest[20]
//   28 u32 voidTime   32 f64 lastUpdateMs   40 u32 keyBytes (0 = no key)   44 u32 binsBytes
//   48 key bytes, then bin bytes
// The header repeats the index's fields so a block can be walked (and the index rebuilt) alone.
//
// Seqlock: word 0 of `controlSab` is odd while this thread mutates the store and even otherwise.
// Another thread reads it, reads what it needs, and reads it again: if the two values differ or
// the first was odd, what it read may be half written and it must retry (or, after this thread
// died, treat the store as suspect). Views returned by keyBytes/binsBytes are valid only until
// the next mutation of the store, and slot numbers only until the next write (an insert may
// rehash the index).

import { fail } from '../assert';
import { copyRange } from '../bytes';
import { DIGEST_BYTES, GENERATION_MAX, SETS_PER_NAMESPACE_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import { Arena, alignBytes } from './arena';
import { IndexTable } from './index-table';
import { hasExpired } from './void-time';

export const RECORD_HEADER_BYTES = 48;
/** Byte offsets of a record header's fields (the layout above), for readers on other threads. */
export const RecordHeader = {
  TOTAL_BYTES: 0,
  GENERATION: 4,
  SET_ID: 6,
  DIGEST: 8,
  VOID_TIME: 28,
  LAST_UPDATE_MS: 32,
  KEY_BYTES: 40,
  BINS_BYTES: 44,
} as const;
const R_TOTAL_BYTES = RecordHeader.TOTAL_BYTES;
const R_GENERATION = RecordHeader.GENERATION;
const R_SET_ID = RecordHeader.SET_ID;
const R_DIGEST = RecordHeader.DIGEST;
const R_VOID_TIME = RecordHeader.VOID_TIME;
const R_LAST_UPDATE_MS = RecordHeader.LAST_UPDATE_MS;
const R_KEY_BYTES = RecordHeader.KEY_BYTES;
const R_BINS_BYTES = RecordHeader.BINS_BYTES;

/** Control buffer words (Int32). The seqlock has its own 64-byte line. */
const C_WRITE_EPOCH = 0;
const CONTROL_BYTES = 64;

export interface RecordStoreOptions {
  /** Index plus arena blocks may not exceed this. */
  memoryBytesMax: number;
  indexSlotsInitial?: number;
  /** Index capacity limit (tests lower it). */
  indexSlotsMax?: number;
  blockBytes?: number;
  blocksMax?: number;
  onIndexResize?: (sab: SharedArrayBuffer) => void;
  onBlock?: (blockIndex: number, sab: SharedArrayBuffer) => void;
  /** Called now and then during long index rehashes (the worker beats its heartbeat). */
  onBusy?: () => void;
}

/** The shared memory a dead thread's store leaves behind, enough to adopt it. */
export interface RecordStoreAdoption {
  indexSab: SharedArrayBuffer;
  controlSab: SharedArrayBuffer;
  arenaStatsSab: SharedArrayBuffer;
  blocks: ReadonlyArray<SharedArrayBuffer | null | undefined>;
}

export interface RepairReport {
  checked: number;
  /** Entries whose metadata was restored from the record header. */
  fixed: number;
  /** Entries whose location did not hold their record (the unacknowledged write in flight). */
  dropped: number;
}

export interface RecordStoreStats {
  records: number;
  indexBytes: number;
  arenaBytes: number;
  liveBytes: number;
  memoryBytes: number;
}

export class RecordStore {
  readonly index: IndexTable;
  readonly arena: Arena;
  readonly controlSab: SharedArrayBuffer;
  readonly memoryBytesMax: number;
  /** Records removed by sweepExpired since creation. */
  expiredCount = 0;

  private readonly control: Int32Array;
  /** The block defragStep is walking, its epoch when the walk began, and the walk's offset. */
  private defragBlock = -1;
  private defragEpoch = 0;
  private defragOffset = 0;

  private constructor(index: IndexTable, arena: Arena, memoryBytesMax: number, controlSab?: SharedArrayBuffer) {
    this.index = index;
    this.arena = arena;
    this.memoryBytesMax = memoryBytesMax;
    this.controlSab = controlSab ?? new SharedArrayBuffer(CONTROL_BYTES);
    this.control = new Int32Array(this.controlSab);
  }

  static create(options: RecordStoreOptions): RecordStore {
    const index = IndexTable.create(options.indexSlotsInitial, {
      onResize: options.onIndexResize,
      onBusy: options.onBusy,
      slotsMax: options.indexSlotsMax,
    });
    if (index.memoryBytes > options.memoryBytesMax) {
      throw new AerieError(Status.SERVER_MEM, 'record store: the initial index exceeds memoryBytesMax');
    }
    const arena = new Arena({ blockBytes: options.blockBytes, blocksMax: options.blocksMax, onBlock: options.onBlock });
    const store = new RecordStore(index, arena, options.memoryBytesMax);
    store.rebalanceLimits();
    return store;
  }

  /**
   * Takes over the store a dead thread left in shared memory (Aerospike's fast restart). When its
   * seqlock shows a mutation was under way, `repair()` runs first; the result says what it did.
   */
  static adopt(options: RecordStoreOptions & RecordStoreAdoption): { store: RecordStore; repair: RepairReport | null } {
    const index = IndexTable.attach(options.indexSab, { onResize: options.onIndexResize, onBusy: options.onBusy, slotsMax: options.indexSlotsMax });
    if (index.retired) fail('RecordStore.adopt: the index buffer was replaced by a rehash the primary never saw');
    const arena = new Arena({
      blockBytes: options.blockBytes,
      blocksMax: options.blocksMax,
      onBlock: options.onBlock,
      adopt: { statsSab: options.arenaStatsSab, blocks: options.blocks },
    });
    const store = new RecordStore(index, arena, options.memoryBytesMax, options.controlSab);
    store.rebalanceLimits();
    const epoch = Atomics.load(store.control, C_WRITE_EPOCH);
    const repair = (epoch & 1) === 1 ? store.repair() : null;
    return { store, repair };
  }

  /**
   * Makes the store consistent after a thread died inside a mutation. Writes copy the record
   * before pointing the index at it, so every index entry names a complete record; only the
   * index's copy of the metadata, or the arena's live-byte counts, can be stale. The record
   * header is taken as the truth for metadata, an entry whose location does not hold its digest
   * is dropped (it can only be the write in flight, which was never acknowledged), and live bytes
   * are recounted from the index.
   */
  repair(): RepairReport {
    const report: RepairReport = { checked: 0, fixed: 0, dropped: 0 };
    const live = new Float64Array(this.arena.blocksMax);
    const digest = new Uint8Array(DIGEST_BYTES);
    for (let slot = this.index.nextLive(0); slot >= 0; slot = this.index.nextLive(slot + 1)) {
      report.checked++;
      const location = this.index.location(slot);
      const block = Arena.blockIndexOf(location);
      const at = this.arena.offsetOf(location);
      const blocks = this.arena.blocks();
      const sab = block < blocks.length ? blocks[block] : null;
      let sound = sab !== null && at + RECORD_HEADER_BYTES <= this.arena.blockBytes;
      if (sound) {
        const bytes = this.arena.blockOf(location);
        this.index.copyDigest(slot, digest, 0);
        for (let i = 0; i < DIGEST_BYTES && sound; i++) sound = bytes[at + R_DIGEST + i] === digest[i];
      }
      if (!sound) {
        this.index.remove(slot);
        report.dropped++;
        continue;
      }
      const view = this.arena.dataViewOf(location);
      const gen = view.getUint16(at + R_GENERATION, true);
      const setId = view.getUint16(at + R_SET_ID, true);
      const voidTime = view.getUint32(at + R_VOID_TIME, true);
      if (gen !== this.index.generation(slot) || setId !== this.index.setId(slot) || voidTime !== this.index.voidTime(slot)) {
        this.index.setMeta(slot, gen, setId, voidTime);
        report.fixed++;
      }
      live[block] += alignBytes(view.getUint32(at + R_TOTAL_BYTES, true));
    }
    this.arena.resetLiveBytes(live);
    // The mutation that was under way is over: close the seqlock.
    Atomics.store(this.control, C_WRITE_EPOCH, (Atomics.load(this.control, C_WRITE_EPOCH) + 1) & ~1);
    return report;
  }

  get resizeEpoch(): number {
    return this.index.resizeEpoch;
  }
  get writeEpoch(): number {
    return Atomics.load(this.control, C_WRITE_EPOCH);
  }
  get recordCount(): number {
    return this.index.liveCount;
  }

  /** The record's slot, or -1. Does not check expiry: the caller compares voidTime to now. */
  lookup(digest: Uint8Array, offset: number): number {
    return this.index.find(digest, offset);
  }

  generation(slot: number): number {
    return this.index.generation(slot);
  }
  voidTime(slot: number): number {
    return this.index.voidTime(slot);
  }
  setId(slot: number): number {
    return this.index.setId(slot);
  }
  partitionId(slot: number): number {
    return this.index.partitionId(slot);
  }
  copyDigest(slot: number, out: Uint8Array, outOffset: number): void {
    this.index.copyDigest(slot, out, outOffset);
  }
  nextLive(slot: number): number {
    return this.index.nextLive(slot);
  }
  lastUpdateMs(slot: number): number {
    const location = this.index.location(slot);
    return this.arena.dataViewOf(location).getFloat64(this.arena.offsetOf(location) + R_LAST_UPDATE_MS, true);
  }

  /**
   * Allocation-free access: the block holding the record and the record's start in it; the key
   * and bins follow the header at the lengths keyLength/binsLength give.
   */
  recordBlock(slot: number): Uint8Array {
    return this.arena.blockOf(this.index.location(slot));
  }
  recordOffset(slot: number): number {
    return this.arena.offsetOf(this.index.location(slot));
  }
  keyLength(slot: number): number {
    const location = this.index.location(slot);
    return this.arena.dataViewOf(location).getUint32(this.arena.offsetOf(location) + R_KEY_BYTES, true);
  }
  binsLength(slot: number): number {
    const location = this.index.location(slot);
    return this.arena.dataViewOf(location).getUint32(this.arena.offsetOf(location) + R_BINS_BYTES, true);
  }

  /** The stored msgpack of the user key, or null; a view valid until the next mutation. */
  keyBytes(slot: number): Uint8Array | null {
    const keyLength = this.keyLength(slot);
    if (keyLength === 0) return null;
    const start = this.recordOffset(slot) + RECORD_HEADER_BYTES;
    return this.recordBlock(slot).subarray(start, start + keyLength);
  }

  /** The stored bins; a view valid until the next mutation. */
  binsBytes(slot: number): Uint8Array {
    const start = this.recordOffset(slot) + RECORD_HEADER_BYTES + this.keyLength(slot);
    return this.recordBlock(slot).subarray(start, start + this.binsLength(slot));
  }

  /**
   * Inserts or replaces the record of `digest` and returns its slot (valid until the next write
   * or removal, which may rehash). Throws RECORD_TOO_BIG when it cannot fit in one block and
   * SERVER_MEM when memory is exhausted; in both cases the store is unchanged.
   */
  write(
    digest: Uint8Array,
    offset: number,
    generation: number,
    setId: number,
    voidTime: number,
    lastUpdateMs: number,
    key: Uint8Array | null,
    keyStart: number,
    keyEnd: number,
    bins: Uint8Array,
    binsStart: number,
    binsEnd: number,
  ): number {
    const keyLength = key === null ? 0 : keyEnd - keyStart;
    const binsLength = binsEnd - binsStart;
    // Caller bugs are caught before anything is allocated, so they cannot leak arena space either.
    if (keyLength < 0 || binsLength < 0) fail('RecordStore.write: negative key or bins range');
    if (!(generation >= 0 && generation <= GENERATION_MAX && setId >= 0 && setId <= SETS_PER_NAMESPACE_MAX)) {
      fail(`RecordStore.write: generation ${generation} or setId ${setId} out of range`);
    }
    const totalBytes = RECORD_HEADER_BYTES + keyLength + binsLength;
    if (totalBytes > this.arena.blockBytes) {
      throw new AerieError(Status.RECORD_TOO_BIG, `record of ${totalBytes} bytes exceeds the block size ${this.arena.blockBytes}`);
    }
    this.beginMutation();
    try {
      const slot = this.index.find(digest, offset);
      if (slot < 0) {
        // Grow the index first: if that fails nothing has been allocated yet.
        this.rebalanceLimits();
        this.index.reserveOne();
      }
      this.rebalanceLimits();
      const location = this.arena.allocate(totalBytes);
      const block = this.arena.blockOf(location);
      const view = this.arena.dataViewOf(location);
      const at = this.arena.offsetOf(location);
      view.setUint32(at + R_TOTAL_BYTES, totalBytes, true);
      view.setUint16(at + R_GENERATION, generation, true);
      view.setUint16(at + R_SET_ID, setId, true);
      for (let i = 0; i < DIGEST_BYTES; i++) block[at + R_DIGEST + i] = digest[offset + i];
      view.setUint32(at + R_VOID_TIME, voidTime, true);
      view.setFloat64(at + R_LAST_UPDATE_MS, lastUpdateMs, true);
      view.setUint32(at + R_KEY_BYTES, keyLength, true);
      view.setUint32(at + R_BINS_BYTES, binsLength, true);
      if (key !== null) copyRange(key, keyStart, keyEnd, block, at + RECORD_HEADER_BYTES);
      copyRange(bins, binsStart, binsEnd, block, at + RECORD_HEADER_BYTES + keyLength);
      if (slot < 0) return this.index.insert(digest, offset, generation, setId, voidTime, location);
      const oldLocation = this.index.location(slot);
      this.index.setMeta(slot, generation, setId, voidTime);
      this.index.setLocation(slot, location);
      this.freeRecord(oldLocation);
      return slot;
    } finally {
      this.endMutation();
    }
  }

  /** Changes generation, void-time and last-update time in place (touch). */
  updateMeta(slot: number, generation: number, voidTime: number, lastUpdateMs: number): void {
    this.beginMutation();
    try {
      this.index.setMeta(slot, generation, this.index.setId(slot), voidTime);
      const location = this.index.location(slot);
      const view = this.arena.dataViewOf(location);
      const at = this.arena.offsetOf(location);
      view.setUint16(at + R_GENERATION, generation, true);
      view.setUint32(at + R_VOID_TIME, voidTime, true);
      view.setFloat64(at + R_LAST_UPDATE_MS, lastUpdateMs, true);
    } finally {
      this.endMutation();
    }
  }

  remove(slot: number): void {
    this.beginMutation();
    try {
      const location = this.index.location(slot);
      this.index.remove(slot);
      this.freeRecord(location);
    } finally {
      this.endMutation();
    }
  }

  /**
   * Removes an entry whose record failed verification. Its bytes are freed only when the header's
   * lengths are sane; otherwise they stay counted as used until the block is reused, rather than
   * trusting a damaged length. Returns whether the bytes were freed.
   */
  removeDamaged(slot: number): boolean {
    this.beginMutation();
    try {
      const location = this.index.location(slot);
      this.index.remove(slot);
      const block = this.arena.blocks()[Arena.blockIndexOf(location)];
      const offset = this.arena.offsetOf(location);
      if (!block || offset + RECORD_HEADER_BYTES > block.byteLength) return false;
      const view = this.arena.dataViewOf(location);
      const total = view.getUint32(offset + R_TOTAL_BYTES, true);
      const sane = total === RECORD_HEADER_BYTES + view.getUint32(offset + R_KEY_BYTES, true) + view.getUint32(offset + R_BINS_BYTES, true) && offset + total <= block.byteLength;
      if (sane) this.arena.free(location, total);
      return sane;
    } finally {
      this.endMutation();
    }
  }

  /**
   * Moves live records out of the emptiest defragmentation candidate, resuming where the previous
   * call stopped, until about `budgetBytes` of the block have been walked (moved or skipped as
   * dead), so each call's work is bounded; an emptied block is reused. Returns the bytes moved.
   * Stops early, leaving the store consistent, if there is no room to move into.
   */
  defragStep(budgetBytes: number): number {
    if (this.defragBlock >= 0 && !this.defragStillValid()) this.defragBlock = -1;
    if (this.defragBlock < 0) {
      const candidate = this.arena.defragCandidate();
      if (candidate < 0) return 0;
      this.defragBlock = candidate;
      this.defragEpoch = this.arena.blockEpoch(candidate);
      this.defragOffset = 0;
    }
    const blockIndex = this.defragBlock;
    const blockLocation = Arena.location(blockIndex, 0);
    const block = this.arena.blockOf(blockLocation);
    const view = this.arena.dataViewOf(blockLocation);
    const used = this.arena.usedBytes(blockIndex);
    let moved = 0;
    let walked = 0;
    this.beginMutation();
    try {
      while (this.defragOffset < used && walked < budgetBytes) {
        const at = this.defragOffset;
        const size = alignBytes(view.getUint32(at + R_TOTAL_BYTES, true));
        if (size < RECORD_HEADER_BYTES || at + size > used) fail(`defrag: bad record at block ${blockIndex} offset ${at}`);
        walked += size;
        const location = Arena.location(blockIndex, at);
        const slot = this.index.find(block, at + R_DIGEST);
        if (slot >= 0 && this.index.location(slot) === location) {
          this.rebalanceLimits();
          let target: number;
          try {
            target = this.arena.allocate(size);
          } catch (err) {
            if (err instanceof AerieError && err.code === Status.SERVER_MEM) break;
            throw err;
          }
          copyRange(block, at, at + size, this.arena.blockOf(target), this.arena.offsetOf(target));
          this.index.setLocation(slot, target);
          moved += size;
          this.defragOffset = at + size;
          // The last live record's free releases the block: stop before walking a reused block.
          this.arena.free(location, size);
          if (!this.defragStillValid()) break;
        } else {
          this.defragOffset = at + size;
        }
      }
    } finally {
      this.endMutation();
    }
    if (!this.defragStillValid() || this.defragOffset >= used) this.defragBlock = -1;
    return moved;
  }

  /**
   * Removes every live record of set `setId` (-1: every set) last updated at or before
   * `beforeMs`; returns how many. One walk of the index: removal never moves live entries.
   */
  truncate(setId: number, beforeMs: number): number {
    const capacity = this.index.capacity;
    let removed = 0;
    for (let slot = 0; slot < capacity; slot++) {
      if (!this.index.isLive(slot)) continue;
      if (setId >= 0 && this.setId(slot) !== setId) continue;
      if (this.lastUpdateMs(slot) > beforeMs) continue;
      this.remove(slot);
      removed++;
    }
    return removed;
  }

  /**
   * Removes live records whose void-time has passed (0 < voidTime <= nowVoidSec), examining at
   * most `slotBudget` slots from `fromSlot`. Returns the slot to continue from (0 after the end).
   */
  sweepExpired(nowVoidSec: number, fromSlot: number, slotBudget: number): number {
    const capacity = this.index.capacity;
    const start = fromSlot >= 0 && fromSlot < capacity ? fromSlot : 0;
    const end = Math.min(capacity, start + slotBudget);
    for (let slot = start; slot < end; slot++) {
      if (!this.index.isLive(slot)) continue;
      const voidTime = this.index.voidTime(slot);
      if (hasExpired(voidTime, nowVoidSec)) {
        // Removal never moves live entries, so the walk stays valid.
        this.remove(slot);
        this.expiredCount++;
      }
    }
    return end >= capacity ? 0 : end;
  }

  /** Index plus allocated blocks: what counts against memoryBytesMax (no allocation, per write). */
  /** Memory in use: the index and the arena blocks not free (free ones are reused first). */
  get memoryBytes(): number {
    return this.index.memoryBytes + this.arena.bytesInUse;
  }

  stats(): RecordStoreStats {
    const indexBytes = this.index.memoryBytes;
    const arenaBytes = this.arena.bytesAllocated;
    const liveBytes = this.arena.liveBytes;
    return { records: this.index.liveCount, indexBytes, arenaBytes, liveBytes, memoryBytes: indexBytes + this.arena.bytesInUse };
  }

  private defragStillValid(): boolean {
    return this.arena.isSealed(this.defragBlock) && this.arena.blockEpoch(this.defragBlock) === this.defragEpoch;
  }

  private freeRecord(location: number): void {
    const totalBytes = this.arena.dataViewOf(location).getUint32(this.arena.offsetOf(location) + R_TOTAL_BYTES, true);
    this.arena.free(location, totalBytes);
  }

  /** Each structure may use whatever memory the other leaves. */
  private rebalanceLimits(): void {
    this.index.memoryBytesMax = this.memoryBytesMax - this.arena.bytesAllocated;
    this.arena.memoryBytesMax = this.memoryBytesMax - this.index.memoryBytes;
  }

  private beginMutation(): void {
    if ((Atomics.load(this.control, C_WRITE_EPOCH) & 1) !== 0) fail('RecordStore: nested mutation');
    Atomics.add(this.control, C_WRITE_EPOCH, 1);
  }
  private endMutation(): void {
    Atomics.add(this.control, C_WRITE_EPOCH, 1);
  }
}
