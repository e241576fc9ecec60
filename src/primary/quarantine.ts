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
import { CloseCode, type Answerer } from '../endpoint/session';

/** Adds `key` as the newest, dropping the oldest past QUARANTINED_REQUESTS_MAX. */
function addBounded(set: Set<string>, key: string): void {
  set.delete(key);
  set.add(key);
  if (set.size > QUARANTINED_REQUESTS_MAX) set.delete(set.values().next().value as string);
}

/** What identifies a request across sends: op, namespace, digest and body (not its slot or flags). */
function fingerprint(op: number, nsIndex: number, digest: Uint8Array, digestOffset: number, body: Uint8Array, start: number, end: number): string {
  let crc = crc32c(digest, digestOffset, digestOffset + DIGEST_BYTES, op * 256 + nsIndex);
  crc = crc32c(body, start, end, crc);
  return `${op}:${nsIndex}:${end - start}:${crc}`;
}

export class Quarantine {
  /** Fingerprints, oldest first (at most QUARANTINED_REQUESTS_MAX). */
  private readonly requests = new Set<string>();
  /** Requests in flight at a death that does not blame them alone (a hang), oldest first. */
  private readonly suspects = new Set<string>();

  get size(): number {
    return this.requests.size;
  }

  /**
   * A worker died applying `message` (a request ring message: 32-byte header, then the body).
   * `blamed`: the death lies with the request (the thread failed by itself: an exception, an
   * exit, its heap limit); otherwise (the supervisor ended it: a stale heartbeat, a heap past
   * heapRestartPct) it is quarantined at its second such death. Returns
   * whether it is quarantined now.
   */
  noteDeath(message: Uint8Array, blamed: boolean): boolean {
    const key = fingerprint(message[ReqOffset.OP], message[ReqOffset.NS], message, ReqOffset.DIGEST, message, REQ_HEADER_BYTES, message.length);
    if (!blamed && !this.suspects.has(key)) {
      addBounded(this.suspects, key);
      return false;
    }
    this.suspects.delete(key);
    addBounded(this.requests, key);
    return true;
  }

  /**
   * Throws FAIL_FORBIDDEN for a quarantined request and closes its connection once the answer is
   * out. Callers check `size` first: nothing is hashed while the quarantine is empty.
   */
  check(session: Answerer, op: number, nsIndex: number, digest: Uint8Array, body: Uint8Array, start: number, end: number): void {
    if (!this.requests.has(fingerprint(op, nsIndex, digest, 0, body, start, end))) return;
    // After this turn's answers are flushed (close flushes too).
    setTimeout(() => session.close(CloseCode.POLICY, 'a request that killed a worker was sent again'), 0);
    throw new AerieError(Status.FAIL_FORBIDDEN, 'this request killed the worker applying it; it is refused and the connection closed');
  }
}
