// Requests a worker died applying ("poison requests"). A worker records in its shared stats where
// the request message it is applying lies (its request ring, or the queue and message buffer of
// its own endpoint: src/worker/main.ts); when its thread dies, not stopped by an operator, that
// message is noted here. Sent again (the SDK retries a read that met a dead worker, a client may
// resend a write), it is refused with FAIL_FORBIDDEN (22) and its connection is closed, on the
// front and on every worker endpoint alike (the fingerprints live in shared memory,
// src/shm/quarantine-table.ts), instead of being applied and killing the next worker: a crash
// loop caused by one bad request must not take the node down. The first death answers it as any
// death does (a write in doubt, TIMEOUT; a read PARTITION_UNAVAILABLE, or a lost connection).

import { QUARANTINED_REQUESTS_MAX } from '../constants';
import { REQ_HEADER_BYTES, ReqOffset } from '../protocol/internal';
import { QuarantineTable } from '../shm/quarantine-table';
import { crc32c } from '../storage/crc32c';
import type { Answerer } from '../endpoint/session';
import { refuseQuarantined } from '../endpoint/quarantined';

/** Adds `key` as the newest, dropping the oldest past QUARANTINED_REQUESTS_MAX. */
function addBounded(set: Set<string>, key: string): void {
  set.delete(key);
  set.add(key);
  if (set.size > QUARANTINED_REQUESTS_MAX) set.delete(set.values().next().value as string);
}

export class Quarantine {
  /** The quarantined requests, shared with the worker endpoints. */
  readonly table: QuarantineTable;
  /** Requests in flight at a death that does not blame them alone (a hang), oldest first. */
  private readonly suspects = new Set<string>();

  constructor(table: QuarantineTable = QuarantineTable.create()) {
    this.table = table;
  }

  get size(): number {
    return this.table.size;
  }

  /**
   * A worker died applying `message` (a request ring message: 32-byte header, then the body).
   * `blamed`: the death lies with the request (the thread failed by itself: an exception, an
   * exit, its heap limit); otherwise (the supervisor ended it: a stale heartbeat, a heap past
   * heapRestartPct) it is quarantined at its second such death. Returns
   * whether it is quarantined now.
   */
  noteDeath(message: Uint8Array, blamed: boolean): boolean {
    const op = message[ReqOffset.OP];
    const nsIndex = message[ReqOffset.NS];
    if (!blamed) {
      const key = `${op}:${nsIndex}:${message.length}:${crc32c(message, ReqOffset.DIGEST, message.length)}`;
      if (!this.suspects.has(key)) {
        addBounded(this.suspects, key);
        return false;
      }
      this.suspects.delete(key);
    }
    this.table.add(op, nsIndex, message, ReqOffset.DIGEST, message, REQ_HEADER_BYTES, message.length);
    return true;
  }

  /**
   * Throws FAIL_FORBIDDEN for a quarantined request and closes its connection once the answer is
   * out. Callers check `size` first: nothing is hashed while the quarantine is empty.
   */
  check(session: Answerer, op: number, nsIndex: number, digest: Uint8Array, body: Uint8Array, start: number, end: number): void {
    refuseQuarantined(this.table, session, op, nsIndex, digest, body, start, end);
  }
}
