// Writes answered by their master and waiting for their replicas (commit level all,
// docs/replication.md), wherever the write is answered: the primary holds the writes it routed
// through a worker's ring, and a master worker holds the writes its own endpoint served
// (src/worker/local-writes.ts); each has an instance of its own and its own ACK flags. A master
// commits a batch's replication messages to its channels before it
// publishes the batch's answers, so when an answer arrives here, the channel's published tail
// already covers the write. The answer is held until each replica that holds the partition in
// sync has released the channel up to that tail: the replica has applied the write (and logged
// it, for a file namespace). Waiting on the tail rather than on the write's own position costs at
// most the rest of that batch.
//
// A replica that dies or falls out of sync stops counting: what it was owed is then on the master
// (and in the channel, for when it returns). A write still waiting after REPLICA_ACK_TIMEOUT_MS is
// answered TIMEOUT, in doubt: it is applied on the master, but not known to be on the replica.
//
// Nearly every write waits here, so nothing is allocated per write: per request slot, typed arrays
// hold the answer's code, the channels still owed and the time, and the answer's body when it is
// short (a put's {gen, ttl}); per channel, a growable ring of (slot, stamp, tail) keeps the waits in
// tail order. A stamp per slot tells a queued wait from a later request that reuses its slot.
//
// A replica wakes the waiting thread (an ACK response for the primary, the master's doorbell for
// a master worker) only while a channel's ack flag for that waiter is up: raised here when a
// channel's first wait is queued, dropped when its queue empties. A write whose replicas released
// before its answer was read costs no wake-up at all.

import { REPLICA_ACK_TIMEOUT_MS } from '../constants';
import { AckWaiter, reached, type ReplicationChannels } from './channels';

export interface WaitHost {
  /** Answers a held write (its slot is released by the callee). */
  answer(slot: number, code: number, body: Uint8Array, start: number, end: number): void;
  /**
   * A held write no replica acknowledged in time: answer it TIMEOUT, in doubt (it is applied on
   * the master, not known to be on the replica). The slot is released by the callee.
   */
  inDoubt(slot: number): void;
}

/** Answer bodies up to this many bytes are kept inline; longer ones are copied. */
const INLINE_BODY_BYTES = 48;
const SLOTS_INITIAL = 1024;
const QUEUE_INITIAL = 256;

/** The waits on one channel, oldest first: a ring of (slot, stamp, tail) that doubles when full. */
class ChannelQueue {
  slots = new Int32Array(QUEUE_INITIAL);
  stamps = new Uint32Array(QUEUE_INITIAL);
  tails = new Uint32Array(QUEUE_INITIAL);
  head = 0;
  length = 0;

  push(slot: number, stamp: number, tail: number): void {
    if (this.length === this.slots.length) this.grow();
    const i = (this.head + this.length) & (this.slots.length - 1);
    this.slots[i] = slot;
    this.stamps[i] = stamp;
    this.tails[i] = tail;
    this.length++;
  }

  shift(): void {
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.length--;
  }

  private grow(): void {
    const n = this.slots.length;
    const slots = new Int32Array(n * 2);
    const stamps = new Uint32Array(n * 2);
    const tails = new Uint32Array(n * 2);
    for (let k = 0; k < this.length; k++) {
      const i = (this.head + k) & (n - 1);
      slots[k] = this.slots[i];
      stamps[k] = this.stamps[i];
      tails[k] = this.tails[i];
    }
    this.slots = slots;
    this.stamps = stamps;
    this.tails = tails;
    this.head = 0;
  }
}

export class ReplicaWaits {
  private readonly n: number;
  private readonly queues: ChannelQueue[];
  // Per request slot, grown to the highest slot seen.
  private needs = new Uint8Array(SLOTS_INITIAL);
  private stamps = new Uint32Array(SLOTS_INITIAL);
  private codes = new Int32Array(SLOTS_INITIAL);
  private sinceMs = new Float64Array(SLOTS_INITIAL);
  private bodyLengths = new Int32Array(SLOTS_INITIAL);
  private inline = new Uint8Array(SLOTS_INITIAL * INLINE_BODY_BYTES);
  private readonly longBodies = new Map<number, Buffer>();
  private timer: NodeJS.Timeout | null = null;
  count = 0;

  constructor(
    private readonly channels: ReplicationChannels,
    private readonly host: WaitHost,
    /** Whose ACK flags this instance raises: the replica wakes that thread. */
    private readonly waiter: AckWaiter = AckWaiter.PRIMARY,
  ) {
    this.n = channels.n;
    this.queues = Array.from({ length: this.n * this.n }, () => new ChannelQueue());
  }

  /**
   * Holds a write's answer until the replicas replicas[0, count) (workers in sync for its
   * partition, the master excluded) have applied it. Returns false when none has to be waited for.
   */
  hold(slot: number, from: number, replicas: Int32Array, count: number, code: number, bytes: Uint8Array, start: number, end: number): boolean {
    let owed = 0;
    for (let i = 0; i < count; i++) {
      const to = replicas[i];
      if (this.channels.ring(from, to) === null) continue;
      const tail = this.channels.tail(from, to);
      // Most often the replica released already and nothing is held.
      if (reached(this.channels.head(from, to), tail)) continue;
      const q = this.queues[from * this.n + to];
      if (q.length === 0) {
        // About to wait: ask for an ACK, then look again (channels.ts): a release between the two
        // looks sees the flag, or the second look sees the release.
        this.channels.setAckWanted(from, to, true, this.waiter);
        if (reached(this.channels.head(from, to), tail)) {
          this.channels.setAckWanted(from, to, false, this.waiter);
          continue;
        }
      }
      if (owed === 0) this.keep(slot, code, bytes, start, end);
      owed++;
      q.push(slot, this.stamps[slot], tail);
    }
    if (owed === 0) return false;
    this.needs[slot] = owed;
    this.count++;
    if (this.timer === null) {
      this.timer = setInterval(() => this.expire(), 100);
      this.timer.unref();
    }
    return true;
  }

