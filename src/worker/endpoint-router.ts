// Where a worker endpoint's requests go. A read of a memory partition this worker masters is
// served here (src/worker/local-requests.ts). Every other keyed request, batch, scan and truncate is
// forwarded to the primary's router over postMessage and answered on the socket it came from, so
// the ok / failed / in-doubt rules are the router's, unchanged; admin requests (INFO, VERIFY,
// SNAPSHOT, WORKER_RESTART, FAULT) reach the primary the same way (docs/protocol.md §13).

import { FORWARDS_IN_FLIGHT_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import type { Session, SessionRouter } from '../endpoint/session';
import type { Reader } from '../protocol/reader';
import type { AdminAction, EndpointFromWorker } from './thread-messages';
import type { LocalRequests } from './local-requests';

/** A request sent to the primary and not yet answered. */
interface Forwarded {
  session: Session;
  id: number;
  /** Answer bytes its session reserved (handed back with the answer). */
  reserved: number;
}

interface PendingAdmin {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class ForwardingRouter implements SessionRouter {
  private readonly forwarded = new Map<number, Forwarded>();
  private readonly admins = new Map<number, PendingAdmin>();
  private nextSeq = 1;

  constructor(
    private readonly send: (m: EndpointFromWorker, transfer?: ArrayBuffer[]) => void,
    /** The connection number of a session (the primary names connections by it). */
    private readonly connOf: (s: Session) => number,
    private readonly local: LocalRequests,
  ) {}

  route(session: Session, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number, r: Reader): void {
    if (this.local.serve(session, id, op, frame, bodyStart, bodyEnd, r)) return;
    this.forward(session, id, op, frame, bodyStart, bodyEnd, session.routeReserve);
  }

  /** Sends a request to the primary; `reserved`: the answer bytes its session reserved for it. */
  forward(session: Session, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number, reserved: number): void {
    const seq = this.take(session, id, reserved);
    // A copy of its own: the frame's buffer is ws's, and the copy is handed over, not cloned again.
    const body = new Uint8Array(frame.subarray(bodyStart, bodyEnd));
    this.send({ type: 'forward', seq, conn: this.connOf(session), op, body, frameBytesMax: session.answerFrameBytesMax }, [body.buffer as ArrayBuffer]);
  }

  sendFault(session: Session, id: number, worker: number, kind: string): void {
    const seq = this.take(session, id, session.routeReserve);
    this.send({ type: 'forward-fault', seq, conn: this.connOf(session), worker, kind });
  }

  /**
   * A closed session: its requests are forgotten here (the primary stops answering a closed
   * connection's, so nothing else would remove them). A scan of the table, as the front's
   * router does on a close.
   */
  forget(session: Session): void {
    for (const [seq, f] of this.forwarded) if (f.session === session) this.forwarded.delete(seq);
  }

  /** Runs an admin request on the primary; settles with its value or its coded error. */
  admin(action: AdminAction, args: unknown): Promise<unknown> {
    if (this.admins.size >= FORWARDS_IN_FLIGHT_MAX) return Promise.reject(overloaded());
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      this.admins.set(seq, { resolve, reject });
      this.send({ type: 'admin', seq, action, args });
    });
  }

  /** The primary's answer to forwarded request `seq`. */
  answered(seq: number, code: number, body: Uint8Array): void {
    const f = this.forwarded.get(seq);
    if (f === undefined) return;
    this.forwarded.delete(seq);
    f.session.respondRaw(f.id, code, body, 0, body.length, f.reserved);
  }

  adminAnswered(seq: number, error: { code: number; message: string } | null, value: unknown): void {
    const a = this.admins.get(seq);
    if (a === undefined) return;
    this.admins.delete(seq);
    if (error === null) a.resolve(value);
    else a.reject(new AerieError(error.code, error.message));
  }

  get inFlight(): number {
    return this.forwarded.size + this.admins.size;
  }

  private take(session: Session, id: number, reserved: number): number {
    if (this.forwarded.size >= FORWARDS_IN_FLIGHT_MAX) throw overloaded();
    const seq = this.nextSeq++;
    this.forwarded.set(seq, { session, id, reserved });
    return seq;
  }
}

function overloaded(): AerieError {
  return new AerieError(Status.DEVICE_OVERLOAD, `at most ${FORWARDS_IN_FLIGHT_MAX} requests forwarded from one worker endpoint at once`);
}
