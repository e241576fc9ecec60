// How much shared memory one worker's store of a namespace may use, and its arena block size:
// the worker sizes its store with it, and so do the background jobs that build or read a copy.

import type { NamespaceConfig } from '../config';
import { ARENA_BLOCK_BYTES } from '../constants';

/** A worker's share of a namespace's memory, and the arena block size that suits it. */
export function storeLimits(config: NamespaceConfig, workerCount: number): { memoryBytesMax: number; blockBytes: number } {
  const memoryBytesMax = Math.floor(config.memoryBytesMax / workerCount);
  return { memoryBytesMax, blockBytes: arenaBlockBytes(memoryBytesMax, config.recordBytesMax) };
}

/**
 * Arena block size for a namespace share: small enough that block granularity does not distort
 * stop-writes (at most 1/16 of the share), large enough for a largest record, a power of two.
 */
function arenaBlockBytes(memoryBytesMax: number, recordBytesMax: number): number {
  let bytes = 64 * 1024;
  while (bytes < recordBytesMax + 4096) bytes *= 2;
  while (bytes * 2 <= memoryBytesMax / 16 && bytes * 2 <= ARENA_BLOCK_BYTES) bytes *= 2;
  return bytes;
}
