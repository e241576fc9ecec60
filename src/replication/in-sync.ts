// Which copies count, in shared memory: per namespace and worker, the partitions it holds in sync
// (a complete copy, given the channel messages already sent to it), and per worker whether it is
// up. The primary's failover logic (src/primary/failover.ts) is the only writer; a master worker
// reads it to know which replicas a write its own endpoint served must wait for, exactly as the
// primary does for the writes it routes (docs/replication.md, "Where a write waits").
//
// Order matters where a copy stops counting: the primary first records on disk that the copy is
// stale, then clears its flag here, so no thread acknowledges a write without a copy that the
// disk still calls current.

import { PARTITION_COUNT } from '../constants';

/** The partition map as this file needs it (src/partition/map.ts has it; no import upward). */
export interface HolderMap {
  readonly copies: ArrayLike<number>;
  holder(ns: number, p: number, k: number): number;
}

/** One Int32 per worker for its up flag, each on a 64-byte line of its own. */
const UP_STRIDE_WORDS = 16;

export class InSyncCopies {
  /** [ns][worker]: 1 where the worker holds the partition in sync. */
  readonly sync: Uint8Array[][];
  private readonly up: Int32Array;

  private constructor(
    readonly sab: SharedArrayBuffer,
    readonly namespaceCount: number,
    readonly workerCount: number,
  ) {
    const upBytes = workerCount * UP_STRIDE_WORDS * 4;
    this.up = new Int32Array(sab, 0, workerCount * UP_STRIDE_WORDS);
    this.sync = Array.from({ length: namespaceCount }, (_, ns) =>
      Array.from({ length: workerCount }, (_, w) => new Uint8Array(sab, upBytes + (ns * workerCount + w) * PARTITION_COUNT, PARTITION_COUNT)),
    );
  }

  /** Every worker up (they are about to start); no partition in sync until failover says so. */
  static create(namespaceCount: number, workerCount: number): InSyncCopies {
    const sab = new SharedArrayBuffer(workerCount * UP_STRIDE_WORDS * 4 + namespaceCount * workerCount * PARTITION_COUNT);
    const copies = new InSyncCopies(sab, namespaceCount, workerCount);
    for (let w = 0; w < workerCount; w++) copies.setUp(w, true);
    return copies;
  }

  static attach(sab: SharedArrayBuffer, namespaceCount: number, workerCount: number): InSyncCopies {
    return new InSyncCopies(sab, namespaceCount, workerCount);
  }

  /** Primary only: the worker's thread is serving (true) or died (false). */
  setUp(worker: number, up: boolean): void {
    Atomics.store(this.up, worker * UP_STRIDE_WORDS, up ? 1 : 0);
  }

  isUp(worker: number): boolean {
    return Atomics.load(this.up, worker * UP_STRIDE_WORDS) === 1;
  }

  /**
   * The replicas a write to partition p of `ns` answered by `master` waits for: every other holder
   * that is up and in sync, written into `out`; their count returned.
   */
  replicasOf(map: HolderMap, ns: number, p: number, master: number, out: Int32Array): number {
    let count = 0;
    for (let k = 0; k < map.copies[ns]; k++) {
      const w = map.holder(ns, p, k);
      if (w !== master && this.sync[ns][w][p] === 1 && this.isUp(w)) out[count++] = w;
    }
    return count;
  }
}
