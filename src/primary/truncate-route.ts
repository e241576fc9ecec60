// TRUNCATE through the router: sent to every worker (each deletes what it holds of the set) once
// the clock is past its cut-off, held while a snapshot restore of its namespace runs
// (src/primary/truncate-gate.ts), and answered when the last worker's part returns: in doubt
// (TIMEOUT) when some applied it and another did not or may not have.

import { DIGEST_BYTES } from '../constants';
import { AerieError, Status } from '../errors';
import { ReqOffset, SCAN_ALL_SETS } from '../protocol/internal';
import { Op } from '../protocol/ops';
import { unpackValue } from '../protocol/codec';
import type { Answerer } from '../endpoint/session';
import { SlotKind, type BroadcastState } from './requests';
import { elementMessage, type RouterCore } from './router-core';
import { TruncateGate } from './truncate-gate';

export class TruncateRoute {
  /** Truncates wait while a snapshot restore of their namespace runs. */
  private readonly truncateGate: TruncateGate;

  constructor(
    private readonly r: RouterCore,
    namespaceCount: number,
  ) {
    this.truncateGate = new TruncateGate(namespaceCount);
  }

  /**
   * Sends a TRUNCATE to every worker; each deletes what it holds of the set. Refused whole while
   * a worker has failed for good (its partitions would keep their records). The cut-off is fixed
   * here, once, so every worker applies the same one.
   */
  route(session: Answerer, id: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void {
    const f = this.r.fields;
    const nsIndex = this.r.nsIndex(f.ns);
    const nowMs = Date.now();
    if (f.beforeMs > nowMs) throw new AerieError(Status.PARAMETER, 'beforeMs must not be in the future');
    const beforeMs = f.beforeMs < 0 ? nowMs : f.beforeMs;
    const setId = f.set === null ? SCAN_ALL_SETS : this.r.setId(nsIndex, f.set, false);
    if (setId < 0) {
      // A set nobody has written to holds no records.
      session.respondAnswer(id, 0, { deleted: 0 }, session.routeReserve);
      return;
    }
    if (Date.now() > beforeMs) {
      this.sendTruncate(session, id, nsIndex, setId, beforeMs, frame, bodyStart, bodyEnd);
      return;
    }
    // Sent once the clock is past the cut-off: every write a master applies after the truncate
    // then has a later update time, so a replica that truncates later cannot delete it.
    const body = Buffer.from(frame.subarray(bodyStart, bodyEnd));
    const reserved = session.routeReserve;
    this.truncateGate.defer(nsIndex, 1);
    setTimeout(() => {
      this.truncateGate.defer(nsIndex, -1);
      this.sendTruncateOrAnswer(session, id, nsIndex, setId, beforeMs, body, reserved);
    }, 1);
  }

  /** Sends a deferred truncate with the answer bytes its request reserved, or answers its error. */
  private sendTruncateOrAnswer(session: Answerer, id: number, nsIndex: number, setId: number, beforeMs: number, body: Uint8Array, reserved: number): void {
    try {
      session.routeReserve = reserved;
      this.sendTruncate(session, id, nsIndex, setId, beforeMs, body, 0, body.length);
    } catch (err) {
      const e = err instanceof AerieError ? err : new AerieError(Status.SERVER_ERROR, String(err));
      session.respondAnswer(id, e.code, { message: e.message }, reserved);
    }
  }

  private sendTruncate(session: Answerer, id: number, nsIndex: number, setId: number, beforeMs: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void {
    if (this.truncateGate.held(nsIndex)) {
      // A restore of the namespace is under way: sent after it, so it truncates the restored state.
      const body = Buffer.from(frame.subarray(bodyStart, bodyEnd));
      const reserved = session.routeReserve;
      this.truncateGate.wait(nsIndex, () => this.sendTruncateOrAnswer(session, id, nsIndex, setId, beforeMs, body, reserved));
      return;
    }
    // A worker given up on is skipped if every partition it held has a master elsewhere (it will
    // never serve again); otherwise its records would survive the truncate, so it is refused.
    const targets = this.r.workers.filter((w) => w.accepting || !this.r.mastersNothing(nsIndex, w.index));
    this.r.checkBodyBytes(nsIndex, bodyEnd - bodyStart);
    const down = targets.find((w) => !w.accepting);
    if (down !== undefined) throw new AerieError(Status.PARTITION_UNAVAILABLE, `worker ${down.index} is down: truncate refused`);
    const slots: number[] = [];
    for (const w of targets) {
      const slot = this.r.table.acquire(session, id, SlotKind.BROADCAST, w.index);
      if (slot < 0) {
        for (const s of slots) this.r.table.release(s);
        throw new AerieError(Status.DEVICE_OVERLOAD, 'too many requests in flight on the node');
      }
      slots.push(slot);
    }
    const state: BroadcastState = {
      session,
      clientId: id,
      remaining: slots.length,
      applied: 0,
      deleted: 0,
      failedCode: 0,
      failedMessage: '',
      inDoubt: false,
      reserved: session.routeReserve,
      nsIndex,
      setId,
      startedMs: Date.now(),
    };
    const fields = Buffer.alloc(DIGEST_BYTES);
    fields.writeDoubleLE(beforeMs, ReqOffset.TRUNCATE_BEFORE_MS - ReqOffset.DIGEST);
    // Workers started from now on know the cut-off: a replica drops older images its master truncated.
    const known = this.r.truncateCutoffs.find((c) => c[0] === nsIndex && c[1] === setId);
    if (known === undefined) this.r.truncateCutoffs.push([nsIndex, setId, beforeMs]);
    else known[2] = Math.max(known[2], beforeMs);
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      const worker = targets[i];
      this.r.table.ops[slot] = Op.TRUNCATE;
      this.r.table.nsIndexes[slot] = nsIndex;
      this.r.table.extras[slot] = state;
      // The body goes along so each worker checks it as strictly as any other (unknown fields).
      if (!worker.send(slot, Op.TRUNCATE, nsIndex, 0, setId, fields, frame, bodyStart, bodyEnd)) {
        const body = elementMessage(`worker ${worker.index} queue is full`);
        this.r.onResponse(slot, Status.DEVICE_OVERLOAD, body, 0, body.length);
        continue;
      }
      this.r.markDirty(worker);
    }
  }

  /** One worker's part of a broadcast; the last one answers the client. */
  part(state: BroadcastState, code: number, bytes: Uint8Array, start: number, end: number): void {
    if (code === 0) {
      state.applied++;
      const body = end > start ? unpackValue(bytes, start, end) : null;
      const deleted = body !== null && typeof body === 'object' ? (body as { deleted?: unknown }).deleted : 0;
      state.deleted += typeof deleted === 'number' ? deleted : 0;
    } else {
      if (code === Status.TIMEOUT) state.inDoubt = true;
      if (state.failedCode === 0) {
        state.failedCode = code;
        const body = end > start ? unpackValue(bytes, start, end) : null;
        const message = body !== null && typeof body === 'object' ? (body as { message?: unknown }).message : undefined;
        state.failedMessage = typeof message === 'string' ? message : `error ${code}`;
      }
    }
    if (--state.remaining > 0) return;
    this.r.onTruncated?.(state);
    if (state.failedCode === 0) {
      state.session.respondAnswer(state.clientId, 0, { deleted: state.deleted }, state.reserved);
    } else if (state.inDoubt || state.applied > 0) {
      // Some workers applied it and one did not, or may not have: the client cannot know what
      // is left, so the answer is in doubt, never a plain failure.
      state.session.respondAnswer(
        state.clientId,
        Status.TIMEOUT,
        {
          message: `truncate applied on ${state.applied} of ${this.r.workers.length} workers: ${state.failedMessage}`,
        },
        state.reserved,
      );
    } else {
      state.session.respondAnswer(state.clientId, state.failedCode, { message: state.failedMessage }, state.reserved);
    }
  }

  /**
   * A snapshot restore of the namespace begins: its truncates wait until releaseTruncates. Resolves
   * once none is on its way to or in a worker; rejects (SERVER_ERROR, still held: the restore has
   * not begun) past `timeoutMs`.
   */
  async holdTruncates(nsIndex: number, timeoutMs: number): Promise<void> {
    this.truncateGate.hold(nsIndex);
    const deadline = Date.now() + timeoutMs;
    while (this.truncateGate.deferredCount(nsIndex) > 0 || this.truncatesInFlight(nsIndex) > 0) {
      if (Date.now() > deadline) {
        throw new AerieError(Status.SERVER_ERROR, `restore not begun, the namespace is unchanged: a truncate of it is still under way after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  releaseTruncates(nsIndex: number): void {
    this.truncateGate.release(nsIndex);
  }

  /**
   * A restore of the namespace committed: the records it brought back may be older than any
   * truncate's cut-off, which workers started from now on must not be given.
   */
  forgetTruncateCutoffs(nsIndex: number): void {
    for (let i = this.r.truncateCutoffs.length - 1; i >= 0; i--) if (this.r.truncateCutoffs[i][0] === nsIndex) this.r.truncateCutoffs.splice(i, 1);
  }

  private truncatesInFlight(nsIndex: number): number {
    const t = this.r.table;
    let count = 0;
    for (let slot = 0; slot < t.sessions.length; slot++) {
      if (t.sessions[slot] !== null && t.kinds[slot] === SlotKind.BROADCAST && t.ops[slot] === Op.TRUNCATE && t.nsIndexes[slot] === nsIndex) count++;
    }
    return count;
  }

  /** Namespaces with a TRUNCATE on its way to (or in) the worker: a dying worker may have missed them. */
  truncatesOn(workerIndex: number): number[] {
    const t = this.r.table;
    const out = new Set<number>();
    for (let slot = 0; slot < t.sessions.length; slot++) {
      if (t.sessions[slot] !== null && t.workers[slot] === workerIndex && t.kinds[slot] === SlotKind.BROADCAST && t.ops[slot] === Op.TRUNCATE) {
        out.add(t.nsIndexes[slot]);
      }
    }
    return [...out];
  }
}
