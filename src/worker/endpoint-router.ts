// Where a worker endpoint's requests go. A keyed request of a partition this worker masters is
// served here (src/worker/local-requests.ts). Every other keyed request, batch, scan and truncate is
// forwarded to the primary's router and answered on the socket it came from, so the ok / failed /
// in-doubt rules are the router's, unchanged; admin requests (INFO, VERIFY, SNAPSHOT,
// WORKER_RESTART, FAULT) reach the primary the same way (docs/protocol.md §13). Forwarded requests
// cross in this thread's forward pipe (src/shm/pipe.ts, a ring in shared memory, published once per
// event-loop turn) and their answers come back in its answer pipe, which the thread's loop drains:
// no postMessage per request or per turn (a postMessage costs about 6 µs of CPU on each side).

import { FORWARD_QUEUED_BYTES_MAX, FORWARDS_IN_FLIGHT_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import type { Session, SessionRouter } from '../endpoint/session';
import type { Reader } from '../protocol/reader';
import { PipeReader, PipeWriter } from '../shm/pipe';
import { AnswerKind, ForwardKind, type AdminAction, type EndpointFromWorker } from './thread-messages';
import type { LocalRequests } from './local-requests';
import { BatchCollector } from './batch-collector';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** A request sent to the primary and not yet answered. */
interface Forwarded {
  /** The client's session, or the batch a part of which this is (src/worker/batch-collector.ts). */
  session: Session | BatchCollector;
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
  private readonly out: PipeWriter;
  private readonly answers: PipeReader;
  private flushScheduled = false;
  private readonly flushLater = () => {
    this.flushScheduled = false;
    this.out.flush();
  };
  private readonly onAnswer = (kind: number, a: number, b: number, _c: number, _d: number, bytes: Uint8Array, start: number, end: number) => {
    if (kind === AnswerKind.CLOSE_CONN) {
      this.closeConn(a, b, fromUtf8.decode(bytes.subarray(start, end)));
      return;
    }
    const f = this.forwarded.get(a);
    if (f === undefined) return;
    this.forwarded.delete(a);
    f.session.respondRaw(f.id, b, bytes, start, end, f.reserved);
  };

  constructor(
    pipes: { forward: SharedArrayBuffer; answer: SharedArrayBuffer; messageBytesMax: number },
    private readonly send: (m: EndpointFromWorker) => void,
    /** The connection number of a session (the primary names connections by it). */
    private readonly connOf: (s: Session) => number,
    private readonly local: LocalRequests,
    /** Closes connection `conn` (the primary asked: a request that killed a worker came again on it). */
    private readonly closeConn: (conn: number, code: number, reason: string) => void,
    /** Counts requests sent to the primary (WorkerStat.FORWARDED). */
    private readonly counted: () => void,
  ) {
    this.out = new PipeWriter(pipes.forward);
    this.answers = new PipeReader(pipes.answer, pipes.messageBytesMax);
  }

  route(session: Session, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number, r: Reader): void {
    if (this.local.serve(session, id, op, frame, bodyStart, bodyEnd, r)) return;
    this.forward(session, id, op, frame, bodyStart, bodyEnd, session.routeReserve);
  }

  /** Sends a request to the primary; `reserved`: the answer bytes its session reserved for it. */
  forward(session: Session | BatchCollector, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number, reserved: number): void {
    if (this.out.queuedBytes + (bodyEnd - bodyStart) > FORWARD_QUEUED_BYTES_MAX) {
      throw new AerieError(Status.DEVICE_OVERLOAD, `the primary is behind: ${this.out.queuedBytes} bytes of forwarded requests wait`);
    }
    const seq = this.take(session, id, reserved);
    const client = session instanceof BatchCollector ? session.session : session;
    this.out.write(ForwardKind.REQUEST, seq, this.connOf(client), op, session.answerFrameBytesMax, frame, bodyStart, bodyEnd);
    this.counted();
    this.publishLater();
  }

  /** The primary's answers (and closes) published so far, each handed to its session; returns how many. */
  drainAnswers(): number {
    return this.answers.isEmpty() ? 0 : this.answers.drain(this.onAnswer);
  }

  /** True when the primary has published answers not yet drained. */
  get answersWaiting(): boolean {
    return !this.answers.isEmpty();
  }

  sendFault(session: Session, id: number, worker: number, kind: string): void {
    const seq = this.take(session, id, session.routeReserve);
    const body = utf8.encode(kind);
    this.out.write(ForwardKind.FAULT, seq, this.connOf(session), worker, 0, body, 0, body.length);
    this.publishLater();
  }

  /** Connection `conn` closed: after its requests, so the primary forgets them last. */
  connClosed(conn: number): void {
    this.out.write(ForwardKind.CONN_CLOSED, conn, 0, 0, 0, EMPTY, 0, 0);
    this.publishLater();
  }

  /** The thread stops: nothing more is sent. */
  close(): void {
    this.out.close();
  }

  /**
   * A closed session: its requests are forgotten here (the primary stops answering a closed
   * connection's, so nothing else would remove them). A scan of the table, as the front's
   * router does on a close.
   */
  forget(session: Session): void {
    for (const [seq, f] of this.forwarded) if (f.session === session || (f.session instanceof BatchCollector && f.session.session === session)) this.forwarded.delete(seq);
  }

  /** Runs an admin request on the primary; settles with its value or its coded error. */
  admin(action: AdminAction, args: unknown): Promise<unknown> {
    if (this.admins.size >= FORWARDS_IN_FLIGHT_MAX) return Promise.reject(overloaded());
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) | 0;
    return new Promise((resolve, reject) => {
      this.admins.set(seq, { resolve, reject });
      this.send({ type: 'admin', seq, action, args });
    });
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

  private publishLater(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushLater);
  }

  private take(session: Session | BatchCollector, id: number, reserved: number): number {
    if (this.forwarded.size >= FORWARDS_IN_FLIGHT_MAX) throw overloaded();
    // An int32, as the pipe carries it (wrapping long before a number would lose precision).
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) | 0;
    this.forwarded.set(seq, { session, id, reserved });
    return seq;
  }
}

function overloaded(): AerieError {
  return new AerieError(Status.DEVICE_OVERLOAD, `at most ${FORWARDS_IN_FLIGHT_MAX} requests forwarded from one worker endpoint at once`);
}
