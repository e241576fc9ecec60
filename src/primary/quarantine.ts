// Requests a worker died applying ("poison requests"). A worker records in its shared stats the
// request message it is applying (src/worker/main.ts); when its thread dies, not stopped by an
// operator, that message is noted here. Sent again (the SDK retries a read that met a dead worker,
// a client may resend a write), it is refused with FAIL_FORBIDDEN (22) and its connection is
// closed, instead of being applied and killing the next worker: a crash loop caused by one bad
// request must not take the node down. The first death answers it as any death does (a write in
// doubt, TIMEOUT; a read PARTITION_UNAVAILABLE).

import { QUARANTINED_REQUESTS_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import { DIGEST_BYTES } from '../constants';
import { REQ_HEADER_BYTES, ReqOffset } from '../protocol/internal';
import { crc32c } from '../storage/crc32c';
import { CloseCode, type Session } from './session';

/** What identifies a request across sends: op, namespace, digest and body (not its slot or flags). */
function fingerprint(op: number, nsIndex: number, digest: Uint8Array, digestOffset: number, body: Uint8Array, start: number, end: number): string {
  let crc = crc32c(digest, digestOffset, digestOffset + DIGEST_BYTES, op * 256 + nsIndex);
  crc = crc32c(body, start, end, crc);
  return `${op}:${nsIndex}:${end - start}:${crc}`;
}

export class Quarantine {
  /** Fingerprints, oldest first (at most QUARANTINED_REQUESTS_MAX). */
  private readonly requests = new Set<string>();

  get size(): number {
    return this.requests.size;
  }

  /** A worker died applying `message` (a request ring message: 32-byte header, then the body). */
  noteDeath(message: Uint8Array): void {
    const op = message[ReqOffset.OP];
    const key = fingerprint(op, message[ReqOffset.NS], message, ReqOffset.DIGEST, message, REQ_HEADER_BYTES, message.length);
    this.requests.delete(key);
    this.requests.add(key);
    if (this.requests.size > QUARANTINED_REQUESTS_MAX) this.requests.delete(this.requests.values().next().value as string);
  }

  /**
   * Throws FAIL_FORBIDDEN for a quarantined request and closes its connection once the answer is
   * out. Callers check `size` first: nothing is hashed while the quarantine is empty.
   */
  check(session: Session, op: number, nsIndex: number, digest: Uint8Array, body: Uint8Array, start: number, end: number): void {
    if (!this.requests.has(fingerprint(op, nsIndex, digest, 0, body, start, end))) return;
    // After this turn's answers are flushed (close flushes too).
    setTimeout(() => session.close(CloseCode.POLICY, 'a request that killed a worker was sent again'), 0);
    throw new AerieError(Status.FAIL_FORBIDDEN, 'this request killed the worker applying it; it is refused and the connection closed');
  }
}
