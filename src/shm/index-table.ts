// The primary index of one namespace on one worker: an open-addressing hash table keyed by the
// 20-byte digest, living entirely in one SharedArrayBuffer so that millions of records cost the
// garbage collector nothing and another thread (the primary) can keep the memory after a crash.
//
// Layout: a 64-byte header of Int32 words, then `capacity` slots of 32 bytes (8 u32 words):
//   w0..w4  the digest's 20 bytes read as five little-endian u32
//   w5      meta: generation bits 0-15 | setId bits 16-27 | state bits 28-29
//   w6      voidTime, seconds since the citrusleaf epoch (0 = never expires)
//   w7      location, opaque to the table (the arena's address of the record)
//
// One thread writes; other threads may read only under the record store's seqlock. Slot numbers
// stay valid until the next insert: an insert may rehash into a new buffer and move every entry.

import { fail } from '../assert';
import { DIGEST_BYTES, PARTITION_COUNT, INDEX_HEADER_BYTES, INDEX_LOAD_MAX, INDEX_REHASH_PROGRESS_SLOTS, INDEX_SLOT_BYTES, INDEX_SLOTS_INITIAL, INDEX_SLOTS_MAX } from '../constants';
import { AerieError, Status } from '../errors';

/** Header words (Int32 indexes into the first 64 bytes). */
const H_CAPACITY = 0;
const H_LIVE_COUNT = 1;
const H_TOMBSTONE_COUNT = 2;
const H_RESIZE_EPOCH = 3;
/** Set to 1 in a buffer that a rehash has replaced: a reader still attached to it is stale. */
const H_RETIRED = 4;
const H_MAGIC = 5;
const HEADER_BYTES = INDEX_HEADER_BYTES;
const HEADER_WORDS = HEADER_BYTES / 4;
const MAGIC = 0x41455849; // "AEXI"

const SLOT_WORDS = INDEX_SLOT_BYTES / 4;
const W_META = 5;
const W_VOID_TIME = 6;
const W_LOCATION = 7;

const STATE_SHIFT = 28;
const STATE_MASK = 0x3;
const STATE_EMPTY = 0;
const STATE_LIVE = 1;
const STATE_TOMBSTONE = 2;
const GENERATION_MASK = 0xffff;
const SET_ID_SHIFT = 16;
const SET_ID_MASK = 0xfff;
/** Smallest table: keeps the load arithmetic meaningful (at least one free slot always). */
const CAPACITY_MIN = 8;

export interface IndexTableOptions {
  /** Called with the new buffer after every rehash, so other threads can re-attach. */
  onResize?: (sab: SharedArrayBuffer) => void;
  /**
   * Called every INDEX_REHASH_PROGRESS_SLOTS slots of a rehash: a rehash of millions of entries
   * takes a second, and the worker's heartbeat must go on meanwhile or it is taken for hung.
   */
  onBusy?: () => void;
  /** Largest capacity the table may grow to (tests lower it); at most INDEX_SLOTS_MAX. */
  slotsMax?: number;
  /** Largest buffer the table may grow to; the record store moves this as the arena grows. */
  memoryBytesMax?: number;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Reads four bytes of a digest as a little-endian u32 without allocating. */
function wordAt(digest: Uint8Array, offset: number): number {
  return (digest[offset] | (digest[offset + 1] << 8) | (digest[offset + 2] << 16) | (digest[offset + 3] << 24)) >>> 0;
}

export class IndexTable {
  private buffer: SharedArrayBuffer;
  private header: Int32Array;
  private words: Uint32Array;
  private mask: number;
  private readonly onResize: ((sab: SharedArrayBuffer) => void) | undefined;
  private readonly onBusy: (() => void) | undefined;
  private readonly slotsMax: number;
  /** Mutable so the owner can hand the index whatever memory the arena leaves. */
  memoryBytesMax: number;
  /**
   * Live entries per partition, kept by this thread only (not shared): what INFO reports as a
   * worker's master and replica records, and what a migration expects to move. Counted afresh
   * when a table is attached.
   */
  readonly partitionCounts = new Int32Array(PARTITION_COUNT);

  private constructor(sab: SharedArrayBuffer, options: IndexTableOptions) {
    this.buffer = sab;
    this.header = new Int32Array(sab, 0, HEADER_WORDS);
    this.words = new Uint32Array(sab);
    this.mask = this.header[H_CAPACITY] - 1;
    this.onResize = options.onResize;
    this.onBusy = options.onBusy;
    this.slotsMax = options.slotsMax ?? INDEX_SLOTS_MAX;
    this.memoryBytesMax = options.memoryBytesMax ?? Number.MAX_SAFE_INTEGER;
    if (!isPowerOfTwo(this.slotsMax) || this.slotsMax > INDEX_SLOTS_MAX) {
      fail(`IndexTable: slotsMax ${this.slotsMax} must be a power of two <= INDEX_SLOTS_MAX`);
    }
    if (this.header[H_LIVE_COUNT] > 0) {
      for (let slot = 0; slot <= this.mask; slot++) if (this.isLive(slot)) this.partitionCounts[this.partitionId(slot)]++;
    }
  }