  /** Replica `to` released some channel: answer what it now covers. */
  onAck(to: number): void {
    for (let from = 0; from < this.n; from++) this.settleChannel(from, to);
  }

  private settleChannel(from: number, to: number): void {
    const q = this.queues[from * this.n + to];
    if (q.length === 0) return;
    const head = this.channels.head(from, to);
    while (q.length > 0 && reached(head, q.tails[q.head])) {
      const slot = q.slots[q.head];
      const stamp = q.stamps[q.head];
      q.shift();
      this.settle(slot, stamp);
    }
    if (q.length === 0) this.channels.setAckWanted(from, to, false, this.waiter);
  }

  /**
   * A master worker's look, each loop turn while writes wait (it has no ACK message to react to):
   * answers what its replicas released, and stops waiting for a replica `gone` says no longer
   * counts. Returns how many writes were answered.
   */
  poll(from: number, gone: (to: number) => boolean): number {
    if (this.count === 0) return 0;
    const before = this.count;
    for (let to = 0; to < this.n; to++) {
      const q = this.queues[from * this.n + to];
      if (q.length === 0) continue;
      if (gone(to)) this.dropChannel(from, to);
      else this.settleChannel(from, to);
    }
    return before - this.count;
  }

  /** Replica `to` died or fell out of sync: it is no longer waited for. */
  dropReplica(to: number): void {
    for (let from = 0; from < this.n; from++) this.dropChannel(from, to);
  }

  private dropChannel(from: number, to: number): void {
    const q = this.queues[from * this.n + to];
    while (q.length > 0) {
      const slot = q.slots[q.head];
      const stamp = q.stamps[q.head];
      q.shift();
      this.settle(slot, stamp);
    }
    this.channels.setAckWanted(from, to, false, this.waiter);
  }

  private keep(slot: number, code: number, bytes: Uint8Array, start: number, end: number): void {
    if (slot >= this.needs.length) this.growSlots(slot + 1);
    this.stamps[slot] = (this.stamps[slot] + 1) >>> 0;
    this.codes[slot] = code;
    this.sinceMs[slot] = Date.now();
    const length = end - start;
    if (length <= INLINE_BODY_BYTES) {
      this.bodyLengths[slot] = length;
      const at = slot * INLINE_BODY_BYTES;
      for (let i = 0; i < length; i++) this.inline[at + i] = bytes[start + i];
    } else {
      this.bodyLengths[slot] = -1;
      this.longBodies.set(slot, Buffer.from(bytes.subarray(start, end)));
    }
  }

  /** One channel acknowledged the write waiting in `slot` (if that wait is still the slot's). */
  private settle(slot: number, stamp: number): void {
    if (this.stamps[slot] !== stamp || this.needs[slot] === 0 || --this.needs[slot] > 0) return;
    this.finish(slot, this.codes[slot]);
  }

  /** `code`: the write's own, or TIMED_OUT. */
  private finish(slot: number, code: number): void {
    this.needs[slot] = 0;
    this.count--;
    const length = this.bodyLengths[slot];
    if (code === TIMED_OUT) {
      this.host.inDoubt(slot);
    } else if (length >= 0) {
      const at = slot * INLINE_BODY_BYTES;
      this.host.answer(slot, code, this.inline, at, at + length);
    } else {
      const body = this.longBodies.get(slot)!;
      this.host.answer(slot, code, body, 0, body.length);
    }
    if (length < 0) this.longBodies.delete(slot);
  }

  private growSlots(atLeast: number): void {
    let size = this.needs.length;
    while (size < atLeast) size *= 2;
    const grow = <T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.needs = grow(this.needs, (k) => new Uint8Array(k));
    this.stamps = grow(this.stamps, (k) => new Uint32Array(k));
    this.codes = grow(this.codes, (k) => new Int32Array(k));
    this.sinceMs = grow(this.sinceMs, (k) => new Float64Array(k));
    this.bodyLengths = grow(this.bodyLengths, (k) => new Int32Array(k));
    this.inline = grow(this.inline, (k) => new Uint8Array(k * INLINE_BODY_BYTES));
  }

  /** Waits older than REPLICA_ACK_TIMEOUT_MS are answered in doubt; their queue entries go stale. */
  private expire(): void {
    const now = Date.now();
    for (let c = 0; c < this.queues.length; c++) {
      const q = this.queues[c];
      if (q.length === 0) continue;
      while (q.length > 0) {
        const slot = q.slots[q.head];
        if (this.stamps[slot] === q.stamps[q.head] && this.needs[slot] > 0) {
          if (now - this.sinceMs[slot] < REPLICA_ACK_TIMEOUT_MS) break;
          this.finish(slot, TIMED_OUT);
        }
        q.shift();
      }
      if (q.length === 0) this.channels.setAckWanted(Math.floor(c / this.n), c % this.n, false, this.waiter);
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

/** Not a result code: finish()'s mark for a wait that timed out. */
const TIMED_OUT = -1;
