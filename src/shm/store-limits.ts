// How much shared memory one worker's store of a namespace may use, and its arena block size:
// the worker sizes its store with it, and so do the background jobs that build or read a copy.

import type { NamespaceConfig } from '../config';
import { arenaBlockBytes, workerShareBytes } from '../memory-sizing';

/** A worker's share of a namespace's memory, and the arena block size that suits it. */
export function storeLimits(config: NamespaceConfig, workerCount: number): { memoryBytesMax: number; blockBytes: number } {
  const memoryBytesMax = workerShareBytes(config.memoryBytesMax, workerCount);
  return { memoryBytesMax, blockBytes: arenaBlockBytes(memoryBytesMax, config.recordBytesMax) };
}
