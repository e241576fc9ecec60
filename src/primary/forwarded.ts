// The primary's side of worker endpoints (docs/protocol.md §13): requests a worker's
// endpoint forwards are routed here as if a session of the front had sent them, and their answers
// go back to that worker, which writes them to the client's socket. Each forwarding connection is
// an Answerer of its own, so the router's table, holds, quarantine and failure answers work on
// it unchanged: a write in flight when its master dies is answered in doubt, wherever it came from.
// A worker's requests of one turn arrive in one message, and the answers for one worker leave in
// one message per turn (src/worker/thread-messages.ts, Packed): no postMessage per request.

import { AerieError, Status } from '../errors';
import { writeBatchBody, writeScanBody } from '../endpoint/answer-bodies';
import type { Answerer, SessionHost } from '../endpoint/session';
import { Reader } from '../protocol/reader';
import { Writer } from '../protocol/writer';
import { ANSWER_FIELDS, FORWARD_FIELDS, Packer, controlError, type EndpointFromWorker, type EndpointToWorker, type Packed } from '../worker/thread-messages';
import type { Router } from './router';
import { NO_GRANTS } from '../security/grants';
import type { Credentials } from '../security/session-security';

/** The primary's view of one worker: where its answers go (dropped unless its thread lives). */
export interface EndpointWorker {
  readonly index: number;
  post(m: EndpointToWorker): void;
}

/** The answers bound for one worker, sent together at the end of the turn. */
class AnswerOutbox {
  private readonly packer = new Packer(ANSWER_FIELDS);
  private scheduled = false;
  private readonly flushLater = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly worker: EndpointWorker) {}

  add(seq: number, code: number, bytes: Uint8Array, start: number, end: number): void {
    this.packer.add(seq, code, 0, 0, bytes, start, end);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushLater);
  }

  /** Sends what is collected (before a close, so the close never overtakes an answer). */
  flush(): void {
    if (this.packer.size === 0) return;
    this.worker.post({ type: 'answer', ...this.packer.take() });
  }

  /** The thread died: what was collected for it answers nobody. */
  drop(): void {
    this.packer.take();
  }
}

/** One connection of a worker endpoint that forwarded requests; `id`s here are the endpoint's seqs. */
class ForwardingConnection implements Answerer {
  closed = false;
  routeReserve = 0;
  answerFrameBytesMax = 0;

  constructor(
    private readonly worker: EndpointWorker,
    private readonly outbox: AnswerOutbox,
    private readonly conn: number,
    private readonly out: Writer,
  ) {}

  respondRaw(seq: number, code: number, bytes: Uint8Array, start: number, end: number): void {
    if (!this.closed) this.outbox.add(seq, code, bytes, start, end);
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

  close(code: number, reason: string): void {
    this.outbox.flush();
    this.worker.post({ type: 'close-conn', conn: this.conn, code, reason });
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

  /** A message from worker `index`'s endpoint (its current thread). */
  onMessage(index: number, m: EndpointFromWorker): void {
    const worker = this.workers[index];
    const host = this.host();
    switch (m.type) {
      case 'forward':
        this.forwarded(worker, host, m);
        return;
      case 'forward-fault': {
        const c = this.connection(worker, m.conn);
        try {
          if (host === null) throw notReady();
          host.fault(m.worker, m.kind);
          this.router.sendFault(c, m.seq, m.worker, m.kind);
        } catch (err) {
          const e = controlError(err);
          c.respondAnswer(m.seq, e.code, { message: e.message });
        }
        return;
      }
      case 'admin':
        this.admin(worker, host, m.seq, m.action, m.args);
        return;
      case 'audit':
        host?.audit?.record({ ...m.event, endpoint: `worker ${index}` });
        return;
      case 'conn-closed': {
        const c = this.connectionsOf(index).get(m.conn);
        if (c === undefined) return;
        this.connectionsOf(index).delete(m.conn);
        c.closed = true;
        this.router.forget(c);
        return;
      }
      case 'endpoint':
        return; // the node records the port (src/primary/node.ts)
    }
  }

  /** One turn's requests from a worker's endpoint, each routed as a front session's would be. */
  private forwarded(worker: EndpointWorker, host: SessionHost | null, m: Packed): void {
    let start = 0;
    for (let i = 0; i < m.ends.length; i++) {
      const at = FORWARD_FIELDS * i;
      const seq = m.meta[at];
      const end = m.ends[i];
      const c = this.connection(worker, m.meta[at + 1]);
      c.routeReserve = 0; // the endpoint keeps its own reservation
      c.answerFrameBytesMax = m.meta[at + 3];
      this.reader.reset(m.bodies, start, end);
      try {
        if (host === null) throw notReady();
        this.router.route(c, seq, m.meta[at + 2], m.bodies, start, end, this.reader);
      } catch (err) {
        const e = controlError(err);
        c.respondAnswer(seq, e.code, { message: e.message });
      }
      start = end;
    }
  }

  /** Worker `index`'s thread died: its sockets closed with it, and what they awaited is dropped. */
  workerDown(index: number): void {
    this.outboxes[index]?.drop();
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
      c = new ForwardingConnection(worker, (this.outboxes[worker.index] ??= new AnswerOutbox(worker)), conn, this.out);
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
