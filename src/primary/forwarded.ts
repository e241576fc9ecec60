// The primary's side of worker endpoints (docs/protocol.md §13): requests a worker's
// endpoint forwards are routed here as if a session of the front had sent them, and their answers
// go back to that worker, which writes them to the client's socket. Each forwarding connection is
// an Answerer of its own, so the router's table, holds, quarantine and failure answers work on
// it unchanged: a write in flight when its master dies is answered in doubt, wherever it came from.
// Requests arrive through the thread's forward pipe and answers leave through its answer pipe
// (src/shm/pipe.ts: rings in shared memory, published once per event-loop turn): no postMessage
// per request or per turn. The answers a worker's pipe cannot take yet wait in its writer, in
// order; they are bounded by the requests that worker forwarded (FORWARDS_IN_FLIGHT_MAX), each
// answered once.

import { AerieError, Status } from '../errors';
import { writeBatchBody, writeScanBody } from '../endpoint/answer-bodies';
import type { Answerer, SessionHost } from '../endpoint/session';
import { Reader } from '../protocol/reader';
import { Writer } from '../protocol/writer';
import type { PipeWriter } from '../shm/pipe';
import { AnswerKind, ForwardKind, controlError, type EndpointFromWorker, type EndpointToWorker } from '../worker/thread-messages';
import type { Router } from './router';
import { NO_GRANTS } from '../security/grants';
import type { Credentials } from '../security/session-security';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** The primary's view of one worker: where its answers go (null unless its thread lives). */
export interface EndpointWorker {
  readonly index: number;
  readonly answerPipe: PipeWriter | null;
  post(m: EndpointToWorker): void;
}

/** The answers bound for one worker, published together at the end of the turn. */
class AnswerOutbox {
  /** The pipe written this turn (a thread restarted mid-turn has a new one). */
  private pending: PipeWriter | null = null;
  private readonly flushLater = () => this.flush();

  constructor(private readonly worker: EndpointWorker) {}

  add(kind: number, a: number, b: number, bytes: Uint8Array, start: number, end: number): void {
    const pipe = this.worker.answerPipe;
    if (pipe === null) return; // its thread died: its sockets closed with it
    if (pipe !== this.pending) {
      if (this.pending === null) setImmediate(this.flushLater);
      else this.pending.flush();
      this.pending = pipe;
    }
    pipe.write(kind, a, b, 0, 0, bytes, start, end);
  }

  private flush(): void {
    this.pending?.flush();
    this.pending = null;
  }
}

/** One connection of a worker endpoint that forwarded requests; `id`s here are the endpoint's seqs. */
class ForwardingConnection implements Answerer {
  closed = false;
  routeReserve = 0;
  answerFrameBytesMax = 0;

  constructor(
    private readonly outbox: AnswerOutbox,
    private readonly conn: number,
    private readonly out: Writer,
  ) {}

  respondRaw(seq: number, code: number, bytes: Uint8Array, start: number, end: number): void {
    if (!this.closed) this.outbox.add(AnswerKind.ANSWER, seq, code, bytes, start, end);
  }

  respondBatch(seq: number, elements: Buffer[]): void {
    const w = this.writer();
    writeBatchBody(w, elements);
    this.respondRaw(seq, 0, w.buffer, 0, w.length);
  }

  respondScan(seq: number, bytes: Uint8Array | null, start: number, end: number, cursor: Buffer | null): void {
    const w = this.writer();
    writeScanBody(w, bytes, start, end, cursor);
    this.respondRaw(seq, 0, w.buffer, 0, w.length);
  }

  respondAnswer(seq: number, code: number, value: unknown): void {
    const w = this.writer();
    w.writeValue(value as never);
    this.respondRaw(seq, code, w.buffer, 0, w.length);
  }

  /** After the answers before it, in the same pipe. */
  close(code: number, reason: string): void {
    const body = utf8.encode(reason);
    this.outbox.add(AnswerKind.CLOSE_CONN, this.conn, code, body, 0, body.length);
  }

  private writer(): Writer {
    this.out.reset();
    return this.out;
  }
}

export class ForwardedRequests {
  /** Per worker, its connections that forwarded something, by connection number. */
  private readonly connections: Map<number, ForwardingConnection>[] = [];
  /** Per worker, made at its first forwarded request (the workers are added after this is built). */
  private readonly outboxes: AnswerOutbox[] = [];
  private readonly reader = new Reader(new Uint8Array(0));
  /** Answers are built here, at most a client's largest frame (the router refuses larger ones first). */
  private readonly out: Writer;

  constructor(
    frameBytesMax: number,
    private readonly workers: ReadonlyArray<EndpointWorker>,
    private readonly router: Router,
    /** The front's session host: INFO, VERIFY, SNAPSHOT, WORKER_RESTART and FAULT's checks. */
    private readonly host: () => SessionHost | null,
  ) {
    this.out = new Writer(frameBytesMax);
  }

