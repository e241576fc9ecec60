// The versioned partition map: which worker masters each of the 4096 partitions. It lives in a
// SharedArrayBuffer written only by the primary, so workers read ownership without messages and a
// later supervisor can move partitions by bumping the version.

import { PARTITION_COUNT } from '../constants';

const VERSION_INDEX = 0;
const MASTERS_OFFSET = 16; // Int32 words; the version sits on its own cache line

export class PartitionMap {
  readonly sab: SharedArrayBuffer;
  private readonly words: Int32Array;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.words = new Int32Array(sab);
  }

  static create(): PartitionMap {
    return new PartitionMap(new SharedArrayBuffer((MASTERS_OFFSET + PARTITION_COUNT) * 4));
  }

  static attach(sab: SharedArrayBuffer): PartitionMap {
    return new PartitionMap(sab);
  }

  /** Spreads partitions evenly, partition p to worker p mod n, and bumps the version. */
  assignRoundRobin(workerCount: number): void {
    for (let p = 0; p < PARTITION_COUNT; p++) this.words[MASTERS_OFFSET + p] = p % workerCount;
    Atomics.add(this.words, VERSION_INDEX, 1);
  }

  get version(): number {
    return Atomics.load(this.words, VERSION_INDEX);
  }

  master(partitionId: number): number {
    return this.words[MASTERS_OFFSET + partitionId];
  }

  /** How many partitions each worker masters. */
  countsByWorker(workerCount: number): number[] {
    const counts = new Array<number>(workerCount).fill(0);
    for (let p = 0; p < PARTITION_COUNT; p++) counts[this.words[MASTERS_OFFSET + p]]++;
    return counts;
  }
}
