// The shared memory of replication: one ring per ordered worker pair (master -> replica), which
// outlives both threads, and one overflow flag per ring. The primary creates them all and hands
// them to every worker; a ring is replaced only when its reader must be copied whole anyway.
//
// flags (Int32): word 0 counts overflows (any channel; the primary watches it), then one word per
// channel, at 1 + from * n + to: set by the master when the ring had no room, so the replica missed
// writes and must be copied; cleared by the master when the primary hands it a fresh ring. Then one
// word per channel, at 1 + n * n + from * n + to: set by the primary while it holds writes waiting
// for that replica's release, so the replica tells it when it releases (an ACK response); when
// the replica released before the master's answer was read, nobody waits and no ACK is sent.

import { REPL_RING_BYTES } from '../constants';
import { Ring } from '../shm/ring';

export const OVERFLOW_EPOCH = 0;

/** Who waits for a replica's release, and so whom the replica wakes. */
export const AckWaiter = {
  /** The primary, for writes routed through a ring (an ACK response wakes it). */
  PRIMARY: 1,
  /** The master worker, for writes its own endpoint served (its doorbell wakes it). */
  MASTER: 2,
} as const;
export type AckWaiter = (typeof AckWaiter)[keyof typeof AckWaiter];

export class ReplicationChannels {
  readonly n: number;
  /** Data bytes of each ring (replacements get the same). */
  readonly ringBytes: number;
  /** rings[from * n + to]; null on the diagonal. */
  readonly rings: (SharedArrayBuffer | null)[];
  readonly flagsSab: SharedArrayBuffer;
  readonly flags: Int32Array;
  /** Int32 views of each ring's header (Ring.wordsOf), for reading positions from any thread. */
  private readonly headers: (Int32Array | null)[];

  private constructor(n: number, rings: (SharedArrayBuffer | null)[], flagsSab: SharedArrayBuffer, ringBytes: number) {
    this.n = n;
    this.ringBytes = ringBytes;
    this.rings = rings;
    this.flagsSab = flagsSab;
    this.flags = new Int32Array(flagsSab);
    this.headers = rings.map((sab) => (sab === null ? null : Ring.wordsOf(sab)));
  }

  /** Rings between every pair of workers; ringBytes 0: none (no namespace is replicated). */
  static create(n: number, ringBytes: number = REPL_RING_BYTES): ReplicationChannels {
    const rings: (SharedArrayBuffer | null)[] = [];
    for (let from = 0; from < n; from++) {
      for (let to = 0; to < n; to++) rings.push(from === to || ringBytes === 0 ? null : Ring.create(ringBytes).sab);
    }
    return new ReplicationChannels(n, rings, new SharedArrayBuffer((1 + 3 * n * n) * 4), ringBytes);
  }

  static attach(n: number, rings: (SharedArrayBuffer | null)[], flagsSab: SharedArrayBuffer): ReplicationChannels {
    return new ReplicationChannels(n, rings, flagsSab, 0);
  }

  ring(from: number, to: number): SharedArrayBuffer | null {
    return this.rings[from * this.n + to];
  }

  /** The producer's published position of from -> to (u32). */
  tail(from: number, to: number): number {
    return Ring.publishedTail(this.headers[from * this.n + to]!);
  }

  /** The consumer's released position of from -> to (u32): what the replica acknowledged. */
  head(from: number, to: number): number {
    return Ring.releasedHead(this.headers[from * this.n + to]!);
  }

  /** Every channel released to its published end, none overflowed: each replica applied all it was sent. */
  allDrained(): boolean {
    for (let from = 0; from < this.n; from++) {
      for (let to = 0; to < this.n; to++) {
        if (this.ring(from, to) === null) continue;
        if (this.overflowed(from, to) || this.head(from, to) !== this.tail(from, to)) return false;
      }
    }
    return true;
  }

  overflowed(from: number, to: number): boolean {
    return Atomics.load(this.flags, 1 + from * this.n + to) !== 0;
  }

  setOverflowed(from: number, to: number, on: boolean): void {
    Atomics.store(this.flags, 1 + from * this.n + to, on ? 1 : 0);
    if (on) Atomics.add(this.flags, OVERFLOW_EPOCH, 1);
  }

  /**
   * Primary: writes are (or are about to be) held for `to`'s release of from -> to. Set it before
   * reading the head, and the replica reads it after storing the head: with both sequentially
   * consistent, either the primary sees the release or the replica sees the wish.
   */
  setAckWanted(from: number, to: number, on: boolean, waiter: AckWaiter = AckWaiter.PRIMARY): void {
    Atomics.store(this.flags, 1 + waiter * this.n * this.n + from * this.n + to, on ? 1 : 0);
  }

  /** Replica, after releasing from -> to: must it tell the primary (or, for MASTER, ring the master)? */
  ackWanted(from: number, to: number, waiter: AckWaiter = AckWaiter.PRIMARY): boolean {
    return Atomics.load(this.flags, 1 + waiter * this.n * this.n + from * this.n + to) !== 0;
  }

  get overflowEpoch(): number {
    return Atomics.load(this.flags, OVERFLOW_EPOCH);
  }

  /** Primary: a fresh ring for from -> to (the old one's content is dropped with it). */
  replace(from: number, to: number): SharedArrayBuffer {
    const sab = Ring.create(this.ringBytes > 0 ? this.ringBytes : REPL_RING_BYTES).sab;
    this.rings[from * this.n + to] = sab;
    this.headers[from * this.n + to] = Ring.wordsOf(sab);
    return sab;
  }
}

/** Ring positions are free-running u32: true when `a` is at or past `b`. */
export function reached(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}
