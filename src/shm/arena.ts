// Record storage for one namespace on one worker: fixed-size blocks, each its own
// SharedArrayBuffer, filled log-structured. Appends go to the current write block; a record that
// does not fit seals it and opens another. Freed space is only counted, never reused in place: a
// sealed block is reused as a whole once its live bytes reach zero (or defragmentation empties it).
// Blocks are never given back to the engine, so `memoryBytes` only grows, up to memoryBytesMax.
//
// A location is a u32: block index << 21 | offset / 8. Offsets are 8-aligned.
//
// Per-block statistics live in a small shared "stats" buffer so another thread (the primary) can
// read them while this one writes: it may see a value one operation old, never a torn one.

import { fail } from '../assert';
import { ARENA_BLOCK_BYTES, ARENA_BLOCKS_MAX, ARENA_DEFRAG_LIVE_PCT } from '../constants';
import { AerieError, Status } from '../errors';

const OFFSET_BITS = 21;
const OFFSET_WORD_MASK = (1 << OFFSET_BITS) - 1;

/**
 * Stats buffer: Float64 [bytesAllocated, liveBytes] at byte 0, Int32 [blockCount, writeBlock,
 * freeCount] at byte 16, then four Int32 arrays of blocksMax entries from byte 64: used bytes,
 * live bytes, state (0 none, 1 writing, 2 sealed, 3 free), epoch (times freed).
 */
const F_BYTES_ALLOCATED = 0;
const F_LIVE_BYTES = 1;
const I_BLOCK_COUNT = 4; // Int32 index 4 = byte 16
const I_WRITE_BLOCK = 5;
const I_FREE_COUNT = 6;
const STATS_HEADER_BYTES = 64;

const BLOCK_NONE = 0;
const BLOCK_WRITING = 1;
const BLOCK_SEALED = 2;
const BLOCK_FREE = 3;

export interface ArenaOptions {
  /** Bytes per block, a multiple of 8 and at most ARENA_BLOCK_BYTES (tests use small blocks). */
  blockBytes?: number;
  /** Blocks this arena may create, at most ARENA_BLOCKS_MAX. */
  blocksMax?: number;
  /** Bytes of blocks this arena may create; mutable afterwards through `memoryBytesMax`. */
  memoryBytesMax?: number;
  /** Called when a block's buffer is created, so the primary can keep it alive past this thread. */
  onBlock?: (blockIndex: number, sab: SharedArrayBuffer) => void;
  /**
   * Take over the arena a dead thread left: its stats buffer and its blocks (by index). The
   * options above must be the ones it was created with.
   */
  adopt?: { statsSab: SharedArrayBuffer; blocks: ReadonlyArray<SharedArrayBuffer | null | undefined> };
}

/** Rounds a byte count up to the 8-byte allocation unit. */
export function alignBytes(bytes: number): number {
  return (bytes + 7) & ~7;
}

export class Arena {
  readonly blockBytes: number;
  readonly blocksMax: number;
  /** Mutable so the owner can give the arena whatever memory the index leaves. */
  memoryBytesMax: number;
  /** Read-only to other threads: totals and per-block used/live/state/epoch. */
  readonly statsSab: SharedArrayBuffer;

  private readonly totals: Float64Array;
  private readonly counters: Int32Array;
  private readonly used: Int32Array;
  private readonly live: Int32Array;
  private readonly state: Int32Array;
  private readonly epoch: Int32Array;
  /** Stack of free block indexes, preallocated so freeing never allocates. */
  private readonly freeStack: Int32Array;
  private readonly sabs: (SharedArrayBuffer | null)[];
  private readonly byteViews: (Uint8Array | null)[];
  private readonly dataViews: (DataView | null)[];
  private readonly onBlock: ((blockIndex: number, sab: SharedArrayBuffer) => void) | undefined;