  /** Bytes of a table buffer holding `capacity` slots. */
  static bytesFor(capacity: number): number {
    return HEADER_BYTES + capacity * INDEX_SLOT_BYTES;
  }

  static create(capacitySlots: number = INDEX_SLOTS_INITIAL, options: IndexTableOptions = {}): IndexTable {
    if (!isPowerOfTwo(capacitySlots) || capacitySlots < CAPACITY_MIN || capacitySlots > (options.slotsMax ?? INDEX_SLOTS_MAX)) {
      fail(`IndexTable: capacity ${capacitySlots} must be a power of two in [${CAPACITY_MIN}, slotsMax]`);
    }
    return new IndexTable(IndexTable.allocate(capacitySlots, 0), options);
  }

  /**
   * The live entries of the table in `sab`, read from its header: attach() walks every slot to
   * count partitions, which the primary thread must not do just to learn a total.
   */
  static liveCountOf(sab: SharedArrayBuffer): number {
    return Atomics.load(new Int32Array(sab, 0, HEADER_WORDS), H_LIVE_COUNT);
  }

  /** Opens a table another thread created (or that survived a worker) on the same buffer. */
  static attach(sab: SharedArrayBuffer, options: IndexTableOptions = {}): IndexTable {
    const header = new Int32Array(sab, 0, HEADER_WORDS);
    const capacity = header[H_CAPACITY];
    if (header[H_MAGIC] !== MAGIC || !isPowerOfTwo(capacity) || sab.byteLength !== IndexTable.bytesFor(capacity)) {
      fail('IndexTable.attach: buffer is not an index table');
    }
    return new IndexTable(sab, options);
  }

  private static allocate(capacity: number, resizeEpoch: number): SharedArrayBuffer {
    let sab: SharedArrayBuffer;
    try {
      sab = new SharedArrayBuffer(IndexTable.bytesFor(capacity));
    } catch {
      // The engine refused the allocation: to the caller this is simply "out of memory".
      throw new AerieError(Status.SERVER_MEM, `index: cannot allocate ${capacity} slots`);
    }
    const header = new Int32Array(sab, 0, HEADER_WORDS);
    header[H_CAPACITY] = capacity;
    header[H_RESIZE_EPOCH] = resizeEpoch;
    header[H_MAGIC] = MAGIC;
    return sab;
  }

  get sab(): SharedArrayBuffer {
    return this.buffer;
  }
  get capacity(): number {
    return this.mask + 1;
  }
  get liveCount(): number {
    return this.header[H_LIVE_COUNT];
  }
  get tombstoneCount(): number {
    return this.header[H_TOMBSTONE_COUNT];
  }
  /** Incremented by every rehash; a reader compares it to know its slot numbers are stale. */
  get resizeEpoch(): number {
    return this.header[H_RESIZE_EPOCH];
  }
  /** True once a rehash has replaced this buffer (seen by readers attached to an old one). */
  get retired(): boolean {
    return Atomics.load(this.header, H_RETIRED) === 1;
  }
  get memoryBytes(): number {
    return this.buffer.byteLength;
  }

  /** The slot holding `digest` (20 bytes at `offset`), or -1. */
  find(digest: Uint8Array, offset: number): number {
    const w0 = wordAt(digest, offset);
    const w1 = wordAt(digest, offset + 4);
    const w2 = wordAt(digest, offset + 8);
    const w3 = wordAt(digest, offset + 12);
    const w4 = wordAt(digest, offset + 16);
    const words = this.words;
    const mask = this.mask;
    let slot = w2 & mask;
    // Bounded by capacity: the load limit guarantees an empty slot, the bound guards corruption.
    for (let probes = 0; probes <= mask; probes++) {
      const base = HEADER_WORDS + slot * SLOT_WORDS;
      const state = words[base + W_META] >>> STATE_SHIFT;
      if (state === STATE_EMPTY) return -1;
      if (state === STATE_LIVE && words[base + 2] === w2 && words[base] === w0 && words[base + 1] === w1 && words[base + 3] === w3 && words[base + 4] === w4) {
        return slot;
      }
      slot = (slot + 1) & mask;
    }
    return -1;
  }

