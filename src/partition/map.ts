// The versioned partition map. Each namespace's partition has a fixed list of holders (the
// workers that keep a copy: replicationFactor of them, the first being its configured master),
// and a current master, which failover moves to another holder. The current masters live in a
// SharedArrayBuffer written only by the primary, so workers read ownership (scans, replication)
// without messages; every change bumps the version.
//
// Holders: partition p's succession list starts at worker p mod n, and its replicas follow at an
// offset that cycles with p / n. So the replicas of one worker's masters are spread evenly over
// all the other workers, and when it dies its masters are promoted on every survivor rather than
// doubling one neighbour's load (docs/replication.md).

import { assert } from '../assert';
import { PARTITION_COUNT } from '../constants';

const VERSION_INDEX = 0;
const MASTERS_OFFSET = 16; // Int32 words; the version sits on its own cache line
/** After the masters: per worker, the port its endpoint listens on (0: none yet). */
const portsOffset = (namespaceCount: number) => MASTERS_OFFSET + namespaceCount * PARTITION_COUNT;

export class PartitionMap {
  readonly sab: SharedArrayBuffer;
  readonly workerCount: number;
  /** Per namespace, the copies each partition has (replicationFactor capped at the workers). */
  readonly copies: number[];
  private readonly words: Int32Array;

  private constructor(sab: SharedArrayBuffer, workerCount: number, copies: number[]) {
    this.sab = sab;
    this.words = new Int32Array(sab);
    this.workerCount = workerCount;
    this.copies = copies;
  }

  static create(workerCount: number, copies: number[]): PartitionMap {
    const map = new PartitionMap(new SharedArrayBuffer((portsOffset(copies.length) + workerCount) * 4), workerCount, copies);
    for (let ns = 0; ns < copies.length; ns++) {
      for (let p = 0; p < PARTITION_COUNT; p++) map.words[MASTERS_OFFSET + ns * PARTITION_COUNT + p] = holderOf(p, workerCount, 0);
    }
    Atomics.add(map.words, VERSION_INDEX, 1);
    return map;
  }

  static attach(sab: SharedArrayBuffer, workerCount: number, copies: number[]): PartitionMap {
    return new PartitionMap(sab, workerCount, copies);
  }

  get version(): number {
    return Atomics.load(this.words, VERSION_INDEX);
  }

  /** The worker serving the partition now. */
  master(ns: number, partitionId: number): number {
    return this.words[MASTERS_OFFSET + ns * PARTITION_COUNT + partitionId];
  }

  /** The k-th holder of the partition (0: its configured master), for k < copies[ns]. */
  holder(_ns: number, partitionId: number, k: number): number {
    return holderOf(partitionId, this.workerCount, k);
  }

  /** Whether the worker keeps a copy of the partition in the namespace. */
  holds(ns: number, partitionId: number, worker: number): boolean {
    for (let k = 0; k < this.copies[ns]; k++) if (holderOf(partitionId, this.workerCount, k) === worker) return true;
    return false;
  }

  /** Primary only: moves a partition's master. Call bump() once after a set of moves. */
  setMaster(ns: number, partitionId: number, worker: number): void {
    assert(partitionId >= 0 && partitionId < PARTITION_COUNT, 'a partition id out of range');
    assert(worker >= 0 && worker < this.workerCount, 'a partition moved to a worker that does not exist');
    Atomics.store(this.words, MASTERS_OFFSET + ns * PARTITION_COUNT + partitionId, worker);
  }

  /** The port worker `worker`'s endpoint listens on, 0 while it has none (docs/protocol.md, the map). */
  endpointPort(worker: number): number {
    return Atomics.load(this.words, portsOffset(this.copies.length) + worker);
  }

  /**
   * Primary only: records the port a worker's endpoint bound. A port that changed (an ephemeral
   * one after a restart) bumps the version, so clients holding the old map learn of it.
   */
  setEndpointPort(worker: number, port: number): void {
    assert(worker >= 0 && worker < this.workerCount, 'an endpoint for a worker that does not exist');
    const at = portsOffset(this.copies.length) + worker;
    if (Atomics.exchange(this.words, at, port) !== port) this.bump();
  }

  bump(): void {
    Atomics.add(this.words, VERSION_INDEX, 1);
  }

  /** How many partitions of the namespace each worker masters now. */
  countsByWorker(ns: number): number[] {
    const counts = new Array<number>(this.workerCount).fill(0);
    for (let p = 0; p < PARTITION_COUNT; p++) counts[this.master(ns, p)]++;
    return counts;
  }
}

/**
 * Partition p's k-th holder among n workers: k = 0 is p mod n; replicas follow the master at an
 * offset that cycles with p / n, never repeating a worker.
 */
export function holderOf(p: number, n: number, k: number): number {
  const master = p % n;
  if (k === 0 || n === 1) return master;
  const offset = Math.floor(p / n) % (n - 1);
  return (master + 1 + ((offset + k - 1) % (n - 1))) % n;
}