  constructor(options: ArenaOptions = {}) {
    this.blockBytes = options.blockBytes ?? ARENA_BLOCK_BYTES;
    this.blocksMax = options.blocksMax ?? ARENA_BLOCKS_MAX;
    if (this.blockBytes % 8 !== 0 || this.blockBytes < 64 || this.blockBytes > ARENA_BLOCK_BYTES) {
      fail(`Arena: blockBytes ${this.blockBytes} must be a multiple of 8 in [64, ARENA_BLOCK_BYTES]`);
    }
    if (!Number.isInteger(this.blocksMax) || this.blocksMax < 1 || this.blocksMax > ARENA_BLOCKS_MAX) {
      fail(`Arena: blocksMax ${this.blocksMax} must be in [1, ARENA_BLOCKS_MAX]`);
    }
    this.memoryBytesMax = options.memoryBytesMax ?? this.blockBytes * this.blocksMax;
    this.onBlock = options.onBlock;
    const n = this.blocksMax;
    this.statsSab = options.adopt?.statsSab ?? new SharedArrayBuffer(STATS_HEADER_BYTES + 16 * n);
    if (this.statsSab.byteLength !== STATS_HEADER_BYTES + 16 * n) fail('Arena: adopted stats buffer has the wrong size');
    this.totals = new Float64Array(this.statsSab, 0, 2);
    this.counters = new Int32Array(this.statsSab, 0, STATS_HEADER_BYTES / 4);
    this.used = new Int32Array(this.statsSab, STATS_HEADER_BYTES, n);
    this.live = new Int32Array(this.statsSab, STATS_HEADER_BYTES + 4 * n, n);
    this.state = new Int32Array(this.statsSab, STATS_HEADER_BYTES + 8 * n, n);
    this.epoch = new Int32Array(this.statsSab, STATS_HEADER_BYTES + 12 * n, n);
    this.freeStack = new Int32Array(n);
    this.sabs = new Array<SharedArrayBuffer | null>(n).fill(null);
    this.byteViews = new Array<Uint8Array | null>(n).fill(null);
    this.dataViews = new Array<DataView | null>(n).fill(null);
    if (options.adopt === undefined) {
      this.counters[I_WRITE_BLOCK] = -1;
      return;
    }
    // Adopting: the block list comes from the primary, the free stack from the block states.
    const count = this.counters[I_BLOCK_COUNT];
    let free = 0;
    for (let block = 0; block < count; block++) {
      const sab = options.adopt.blocks[block];
      if (!sab || sab.byteLength !== this.blockBytes) fail(`Arena: adopted block ${block} is missing or the wrong size`);
      this.sabs[block] = sab;
      this.byteViews[block] = new Uint8Array(sab);
      this.dataViews[block] = new DataView(sab);
      if (this.state[block] === BLOCK_FREE) this.freeStack[free++] = block;
    }
    this.counters[I_FREE_COUNT] = free;
  }

  /**
   * Resets live-byte accounting to `liveByBlock` (recomputed from the index after a thread died
   * mid-write), releasing sealed blocks that hold nothing live.
   */
  resetLiveBytes(liveByBlock: Float64Array): void {
    const count = this.counters[I_BLOCK_COUNT];
    let total = 0;
    let free = 0;
    for (let block = 0; block < count; block++) {
      if (this.state[block] === BLOCK_FREE) {
        this.freeStack[free++] = block;
        continue;
      }
      this.live[block] = liveByBlock[block];
      total += liveByBlock[block];
    }
    this.counters[I_FREE_COUNT] = free;
    this.totals[F_LIVE_BYTES] = total;
    for (let block = 0; block < count; block++) {
      if (this.state[block] === BLOCK_SEALED && this.live[block] === 0) this.release(block);
    }
  }

  static location(blockIndex: number, offset: number): number {
    return ((blockIndex << OFFSET_BITS) | (offset >>> 3)) >>> 0;
  }
  static blockIndexOf(location: number): number {
    return location >>> OFFSET_BITS;
  }
  /** A location's byte offset within its block. */
  static offsetInBlock(location: number): number {
    return (location & OFFSET_WORD_MASK) * 8;
  }
  offsetOf(location: number): number {
    return Arena.offsetInBlock(location);
  }

  /**
   * Reserves `bytes` (rounded up to 8) in the write block and returns their location. Throws
   * SERVER_MEM when a new block is needed and none can be had; the arena is then unchanged.
   */
  allocate(bytes: number): number {
    const size = alignBytes(bytes);
    if (size <= 0 || size > this.blockBytes) {
      throw new AerieError(Status.RECORD_TOO_BIG, `arena: ${bytes} bytes exceeds the block size ${this.blockBytes}`);
    }
    let block = this.counters[I_WRITE_BLOCK];
    if (block < 0 || this.used[block] + size > this.blockBytes) {
      // Acquire the next block before sealing this one, so a failure leaves everything as it was.
      const next = this.acquireBlock();
      if (block >= 0) this.seal(block);
      block = next;
      this.state[block] = BLOCK_WRITING;
      this.counters[I_WRITE_BLOCK] = block;
    }
    const offset = this.used[block];
    this.used[block] = offset + size;
    this.live[block] += size;
    this.totals[F_LIVE_BYTES] += size;
    return Arena.location(block, offset);
  }

  /** Returns `bytes` at `location` to the block's dead space; an emptied sealed block is reused. */
  free(location: number, bytes: number): void {
    const block = location >>> OFFSET_BITS;
    const size = alignBytes(bytes);
    const live = this.live[block] - size;
    if (live < 0 || this.state[block] === BLOCK_FREE || this.state[block] === BLOCK_NONE) {
      fail(`Arena.free: block ${block} would have ${live} live bytes (state ${this.state[block]})`);
    }
    this.live[block] = live;
    this.totals[F_LIVE_BYTES] -= size;
    if (live === 0 && this.state[block] === BLOCK_SEALED) this.release(block);
  }