  /** A postMessage from worker `index`'s endpoint (its current thread): admin requests and audit lines. */
  onMessage(index: number, m: EndpointFromWorker): void {
    const worker = this.workers[index];
    switch (m.type) {
      case 'admin':
        this.admin(worker, this.host(), m.seq, m.action, m.args);
        return;
      case 'audit':
        this.host()?.audit?.record({ ...m.event, endpoint: `worker ${index}` });
        return;
      case 'endpoint':
        return; // the node records the port (src/primary/node.ts)
    }
  }

  /** A message of worker `index`'s forward pipe (ForwardKind); the body is valid during the call only. */
  onForwarded(index: number, kind: number, a: number, b: number, c: number, d: number, bytes: Uint8Array, start: number, end: number): void {
    const worker = this.workers[index];
    if (kind === ForwardKind.CONN_CLOSED) {
      const connections = this.connectionsOf(index);
      const conn = connections.get(a);
      if (conn === undefined) return;
      connections.delete(a);
      conn.closed = true;
      this.router.forget(conn);
      return;
    }
    const host = this.host();
    const conn = this.connection(worker, b);
    if (kind === ForwardKind.FAULT) {
      try {
        if (host === null) throw notReady();
        const faultKind = fromUtf8.decode(bytes.subarray(start, end));
        host.fault(c, faultKind);
        this.router.sendFault(conn, a, c, faultKind);
      } catch (err) {
        const e = controlError(err);
        conn.respondAnswer(a, e.code, { message: e.message });
      }
      return;
    }
    if (kind !== ForwardKind.REQUEST) return;
    // A request, routed as a front session's would be: a seq, c op, d the client's answer frame limit.
    conn.routeReserve = 0; // the endpoint keeps its own reservation
    conn.answerFrameBytesMax = d;
    this.reader.reset(bytes, start, end);
    try {
      if (host === null) throw notReady();
      this.router.route(conn, a, c, bytes, start, end, this.reader);
    } catch (err) {
      const e = controlError(err);
      conn.respondAnswer(a, e.code, { message: e.message });
    }
  }

  /** Worker `index`'s thread died: its sockets closed with it, and what they awaited is dropped. */
  workerDown(index: number): void {
    const connections = this.connectionsOf(index);
    for (const c of connections.values()) {
      c.closed = true;
      this.router.forget(c);
    }
    connections.clear();
  }

  private connectionsOf(index: number): Map<number, ForwardingConnection> {
    return (this.connections[index] ??= new Map());
  }

  private connection(worker: EndpointWorker, conn: number): ForwardingConnection {
    const map = this.connectionsOf(worker.index);
    let c = map.get(conn);
    if (c === undefined) {
      c = new ForwardingConnection((this.outboxes[worker.index] ??= new AnswerOutbox(worker)), conn, this.out);
      map.set(conn, c);
    }
    return c;
  }

  private admin(worker: EndpointWorker, host: SessionHost | null, seq: number, action: string, args: unknown): void {
    let work: Promise<unknown>;
    try {
      if (host === null) throw notReady();
      const a = (args ?? {}) as { ns?: string | null; repair?: boolean; action?: string; id?: string | null };
      if (action === 'info') work = Promise.resolve(host.infoBody());
      else if (action === 'verify') work = host.verify(a.ns ?? null, a.repair ?? false);
      else if (action === 'snapshot') work = host.snapshot(a.action ?? '', a.ns ?? '', a.id ?? null);
      else if (action === 'restart') work = host.restartWorker(args);
      else if (action === 'login' || action === 'token' || action === 'security') work = securityAction(host, action, args);
      else throw new AerieError(Status.PARAMETER, `unknown admin action '${action}'`);
    } catch (err) {
      work = Promise.reject(err);
    }
    work.then(
      (value) => worker.post({ type: 'admin-reply', seq, error: null, value }),
      (err: unknown) => worker.post({ type: 'admin-reply', seq, error: controlError(err), value: null }),
    );
  }
}

/**
 * A worker endpoint's login, TOKEN or USER / ROLE request, run by the primary's security (the
 * users store, the throttle and the quota slots live here). A login answers what the endpoint
 * cannot compute itself; it compiles the grants on its own thread.
 */
async function securityAction(host: SessionHost, action: string, args: unknown): Promise<unknown> {
  const security = host.security;
  if (security === null) throw new AerieError(Status.SECURITY_NOT_ENABLED, 'this node runs without security');
  const a = (args ?? {}) as { credentials?: Credentials; remote?: string; user?: string; op?: number; body?: unknown };
  const remote = String(a.remote);
  if (action === 'login') {
    const { user, token, tokenExpiresAtMs, quotaSlot } = await security.login(a.credentials ?? {}, remote);
    return { user, token, tokenExpiresAtMs, quotaSlot };
  }
  const user = String(a.user);
  if (action === 'token') return security.renewToken(user, remote);
  return security.command(Number(a.op), a.body, user, security.grantsOf(user) ?? NO_GRANTS);
}

function notReady(): AerieError {
  return new AerieError(Status.PARTITION_UNAVAILABLE, 'the node is still starting');
}
