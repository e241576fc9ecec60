// Bytes of answers a connection, and the whole node, may hold at once: reserved when a request is
// accepted, before any work is done, so a client that does not read its socket (or reads it
// slowly) can only slow itself down. A connection's bytes are
//   its requests in flight, each at a conservative bound of its answer (estimate() below),
//   + the answer frame being built, + what its socket has not sent yet.
// A request that would take a connection past `perConnectionBytesMax`, or the node past
// `bytesMax`, waits (the session stops reading that socket) until answers drain. A connection
// holding nothing may always take one request, so a large batch or scan cannot wait forever.
// When the node is short, every connection whose socket has sent nothing for ANSWER_STALL_MS
// while holding unsent answers (it is not reading) is closed: enough such connections could
// otherwise hold the whole budget and make every other client wait.

import { ANSWER_ADMIN_BYTES, ANSWER_STALL_MS, ANSWER_ENVELOPE_BYTES, ANSWER_SMALL_BYTES, BATCH_ELEMENT_ENVELOPE_BYTES, SCAN_PAGE_BYTES_MAX } from '../constants';
import { Op } from '../protocol/ops';
import { fail } from '../assert';

/** A session as the budget sees it: it is told when room may have been freed. */
export interface BudgetWaiter {
  budgetFreed(): void;
}

/** A connection holding budget: how much of it is stuck in a socket nobody reads, and a way out. */
export interface BudgetHolder {
  /** Unsent bytes held by a socket that has sent nothing for `stallMs` (0 when it is moving). */
  stalledBytes(nowMs: number, stallMs: number): number;
  /** Closes the connection (its budget is given back). */
  evict(): void;
}

export class AnswerBudget {
  /** Bytes reserved or held by every connection (requests in flight, frames, socket queues). */
  used = 0;
  private readonly waiters = new Set<BudgetWaiter>();
  private wakeScheduled = false;
  /** Every open connection (a scan over them runs only while the node is short). */
  private readonly holders = new Set<BudgetHolder>();
  private evictTimer: NodeJS.Timeout | null = null;
  /** Connections closed for holding the node's budget without reading (INFO could show it). */
  evictions = 0;

  constructor(
    /** Node-wide bound (service.answerBytesMax). */
    readonly bytesMax: number,
    /** Per-connection bound (service.sendBufferBytesMax). */
    readonly perConnectionBytesMax: number,
    /** The largest record any namespace accepts: the bound of one read's answer. */
    readonly recordBytesMax: number,
  ) {
    // Configuration validation refuses these (service.answerBytesMax >= sendBufferBytesMax), so a
    // violation is a bug: an invariant, coded SERVER_ERROR.
    if (!(perConnectionBytesMax > 0 && perConnectionBytesMax <= bytesMax && recordBytesMax > 0)) {
      fail(`answer budget: per connection ${perConnectionBytesMax}, node ${bytesMax}, record ${recordBytesMax}`);
    }
  }

  /**
   * A bound on the answer to `op` (`keyCount` keys for a batch) on a connection whose frames hold
   * at most `frameBytesMax`: an answer larger than one frame is refused RECORD_TOO_BIG, so no
   * answer holds more than that.
   */
  estimate(op: number, keyCount: number, frameBytesMax: number): number {
    switch (op) {
      case Op.GET:
      case Op.OPERATE:
        return Math.min(frameBytesMax, this.recordBytesMax + ANSWER_ENVELOPE_BYTES);
      case Op.BATCH_GET:
        return Math.min(frameBytesMax, ANSWER_ENVELOPE_BYTES + keyCount * (this.recordBytesMax + BATCH_ELEMENT_ENVELOPE_BYTES));
      case Op.BATCH_EXISTS:
        return Math.min(frameBytesMax, ANSWER_ENVELOPE_BYTES + keyCount * BATCH_ELEMENT_ENVELOPE_BYTES);
      case Op.SCAN:
        return Math.min(frameBytesMax, SCAN_PAGE_BYTES_MAX + this.recordBytesMax + ANSWER_ENVELOPE_BYTES);
      case Op.INFO:
      case Op.VERIFY:
      case Op.SNAPSHOT:
        return ANSWER_ADMIN_BYTES;
      default:
        return ANSWER_SMALL_BYTES;
    }
  }

  /** Whether the node can take `bytes` more (a node holding nothing always can). */
  fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.bytesMax;
  }

  take(bytes: number): void {
    this.used += bytes;
  }

  give(bytes: number): void {
    this.used -= bytes;
    if (this.used < 0) this.used = 0; // never below zero, whatever a bug elsewhere did
    if (this.waiters.size > 0 && !this.wakeScheduled) {
      this.wakeScheduled = true;
      setImmediate(() => this.wake());
    }
  }

  /** `w` waits for node-wide room; it is told once, then must ask again if still short. */
  wait(w: BudgetWaiter): void {
    this.waiters.add(w);
    this.evictStalled();
  }

  hold(h: BudgetHolder): void {
    this.holders.add(h);
  }

  forget(w: BudgetWaiter & BudgetHolder): void {
    this.waiters.delete(w);
    this.holders.delete(w);
  }

  /**
   * While requests wait for node-wide room, closes the connections whose bytes are stuck in a
   * socket that is not being read; checks again every ANSWER_STALL_MS while any still wait.
   */
  private evictStalled(): void {
    if (this.evictTimer !== null) return;
    const nowMs = Date.now();
    const stalled = [...this.holders].filter((h) => h.stalledBytes(nowMs, ANSWER_STALL_MS) > 0);
    for (const h of stalled) {
      this.evictions++;
      h.evict();
    }
    this.evictTimer = setTimeout(() => {
      this.evictTimer = null;
      if (this.waiters.size > 0) this.evictStalled();
    }, ANSWER_STALL_MS);
    this.evictTimer.unref();
  }

  private wake(): void {
    this.wakeScheduled = false;
    const list = [...this.waiters];
    this.waiters.clear();
    for (const w of list) w.budgetFreed();
  }
}
