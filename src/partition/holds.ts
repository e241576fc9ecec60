// Partitions changing master, and the reads each worker serves from its own endpoint, in shared
// memory (docs/architecture.md, "On a worker's endpoint"). While the primary moves a partition it
// holds its requests; a worker that serves a read of a partition it masters must not serve one
// the primary has begun to move. The two sides meet as in Dekker's protocol, with sequentially
// consistent atomics: the worker raises its busy word, then reads the hold; the primary sets the
// hold, then (on a later check) reads the busy word. Either the worker sees the hold and sends the
// read to the primary, or the primary sees the worker busy and waits for it before the move goes on.

import { assert } from '../assert';
import { PARTITION_COUNT } from '../constants';

/** Busy words: one Int32 per worker, each on its own 64-byte line. */
const BUSY_STRIDE_WORDS = 16;

export class PartitionHolds {
  /** Per namespace, 1 where the partition's requests are held while it changes master. */
  readonly held: Uint8Array[];
  private readonly busy: Int32Array;

  private constructor(
    readonly sab: SharedArrayBuffer,
    namespaceCount: number,
    workerCount: number,
  ) {
    const busyBytes = workerCount * BUSY_STRIDE_WORDS * 4;
    this.busy = new Int32Array(sab, 0, workerCount * BUSY_STRIDE_WORDS);
    this.held = Array.from({ length: namespaceCount }, (_, ns) => new Uint8Array(sab, busyBytes + ns * PARTITION_COUNT, PARTITION_COUNT));
  }

  static create(namespaceCount: number, workerCount: number): PartitionHolds {
    const sab = new SharedArrayBuffer(workerCount * BUSY_STRIDE_WORDS * 4 + namespaceCount * PARTITION_COUNT);
    return new PartitionHolds(sab, namespaceCount, workerCount);
  }

  static attach(sab: SharedArrayBuffer, namespaceCount: number, workerCount: number): PartitionHolds {
    return new PartitionHolds(sab, namespaceCount, workerCount);
  }

  /** Primary only: the partition's requests are held from now on. */
  hold(ns: number, partitionId: number): void {
    Atomics.store(this.held[ns], partitionId, 1);
  }

  isHeld(ns: number, partitionId: number): boolean {
    return Atomics.load(this.held[ns], partitionId) === 1;
  }

  /** Worker only, around serving one request itself: raise before reading the hold, lower after answering. */
  beginLocal(worker: number): void {
    Atomics.add(this.busy, worker * BUSY_STRIDE_WORDS, 1);
  }

  endLocal(worker: number): void {
    const before = Atomics.sub(this.busy, worker * BUSY_STRIDE_WORDS, 1);
    assert(before > 0, 'a local request ended that had not begun');
  }

  /** Primary: whether the worker is serving a request itself right now. */
  localBusy(worker: number): boolean {
    return Atomics.load(this.busy, worker * BUSY_STRIDE_WORDS) !== 0;
  }

  /** Primary: a dead worker serves nothing (it may have died between begin and end). */
  clearLocal(worker: number): void {
    Atomics.store(this.busy, worker * BUSY_STRIDE_WORDS, 0);
  }
}
