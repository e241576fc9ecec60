// How a namespace's memory divides on a node: each worker's share, the arena block size that
// suits it, and the smallest share in which a worker can take a write at all. Configuration
// validation and the record stores both use it, so a memoryBytesMax that would refuse every
// write is refused when the config is read, not at the first put.

import { ARENA_BLOCK_BYTES, INDEX_HEADER_BYTES, INDEX_SLOT_BYTES, INDEX_SLOTS_INITIAL } from './constants';

/** Smallest arena block; blocks are powers of two from here. */
const ARENA_BLOCK_BYTES_MIN = 64 * 1024;
/** Room in a block beyond a largest record (its header and the block's alignment). */
const ARENA_BLOCK_SLACK_BYTES = 4096;

/** A worker's share of a namespace's memory. */
export function workerShareBytes(memoryBytesMax: number, workerCount: number): number {
  return Math.floor(memoryBytesMax / workerCount);
}

/** Bytes of an index table of `capacitySlots` slots, header included. */
export function indexBytesFor(capacitySlots: number): number {
  return INDEX_HEADER_BYTES + capacitySlots * INDEX_SLOT_BYTES;
}

/**
 * Arena block size for a share: large enough for a largest record, then as large as keeps block
 * granularity from distorting stop-writes (at most 1/16 of the share), a power of two.
 */
export function arenaBlockBytes(shareBytes: number, recordBytesMax: number): number {
  let bytes = ARENA_BLOCK_BYTES_MIN;
  while (bytes < recordBytesMax + ARENA_BLOCK_SLACK_BYTES) bytes *= 2;
  while (bytes * 2 <= shareBytes / 16 && bytes * 2 <= ARENA_BLOCK_BYTES) bytes *= 2;
  return bytes;
}

/**
 * The smallest worker share that takes a write: the initial index plus one block for a largest
 * record must fit, and the initial index alone must sit below stop-writes. (Larger shares only
 * get larger blocks while a block stays within 1/16 of the share, so this bound holds for them.)
 */
export function workerShareBytesMin(recordBytesMax: number, stopWritesPct: number): number {
  const index = indexBytesFor(INDEX_SLOTS_INITIAL);
  const block = arenaBlockBytes(0, recordBytesMax);
  return Math.max(index + block, Math.floor((index * 100) / stopWritesPct) + 1);
}