  /**
   * Inserts a digest that must be absent (asserted) and returns its slot. May rehash first, which
   * invalidates every slot number obtained before this call.
   */
  insert(digest: Uint8Array, offset: number, generation: number, setId: number, voidTime: number, location: number): number {
    this.reserveOne();
    return this.place(
      wordAt(digest, offset),
      wordAt(digest, offset + 4),
      wordAt(digest, offset + 8),
      wordAt(digest, offset + 12),
      wordAt(digest, offset + 16),
      this.packMeta(generation, setId, STATE_LIVE),
      voidTime,
      location,
      true,
    );
  }

  /**
   * Makes sure the next insert will not rehash (rehashing now if needed). Throws SERVER_MEM, with
   * the table unchanged, when the table cannot grow. Invalidates slot numbers if it rehashes.
   */
  reserveOne(): void {
    const capacity = this.mask + 1;
    const live = this.header[H_LIVE_COUNT];
    const used = live + this.header[H_TOMBSTONE_COUNT];
    if (used + 1 <= capacity * INDEX_LOAD_MAX) return;
    // Mostly tombstones: rebuilding at the same size reclaims them; otherwise double.
    if (live + 1 <= (capacity * INDEX_LOAD_MAX) / 2) {
      this.rehash(capacity);
      return;
    }
    const doubled = capacity * 2;
    if (doubled <= this.slotsMax && IndexTable.bytesFor(doubled) <= this.memoryBytesMax) {
      this.rehash(doubled);
      return;
    }
    // At the limit, clearing tombstones still helps as long as the live entries alone fit.
    if (live + 1 <= capacity * INDEX_LOAD_MAX) {
      this.rehash(capacity);
      return;
    }
    throw new AerieError(
      Status.SERVER_MEM,
      `index: cannot grow past ${capacity} slots (${IndexTable.bytesFor(doubled)} bytes needed, ${this.memoryBytesMax} allowed beside the records; limit ${this.slotsMax} slots)`,
    );
  }

  private rehash(newCapacity: number): void {
    const oldWords = this.words;
    const oldHeader = this.header;
    const oldCapacity = this.mask + 1;
    const sab = IndexTable.allocate(newCapacity, oldHeader[H_RESIZE_EPOCH] + 1);
    this.buffer = sab;
    this.header = new Int32Array(sab, 0, HEADER_WORDS);
    this.words = new Uint32Array(sab);
    this.mask = newCapacity - 1;
    for (let slot = 0; slot < oldCapacity; slot++) {
      if ((slot & (INDEX_REHASH_PROGRESS_SLOTS - 1)) === 0) this.onBusy?.();
      const b = HEADER_WORDS + slot * SLOT_WORDS;
      const meta = oldWords[b + W_META];
      if (meta >>> STATE_SHIFT !== STATE_LIVE) continue;
      const w = oldWords;
      this.place(w[b], w[b + 1], w[b + 2], w[b + 3], w[b + 4], meta, w[b + W_VOID_TIME], w[b + W_LOCATION], false);
    }
    if (this.header[H_LIVE_COUNT] !== oldHeader[H_LIVE_COUNT]) fail('IndexTable: rehash lost entries');
    Atomics.store(oldHeader, H_RETIRED, 1);
    if (this.onResize !== undefined) this.onResize(sab);
  }

  /** Writes an entry at the first free slot of its probe sequence; `check` asserts absence. */
  private place(w0: number, w1: number, w2: number, w3: number, w4: number, meta: number, voidTime: number, location: number, check: boolean): number {
    const words = this.words;
    const mask = this.mask;
    let slot = w2 & mask;
    let target = -1;
    for (let probes = 0; probes <= mask; probes++) {
      const base = HEADER_WORDS + slot * SLOT_WORDS;
      const state = words[base + W_META] >>> STATE_SHIFT;
      if (state === STATE_EMPTY) {
        if (target < 0) target = slot;
        break;
      }
      if (state === STATE_TOMBSTONE) {
        if (target < 0) target = slot;
        if (!check) break;
      } else if (check && words[base + 2] === w2 && words[base] === w0 && words[base + 1] === w1 && words[base + 3] === w3 && words[base + 4] === w4) {
        fail('IndexTable.insert: digest already present');
      }
      slot = (slot + 1) & mask;
    }
    if (target < 0) fail('IndexTable: no free slot (load limit violated)');
    const base = HEADER_WORDS + target * SLOT_WORDS;
    if (words[base + W_META] >>> STATE_SHIFT === STATE_TOMBSTONE) this.header[H_TOMBSTONE_COUNT]--;
    words[base] = w0;
    words[base + 1] = w1;
    words[base + 2] = w2;
    words[base + 3] = w3;
    words[base + 4] = w4;
    words[base + W_VOID_TIME] = voidTime;
    words[base + W_LOCATION] = location;
    words[base + W_META] = meta;
    this.header[H_LIVE_COUNT]++;
    if (check) this.partitionCounts[w0 & 0xfff]++;
    return target;
  }

