// The check every endpoint (the front's router, each worker's own) makes before it serves a keyed
// request while the quarantine is not empty (src/primary/quarantine.ts): a request that killed a
// worker is refused wherever it is sent again.

import { AerieError, Status } from '../errors';
import type { QuarantineTable } from '../shm/quarantine-table';
import { CloseCode, type Answerer } from './session';

/**
 * Throws FAIL_FORBIDDEN for a quarantined request (its digest at `digest[0..]`, its body at
 * `body[start, end)`), and closes its connection after this turn's answers are flushed (close
 * flushes too). Callers test `table.size` first: nothing is hashed while the table is empty.
 */
export function refuseQuarantined(table: QuarantineTable, session: Answerer, op: number, nsIndex: number, digest: Uint8Array, body: Uint8Array, start: number, end: number): void {
  if (!table.has(op, nsIndex, digest, 0, body, start, end)) return;
  setTimeout(() => session.close(CloseCode.POLICY, 'a request that killed a worker was sent again'), 0);
  throw new AerieError(Status.FAIL_FORBIDDEN, 'this request killed the worker applying it; it is refused and the connection closed');
}
