// Truncates and snapshot restores of a namespace take turns. A truncate leaves a cut-off on every
// worker (a replica drops an image last updated at or before it: docs/replication.md, Truncate),
// and a restore brings back records older than any cut-off, so a restore forgets the cut-offs of
// its namespace. A truncate applied by one worker before the swap and by another after it would
// leave one worker with a cut-off the other lacks, and a replica that drops what its master
// serves. So while a restore runs, new truncates of its namespace wait here (in order, answered
// once sent and applied), and the restore starts its swap only once none is on its way.

import { fail } from '../assert';
import { RESTORE_TRUNCATES_WAITING_MAX } from '../constants';
import { AerieError, Status } from '../errors';

export class TruncateGate {
  /** [ns]: restores holding the namespace's truncates. */
  private readonly holds: Int32Array;
  /** [ns]: truncates waiting for the restore to end, each a send to run then. */
  private readonly waiting: (() => void)[][];
  /** [ns]: truncates routed but not yet sent (waiting for the clock to pass their cut-off). */
  private readonly deferred: Int32Array;

  constructor(namespaceCount: number) {
    this.holds = new Int32Array(namespaceCount);
    this.waiting = Array.from({ length: namespaceCount }, () => []);
    this.deferred = new Int32Array(namespaceCount);
  }

  held(nsIndex: number): boolean {
    return this.holds[nsIndex] > 0;
  }

  /** Keeps `send` until the namespace's restore ends. Throws DEVICE_OVERLOAD when too many wait. */
  wait(nsIndex: number, send: () => void): void {
    const list = this.waiting[nsIndex];
    if (list.length >= RESTORE_TRUNCATES_WAITING_MAX) {
      throw new AerieError(Status.DEVICE_OVERLOAD, `${RESTORE_TRUNCATES_WAITING_MAX} truncates already wait for a snapshot restore of this namespace`);
    }
    list.push(send);
  }

  hold(nsIndex: number): void {
    this.holds[nsIndex]++;
  }

  /** Ends a hold; the last one sends what waited, in arrival order. */
  release(nsIndex: number): void {
    if (this.holds[nsIndex] <= 0) fail(`truncate gate: namespace ${nsIndex} is not held`);
    if (--this.holds[nsIndex] > 0) return;
    const list = this.waiting[nsIndex].splice(0);
    for (const send of list) send();
  }

  /** A truncate waits for the clock (deferred) or no longer does. */
  defer(nsIndex: number, delta: 1 | -1): void {
    this.deferred[nsIndex] += delta;
  }

  deferredCount(nsIndex: number): number {
    return this.deferred[nsIndex];
  }
}
