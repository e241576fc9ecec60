// Requests for a partition changing master, kept on the primary until the move completes
// (src/primary/failover.ts) and then routed again, to the new master; refused with
// PARTITION_UNAVAILABLE (never sent anywhere, so not applied) after HOLD_TIMEOUT_MS.

import { HELD_REQUESTS_MAX, HOLD_TIMEOUT_MS } from '../constants';
import { AerieError, Status } from '../errors';
import { Reader } from '../protocol/reader';
import type { Answerer } from '../endpoint/session';
import type { RouterCore } from './router-core';

/** A request for a partition changing master, kept until the move completes. */
interface HeldRequest {
  session: Answerer;
  id: number;
  op: number;
  body: Buffer;
  sinceMs: number;
  /** Answer bytes its session reserved. */
  reserved: number;
}

export class HeldRequests {
  private held: HeldRequest[] = [];
  private heldTimer: NodeJS.Timeout | null = null;

  constructor(private readonly r: RouterCore) {}

  /** Keeps a request for a partition changing master; it is routed again when the move completes. */
  hold(session: Answerer, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void {
    if (this.held.length >= HELD_REQUESTS_MAX) throw new AerieError(Status.DEVICE_OVERLOAD, 'too many requests held for partitions changing master');
    this.held.push({ session, id, op, body: Buffer.from(frame.subarray(bodyStart, bodyEnd)), sinceMs: Date.now(), reserved: session.routeReserve });
    if (this.heldTimer === null) {
      this.heldTimer = setInterval(() => this.expireHeld(), 100);
      this.heldTimer.unref();
    }
  }

  /** Routes the held requests again: those whose partition moved go to its new master. */
  release(): void {
    if (this.held.length === 0) return;
    const list = this.held;
    this.held = [];
    const r = new Reader(new Uint8Array(0));
    for (const h of list) {
      if (h.session.closed) continue;
      r.reset(h.body, 0, h.body.length);
      try {
        h.session.routeReserve = h.reserved;
        this.r.route(h.session, h.id, h.op, h.body, 0, h.body.length, r);
      } catch (err) {
        const e = err instanceof AerieError ? err : new AerieError(Status.SERVER_ERROR, String(err));
        h.session.respondAnswer(h.id, e.code, { message: e.message }, h.reserved);
      }
    }
    if (this.held.length === 0 && this.heldTimer !== null) {
      clearInterval(this.heldTimer);
      this.heldTimer = null;
    }
  }

  /** Held too long: refused, never sent anywhere (not applied). */
  private expireHeld(): void {
    const now = Date.now();
    const keep: HeldRequest[] = [];
    for (const h of this.held) {
      if (now - h.sinceMs < HOLD_TIMEOUT_MS) keep.push(h);
      else if (!h.session.closed) h.session.respondAnswer(h.id, Status.PARTITION_UNAVAILABLE, { message: `partition still changing master after ${HOLD_TIMEOUT_MS} ms` }, h.reserved);
    }
    this.held = keep;
    if (keep.length === 0 && this.heldTimer !== null) {
      clearInterval(this.heldTimer);
      this.heldTimer = null;
    }
  }
}
