// Writes answered by their master and waiting for their replicas (commit level all,
// docs/replication.md). A master commits a batch's replication messages to its channels before it
// publishes the batch's answers, so when an answer arrives here, the channel's published tail
// already covers the write. The answer is held until each replica that holds the partition in
// sync has released the channel up to that tail: the replica has applied the write (and logged
// it, for a file namespace). Waiting on the tail rather than on the write's own position costs at
// most the rest of that batch.
//
// A replica that dies or falls out of sync stops counting: what it was owed is then on the master
// (and in the channel, for when it returns). A write still waiting after REPLICA_ACK_TIMEOUT_MS is
// answered TIMEOUT, in doubt: it is applied on the master, but not known to be on the replica.

import { REPLICA_ACK_TIMEOUT_MS } from '../constants';
import { Status } from '../errors';
import { reached, type ReplicationChannels } from '../replication/channels';
import { Ring } from '../shm/ring';
import { Writer } from '../protocol/writer';

interface Waiting {
  slot: number;
  code: number;
  body: Buffer;
  /** Channels still to acknowledge. */
  needs: number;
  sinceMs: number;
  done: boolean;
}

interface Position {
  tail: number;
  entry: Waiting;
}

export interface WaitHost {
  /** Answers a held write (its slot is released by the callee). */
  answer(slot: number, code: number, body: Buffer): void;
}

export class ReplicaWaits {
  private readonly n: number;
  /** Per channel (from * n + to): the writes waiting on it, in tail order. */
  private readonly queues: Position[][];
  /** Int32 views of each channel's header, refreshed when a ring is replaced. */
  private readonly words: (Int32Array | null)[];
  private timer: NodeJS.Timeout | null = null;
  count = 0;

  constructor(private readonly channels: ReplicationChannels, private readonly host: WaitHost) {
    this.n = channels.n;
    this.queues = Array.from({ length: this.n * this.n }, () => []);
    this.words = channels.rings.map((sab) => (sab === null ? null : Ring.wordsOf(sab)));
  }

  /** The ring of a channel was replaced: nothing can be waiting on it (its reader was not in sync). */
  ringReplaced(from: number, to: number): void {
    const sab = this.channels.ring(from, to);
    this.words[from * this.n + to] = sab === null ? null : Ring.wordsOf(sab);
  }

  /**
   * Holds a write's answer until the replicas replicas[0, count) (workers in sync for its
   * partition, the master excluded) have applied it. Returns false when none has to be waited for.
   */
  hold(slot: number, from: number, replicas: Int32Array, count: number, code: number, bytes: Uint8Array, start: number, end: number): boolean {
    let entry: Waiting | null = null;
    for (let i = 0; i < count; i++) {
      const to = replicas[i];
      const words = this.words[from * this.n + to];
      if (words === null) continue;
      const tail = Ring.publishedTail(words);
      if (reached(Ring.releasedHead(words), tail)) continue;
      entry ??= { slot, code, body: Buffer.from(bytes.subarray(start, end)), needs: 0, sinceMs: Date.now(), done: false };
      entry.needs++;
      this.queues[from * this.n + to].push({ tail, entry });
    }
    if (entry === null) return false;
    this.count++;
    if (this.timer === null) {
      this.timer = setInterval(() => this.expire(), 100);
      this.timer.unref();
    }
    return true;
  }

  /** Replica `to` released some channel: answer what it now covers. */
  onAck(to: number): void {
    for (let from = 0; from < this.n; from++) {
      const q = this.queues[from * this.n + to];
      if (q.length === 0) continue;
      const head = Ring.releasedHead(this.words[from * this.n + to]!);
      let i = 0;
      while (i < q.length && reached(head, q[i].tail)) this.settle(q[i++].entry);
      if (i > 0) q.splice(0, i);
    }
  }

  /** Replica `to` died or fell out of sync: it is no longer waited for. */
  dropReplica(to: number): void {
    for (let from = 0; from < this.n; from++) {
      const q = this.queues[from * this.n + to];
      for (const p of q) this.settle(p.entry);
      q.length = 0;
    }
  }

  private settle(entry: Waiting): void {
    if (entry.done || --entry.needs > 0) return;
    entry.done = true;
    this.count--;
    this.host.answer(entry.slot, entry.code, entry.body);
  }

  private expire(): void {
    const now = Date.now();
    for (const q of this.queues) {
      let i = 0;
      while (i < q.length && (q[i].entry.done || now - q[i].entry.sinceMs >= REPLICA_ACK_TIMEOUT_MS)) {
        const e = q[i++].entry;
        if (e.done) continue;
        e.done = true;
        this.count--;
        this.host.answer(e.slot, Status.TIMEOUT, inDoubtBody);
      }
      if (i > 0) q.splice(0, i);
    }
    if (this.count === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

const inDoubtBody = (() => {
  const w = new Writer(256);
  w.writeValue({ message: 'applied on the master; a replica did not acknowledge it in time (in doubt)' });
  return w.copy();
})();
