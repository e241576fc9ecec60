// Where a worker endpoint's requests go. A keyed request of a partition this worker masters is
// served here (src/worker/local-requests.ts). Every other keyed request, batch, scan and truncate is
// forwarded to the primary's router and answered on the socket it came from, so the ok / failed /
// in-doubt rules are the router's, unchanged; admin requests (INFO, VERIFY, SNAPSHOT,
// WORKER_RESTART, FAULT) reach the primary the same way (docs/protocol.md §13). The requests
// forwarded in one event-loop turn cross in one message (a Packed batch), and so do their answers:
// a postMessage costs about 6 µs of CPU on each side, more than routing the request.

import { FORWARDS_IN_FLIGHT_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import type { Session, SessionRouter } from '../endpoint/session';
import type { Reader } from '../protocol/reader';
import { ANSWER_FIELDS, FORWARD_FIELDS, Packer, transferOf, type AdminAction, type EndpointFromWorker, type Packed } from './thread-messages';
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
  /** This turn's forwarded requests, sent together at the turn's end. */
  private readonly outbox = new Packer(FORWARD_FIELDS);
  private flushScheduled = false;
  private readonly flushLater = () => {
    this.flushScheduled = false;
    this.flush();
  };

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
    this.outbox.add(seq, this.connOf(session), op, session.answerFrameBytesMax, frame, bodyStart, bodyEnd);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushLater);
  }

  /**
   * Sends what this turn forwarded, in one message. Called before any other message to the
   * primary too, so a connection's close never overtakes its requests.
   */
  flush(): void {
    if (this.outbox.size === 0) return;
    const packed = this.outbox.take();
    this.send({ type: 'forward', ...packed }, transferOf(packed));
  }

  sendFault(session: Session, id: number, worker: number, kind: string): void {
    const seq = this.take(session, id, session.routeReserve);
    this.flush();
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
      this.flush();
      this.send({ type: 'admin', seq, action, args });
    });
  }

  /** The primary's answers to forwarded requests, one turn's worth. */
  answered(m: Packed): void {
    let start = 0;
    for (let i = 0; i < m.ends.length; i++) {
      const end = m.ends[i];
      const f = this.forwarded.get(m.meta[ANSWER_FIELDS * i]);
      if (f !== undefined) {
        this.forwarded.delete(m.meta[ANSWER_FIELDS * i]);
        f.session.respondRaw(f.id, m.meta[ANSWER_FIELDS * i + 1], m.bodies, start, end, f.reserved);
      }
      start = end;
    }
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