  /** The byte view of the block holding `location`. */
  blockOf(location: number): Uint8Array {
    const view = this.byteViews[location >>> OFFSET_BITS];
    if (view === null) fail(`Arena.blockOf: no block for location ${location}`);
    return view;
  }

  /** A DataView of the block holding `location`, for the integer fields of record headers. */
  dataViewOf(location: number): DataView {
    const view = this.dataViews[location >>> OFFSET_BITS];
    if (view === null) fail(`Arena.dataViewOf: no block for location ${location}`);
    return view;
  }

  /** Every block buffer by index (null where none was created yet). */
  blocks(): ReadonlyArray<SharedArrayBuffer | null> {
    return this.sabs;
  }

  /**
   * A sealed block whose live bytes have fallen below ARENA_DEFRAG_LIVE_PCT % of its used bytes
   * (the emptiest such block), or -1. Costs one pass over the blocks created so far.
   */
  defragCandidate(): number {
    let best = -1;
    let bestRatio = ARENA_DEFRAG_LIVE_PCT / 100;
    const count = this.counters[I_BLOCK_COUNT];
    for (let block = 0; block < count; block++) {
      if (this.state[block] !== BLOCK_SEALED) continue;
      const ratio = this.live[block] / this.used[block];
      if (ratio < bestRatio) {
        bestRatio = ratio;
        best = block;
      }
    }
    return best;
  }

  isSealed(blockIndex: number): boolean {
    return this.state[blockIndex] === BLOCK_SEALED;
  }
  /** Bytes appended to the block since it was last opened (the extent a walk of it covers). */
  usedBytes(blockIndex: number): number {
    return this.used[blockIndex];
  }
  liveBytesOf(blockIndex: number): number {
    return this.live[blockIndex];
  }
  /** Incremented whenever the block is freed, so a walker can tell the block was reused under it. */
  blockEpoch(blockIndex: number): number {
    return this.epoch[blockIndex];
  }

  get blocksAllocated(): number {
    return this.counters[I_BLOCK_COUNT];
  }
  get blocksFree(): number {
    return this.counters[I_FREE_COUNT];
  }
  /** Bytes of every block buffer created (the arena's memory footprint). */
  get bytesAllocated(): number {
    return this.totals[F_BYTES_ALLOCATED];
  }
  get liveBytes(): number {
    return this.totals[F_LIVE_BYTES];
  }
  /**
   * Bytes of the blocks in use: every block created but the free ones, which the next appends
   * take before any new block is made. What stop-writes and memoryUsedPct measure: a truncate
   * frees blocks, and writes must go on after it.
   */
  get bytesInUse(): number {
    return this.totals[F_BYTES_ALLOCATED] - this.counters[I_FREE_COUNT] * this.blockBytes;
  }

  private acquireBlock(): number {
    const freeCount = this.counters[I_FREE_COUNT];
    if (freeCount > 0) {
      this.counters[I_FREE_COUNT] = freeCount - 1;
      return this.freeStack[freeCount - 1];
    }
    const block = this.counters[I_BLOCK_COUNT];
    if (block >= this.blocksMax) throw new AerieError(Status.SERVER_MEM, `arena: all ${this.blocksMax} blocks in use`);
    if (this.totals[F_BYTES_ALLOCATED] + this.blockBytes > this.memoryBytesMax) {
      throw new AerieError(
        Status.SERVER_MEM,
        `arena: no room for another ${this.blockBytes}-byte block (${this.totals[F_BYTES_ALLOCATED]} bytes in blocks, ${this.memoryBytesMax} allowed beside the index)`,
      );
    }
    let sab: SharedArrayBuffer;
    try {
      sab = new SharedArrayBuffer(this.blockBytes);
    } catch {
      throw new AerieError(Status.SERVER_MEM, 'arena: the engine refused a block allocation');
    }
    this.sabs[block] = sab;
    this.byteViews[block] = new Uint8Array(sab);
    this.dataViews[block] = new DataView(sab);
    this.counters[I_BLOCK_COUNT] = block + 1;
    this.totals[F_BYTES_ALLOCATED] += this.blockBytes;
    if (this.onBlock !== undefined) this.onBlock(block, sab);
    return block;
  }

  private seal(block: number): void {
    this.state[block] = BLOCK_SEALED;
    if (this.live[block] === 0) this.release(block);
  }

  private release(block: number): void {
    this.state[block] = BLOCK_FREE;
    this.used[block] = 0;
    this.epoch[block]++;
    const freeCount = this.counters[I_FREE_COUNT];
    this.freeStack[freeCount] = block;
    this.counters[I_FREE_COUNT] = freeCount + 1;
  }
}