  /**
   * Deletes a live entry. It becomes a tombstone so later entries of its probe chain stay
   * reachable, unless the chain ends right after it: then it and any tombstones just before it
   * can become empty, which keeps long-lived tables from filling with tombstones.
   */
  remove(slot: number): void {
    const words = this.words;
    const mask = this.mask;
    const base = HEADER_WORDS + slot * SLOT_WORDS;
    if (words[base + W_META] >>> STATE_SHIFT !== STATE_LIVE) fail(`IndexTable.remove: slot ${slot} is not live`);
    this.header[H_LIVE_COUNT]--;
    this.partitionCounts[words[base] & 0xfff]--;
    const next = (slot + 1) & mask;
    if (words[HEADER_WORDS + next * SLOT_WORDS + W_META] >>> STATE_SHIFT !== STATE_EMPTY) {
      words[base + W_META] = (STATE_TOMBSTONE << STATE_SHIFT) >>> 0;
      this.header[H_TOMBSTONE_COUNT]++;
      return;
    }
    words[base + W_META] = 0;
    let prev = (slot - 1) & mask;
    for (let steps = 0; steps < mask; steps++) {
      const pb = HEADER_WORDS + prev * SLOT_WORDS + W_META;
      if (words[pb] >>> STATE_SHIFT !== STATE_TOMBSTONE) break;
      words[pb] = 0;
      this.header[H_TOMBSTONE_COUNT]--;
      prev = (prev - 1) & mask;
    }
  }

  isLive(slot: number): boolean {
    return this.words[HEADER_WORDS + slot * SLOT_WORDS + W_META] >>> STATE_SHIFT === STATE_LIVE;
  }
  generation(slot: number): number {
    return this.words[HEADER_WORDS + slot * SLOT_WORDS + W_META] & GENERATION_MASK;
  }
  setId(slot: number): number {
    return (this.words[HEADER_WORDS + slot * SLOT_WORDS + W_META] >>> SET_ID_SHIFT) & SET_ID_MASK;
  }
  voidTime(slot: number): number {
    return this.words[HEADER_WORDS + slot * SLOT_WORDS + W_VOID_TIME];
  }
  location(slot: number): number {
    return this.words[HEADER_WORDS + slot * SLOT_WORDS + W_LOCATION];
  }
  /** `digest[0] | (digest[1] & 0x0f) << 8`: the low 12 bits of the first little-endian word. */
  partitionId(slot: number): number {
    return this.words[HEADER_WORDS + slot * SLOT_WORDS] & 0xfff;
  }

  setMeta(slot: number, generation: number, setId: number, voidTime: number): void {
    const base = HEADER_WORDS + slot * SLOT_WORDS;
    this.words[base + W_META] = this.packMeta(generation, setId, STATE_LIVE);
    this.words[base + W_VOID_TIME] = voidTime;
  }

  setLocation(slot: number, location: number): void {
    this.words[HEADER_WORDS + slot * SLOT_WORDS + W_LOCATION] = location;
  }

  /** Writes the slot's 20 digest bytes into `out` at `outOffset`. */
  copyDigest(slot: number, out: Uint8Array, outOffset: number): void {
    const base = HEADER_WORDS + slot * SLOT_WORDS;
    for (let i = 0; i < DIGEST_BYTES / 4; i++) {
      const w = this.words[base + i];
      const o = outOffset + i * 4;
      out[o] = w & 0xff;
      out[o + 1] = (w >>> 8) & 0xff;
      out[o + 2] = (w >>> 16) & 0xff;
      out[o + 3] = w >>> 24;
    }
  }

  /** The first live slot at or after `fromSlot`, or -1: scans resume from the returned slot + 1. */
  nextLive(fromSlot: number): number {
    const words = this.words;
    const capacity = this.mask + 1;
    for (let slot = Math.max(fromSlot, 0); slot < capacity; slot++) {
      if (words[HEADER_WORDS + slot * SLOT_WORDS + W_META] >>> STATE_SHIFT === STATE_LIVE) return slot;
    }
    return -1;
  }

  private packMeta(generation: number, setId: number, state: number): number {
    if (generation < 0 || generation > GENERATION_MASK || setId < 0 || setId > SET_ID_MASK) {
      fail(`IndexTable: generation ${generation} or setId ${setId} out of range`);
    }
    return (generation | (setId << SET_ID_SHIFT) | ((state & STATE_MASK) << STATE_SHIFT)) >>> 0;
  }
}
