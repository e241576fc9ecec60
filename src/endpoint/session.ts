// One client connection: decodes each binary frame (one msgpack array of requests), enforces the
// connection's limits, answers HELLO/INFO/PING itself and hands the rest to the router. Responses
// are coalesced into frames of at most the client's announced size (HELLO `maxFrameBytes`), one
// per connection per event-loop turn unless they need more. Each request reserves a bound of its
// answer's bytes before it is dispatched (answer-budget.ts); a request that does not fit waits,
// with the rest of its frame, and the socket is not read meanwhile.

import { InvariantError } from '../assert';
import type WebSocket from 'ws';
import { ADMIN_PUSH_BACKLOG_BYTES_MAX, CLIENT_FRAME_BYTES_MIN, REQUESTS_PER_FRAME_MAX, VALUE_DEPTH_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import { Op, PROTOCOL_VERSION, PUSH_ID } from '../protocol/ops';
import { Reader } from '../protocol/reader';
import type { Writer } from '../protocol/writer';
import { ANSWER_HEADER_BYTES_MAX, AnswerFrames } from './answer-frames';
import type { AnswerBudget, BudgetHolder, BudgetWaiter } from './answer-budget';
import { sendBinary } from './ws-frame';
import { isDataOp } from '../shm/request-metrics';
import type { SessionSecurity } from '../security/session-security';
import { credentialsWithoutSecurity, SessionAuth, type AuditSink, type PendingAudit } from './session-auth';
import { batchBodyBytes, scanBodyBytes, writeBatchBody, writeScanBody } from './answer-bodies';

/** WebSocket close codes the node uses (docs/protocol.md). */
export const CloseCode = {
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY: 1008,
  TRY_AGAIN_LATER: 1013,
} as const;

/**
 * What the router needs of whoever asked: a client's session, or the requests a worker endpoint
 * forwards to the primary (src/primary/forwarded.ts), answered through the same calls.
 */
export interface Answerer {
  readonly closed: boolean;
  /** What the request being routed reserved: the router keeps it with the request and hands it back. */
  routeReserve: number;
  /** The largest answer frame the asking client accepts. */
  readonly answerFrameBytesMax: number;
  respondRaw(id: number, code: number, bytes: Uint8Array, start: number, end: number, reserved: number): void;
  respondBatch(id: number, elements: Buffer[], reserved: number): void;
  respondScan(id: number, bytes: Uint8Array | null, start: number, end: number, cursor: Buffer | null, reserved: number): void;
  respondAnswer(id: number, code: number, value: unknown, reserved: number): void;
  close(code: number, reason: string): void;
}

/** Where a session's keyed requests go: the primary's router, or a worker endpoint's (src/worker/endpoint-router.ts). */
export interface SessionRouter {
  route(session: Session, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number, r: Reader): void;
  /** FAULT {worker, kind}: the worker answers, then fails as asked. */
  sendFault(session: Session, id: number, worker: number, kind: string): void;
  forget(session: Session): void;
  /** Requests counted by op and code for /metrics (the primary's router; absent on a worker's endpoint). */
  metrics?: { count(op: number, code: number): void };
}

/**
 * Told how far an admin operation is: `done` of `total` in `unit` (docs/protocol.md, "Progress").
 * `done` never decreases and never exceeds `total`.
 */
export type ProgressSink = (done: number, total: number, unit: string) => void;

export interface SessionHost {
  router: SessionRouter;
  inFlightMax: number;
  /** Answer bytes reserved per connection and node-wide. */
  budget: AnswerBudget;
  /** The answer frame size assumed for a client that does not announce one (service.frameBytesMax). */
  frameBytesMax: number;
  /** A session that has not sent HELLO this long after opening is closed. */
  helloTimeoutMs: number;
  helloBody(): unknown;
  /** The partition map's version now (shared memory): a change is pushed on the next answer frame. */
  mapVersion(): number;
  /**
   * Runs the verify job over one namespace (or all) and resolves with its report; `onProgress`,
   * when given, is told how far it is (a worker's endpoint may not tell).
   */
  verify(ns: string | null, repair: boolean, onProgress?: ProgressSink): Promise<unknown>;
  /** INFO's body: built at once on the primary, asked of the primary from a worker endpoint. */
  infoBody(): unknown;
  /** Called when a session has output to send this turn. */
  scheduleFlush(s: Session): void;
  closed(s: Session): void;
  /** True while the node drains for shutdown: new requests are refused. */
  draining(): boolean;
  /** Checks a FAULT request's target; throws FAIL_FORBIDDEN when fault injection is off. */
  fault(worker: number, kind: string): void;
  /** SNAPSHOT: create, list, restore or delete a namespace's snapshots (`onProgress`: as verify's). */
  snapshot(action: string, ns: string, id: string | null, onProgress?: ProgressSink): Promise<unknown>;
  /** WORKER_RESTART {worker}: restarts a worker (even one given up on); resolves once it is up. */
  restartWorker(body: unknown): Promise<unknown>;
  /** Users and logins (docs/security.md); null when security.enabled is off. */
  security: SessionSecurity | null;
  /** The audit trail (security.auditFile); null when none is configured. */
  audit: AuditSink | null;
  /**
   * WATCH: subscribes (or not) the session to the admin feed and answers what the page starts
   * from (src/ops/admin/feed.ts). Absent on a worker's endpoint: the feed lives on the primary.
   */
  watch?(session: Session, on: boolean, allowed: { snapshot: boolean; fault: boolean; restart: boolean }): unknown;
}

const reader = new Reader(new Uint8Array(0));
/** Decodes the bodies of the rare requests the primary answers itself (HELLO, VERIFY, FAULT). */
const bodyReader = new Reader(new Uint8Array(0));
/** A body map holds bins or ops, which hold values up to VALUE_DEPTH_MAX deep. */
const BODY_DEPTH_MAX = VALUE_DEPTH_MAX + 3;
/** What onMessage did with one message. */
const Handled = { OK: 0, MALFORMED: 1, WAIT: 2 } as const;
const HELLO_FIELDS = new Set(['protocol', 'user', 'password', 'token', 'client', 'maxFrameBytes']);

export class Session implements BudgetWaiter, BudgetHolder, Answerer {
  readonly ws: WebSocket;
  private readonly host: SessionHost;
  /** Answers being built, in frames of at most the client's limit (HELLO maxFrameBytes, else the node's frameBytesMax). */
  private readonly frames: AnswerFrames;
  private flushQueued = false;
  private hello = false;
  /** The map version this client was last told of (in HELLO or a push). */
  private mapVersionTold = 0;
  private helloTimer: NodeJS.Timeout | null;
  inFlight = 0;
  /** Answer bytes reserved for requests in flight, each at its bound. */
  private reserved = 0;
  /** Bytes of the open frame and the socket's queue charged to the node budget at the last sync. */
  private charged = 0;
  /** The socket's unsent bytes when last looked at, and when they last went down (or began from none). */
  private queuedSeen = 0;
  private movedAtMs = Date.now();
  /** What the request being routed reserved: the router keeps it with the request and hands it back. */
  routeReserve = 0;
  /** The frame being worked through (null when none) and where its next message starts. */
  private frame: Buffer | null = null;
  private framePos = 0;
  private frameLeft = 0;
  /** Frames that arrived while one waits for budget (bounded: the socket is paused). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private paused = false;
  private resumeScheduled = false;
  /** Id of the client's DRAINED request once it arrives (it is answered last, then we close). */
  private drainedId = -1;
  private goawaySent = false;
  closed = false;
  readonly remote: string;
  /** Who the connection is logged in as and what they may do (session-auth.ts). */
  private readonly auth: SessionAuth;

  constructor(ws: WebSocket, host: SessionHost, remote: string) {
    this.ws = ws;
    this.host = host;
    this.remote = remote;
    this.auth = new SessionAuth(host.security, host.audit, remote);
    this.frames = new AnswerFrames(
      Math.min(host.frameBytesMax, host.budget.perConnectionBytesMax),
      () => {
        if (this.flushQueued) return;
        this.flushQueued = true;
        this.host.scheduleFlush(this);
      },
      () => this.sendFrame(),
    );
    host.budget.hold(this);
    this.helloTimer = setTimeout(() => this.close(CloseCode.POLICY, 'no hello'), host.helloTimeoutMs);
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary));
    ws.on('close', () => this.onClose());
    ws.on('error', () => this.onClose());
    // Our frames go straight to the socket (ws-frame.ts): its drain is when queued answers left.
    (ws as unknown as { _socket?: { on(e: string, f: () => void): void } | null })._socket?.on('drain', () => this.onDrain());
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) return this.close(CloseCode.UNSUPPORTED_DATA, 'binary frames only');
    if (this.frame !== null) {
      // Waiting for answer budget: frames ws had already read keep their order behind it.
      this.pendingBytes += data.length;
      if (this.pendingBytes > 2 * this.host.frameBytesMax) return this.close(CloseCode.TRY_AGAIN_LATER, 'client is not reading its responses');
      this.pending.push(data);
      return;
    }
    this.startFrame(data);
    this.work();
  }

  /** Reads a frame's array header and makes it the frame being worked through. */
  private startFrame(data: Buffer): void {
    const r = reader;
    r.reset(data, 0, data.length);
    let count: number;
    try {
      count = r.readArrayHeader();
    } catch {
      return this.close(CloseCode.INVALID_PAYLOAD, 'a frame is a msgpack array of messages');
    }
    if (count > REQUESTS_PER_FRAME_MAX) return this.close(CloseCode.POLICY, `at most ${REQUESTS_PER_FRAME_MAX} requests per frame`);
    this.frame = data;
    this.framePos = r.pos;
    this.frameLeft = count;
  }

  /** Works through the current frame, then the pending ones, until done or short of budget. */
  private work(): void {
    while (!this.closed) {
      if (this.frame === null) {
        const next = this.pending.shift();
        if (next === undefined) break;
        this.pendingBytes -= next.length;
        this.startFrame(next);
        continue;
      }
      const data = this.frame;
      const r = reader;
      r.reset(data, this.framePos, data.length);
      while (this.frameLeft > 0 && !this.closed) {
        const at = r.pos;
        const handled = this.onMessage(r, data);
        if (handled === Handled.MALFORMED) return this.close(CloseCode.INVALID_PAYLOAD, 'malformed message');
        if (handled === Handled.WAIT) {
          this.framePos = at;
          if (!this.paused) {
            this.paused = true;
            this.ws.pause();
          }
          return;
        }
        this.frameLeft--;
      }
      if (this.closed) return;
      if (r.pos !== data.length) return this.close(CloseCode.INVALID_PAYLOAD, 'trailing bytes after the messages');
      this.frame = null;
    }
    if (this.paused && !this.closed) {
      this.paused = false;
      this.ws.resume();
    }
  }

  /** Handles one [id, op, body] message: OK, MALFORMED (the frame cannot be parsed further) or WAIT. */
  private onMessage(r: Reader, frame: Buffer): number {
    let id: number;
    let op: number;
    let bodyStart: number;
    let bodyEnd: number;
    try {
      if (r.readArrayHeader() !== 3) return Handled.MALFORMED;
      id = r.readUint32();
      op = r.readUint32();
    } catch {
      return Handled.MALFORMED;
    }
    try {
      bodyStart = r.pos;
      r.skipValue(BODY_DEPTH_MAX);
      bodyEnd = r.pos;
    } catch (err) {
      // The message has an id but its body cannot be walked (too deep, truncated, an extension):
      // answer that id, then close, since the rest of the frame cannot be located.
      this.respondError(id, Status.PARAMETER, err instanceof AerieError ? err.message : 'malformed body');
      return Handled.MALFORMED;
    }
    const reserve = this.host.budget.estimate(op, op === Op.BATCH_GET || op === Op.BATCH_EXISTS ? batchKeyCount(frame, bodyStart, bodyEnd) : 0, this.frames.bytesMax);
    if (!this.canTake(reserve)) return Handled.WAIT;
    try {
      this.dispatch(id, op, frame, bodyStart, bodyEnd, r, reserve);
    } catch (err) {
      const e = err instanceof AerieError ? err : new AerieError(Status.SERVER_ERROR, String(err));
      if (!(err instanceof AerieError) || err instanceof InvariantError) console.error('aerie: request failed', err);
      if (isDataOp(op)) this.host.router.metrics?.count(op, e.code);
      this.respondError(id, e.code, e.message);
    }
    r.pos = bodyEnd;
    return Handled.OK;
  }

  private dispatch(id: number, op: number, frame: Buffer, bodyStart: number, bodyEnd: number, r: Reader, reserve: number): void {
    if (op === Op.HELLO) return this.onHello(id, frame, bodyStart, bodyEnd);
    if (!this.hello) throw new AerieError(Status.NOT_AUTHENTICATED, 'send HELLO first');
    // Authorization is decided per connection and per change of users or roles: per request it
    // is one compare and one array read (security off: every op is allowed).
    const auth = this.auth;
    if (auth.changed()) {
      const refusal = auth.regrant();
      if (refusal !== 0) {
        this.hello = false;
        throw new AerieError(refusal, refusal === Status.NOT_WHITELISTED ? "this address is no longer in the allow-lists of the user's roles" : 'the user was dropped: log in again');
      }
    }
    if (auth.grants.opAllowed[op] !== 1) auth.authorize(op, frame, bodyStart, bodyEnd);
    // Rate quotas (src/security/quotas.ts) are charged before the work, for users whose roles carry them.
    if (auth.grants.quotaLimited) auth.chargeQuota(op, op === Op.BATCH_GET || op === Op.BATCH_EXISTS ? batchKeyCount(frame, bodyStart, bodyEnd) : 0, frame, bodyStart, bodyEnd);
    this.dispatchAllowed(id, op, frame, bodyStart, bodyEnd, r, reserve);
  }

  private dispatchAllowed(id: number, op: number, frame: Buffer, bodyStart: number, bodyEnd: number, r: Reader, reserve: number): void {
    if (op === Op.DRAINED) {
      this.drainedId = id;
      return this.maybeFinishDrain();
    }
    if (this.host.draining()) throw new AerieError(Status.PARTITION_UNAVAILABLE, 'the node is shutting down');
    if (op === Op.PING) return this.respondValue(id, 0, null);
    if (op === Op.INFO) return this.onInfo(id, reserve);
    if (op === Op.VERIFY) return this.onVerify(id, frame, bodyStart, bodyEnd, reserve);
    if (op === Op.FAULT) return this.onFault(id, frame, bodyStart, bodyEnd, reserve);
    if (op === Op.SNAPSHOT) return this.onSnapshot(id, frame, bodyStart, bodyEnd, reserve);
    if (op === Op.WORKER_RESTART) {
      const body = readBody(frame, bodyStart, bodyEnd) as { worker?: unknown } | null;
      return this.answerLater(id, this.host.restartWorker(body), reserve, { action: 'worker restart', target: `worker ${String(body?.worker).slice(0, 20)}` });
    }
    if (op === Op.TOKEN || op === Op.USER || op === Op.ROLE) return this.onSecurityOp(id, op, frame, bodyStart, bodyEnd, reserve);
    if (op === Op.WATCH) return this.onWatch(id, frame, bodyStart, bodyEnd);
    if (this.inFlight >= this.host.inFlightMax) {
      throw new AerieError(Status.QUOTA_EXCEEDED, `at most ${this.host.inFlightMax} requests in flight per connection`);
    }
    if (op === Op.TRUNCATE && this.auth.auditing) this.auth.auditLater(id, { action: 'truncate', target: SessionAuth.scopeText(op, frame, bodyStart, bodyEnd) });
    r.pos = bodyStart;
    this.take(reserve);
    try {
      this.host.router.route(this, id, op, frame, bodyStart, bodyEnd, r);
    } catch (err) {
      this.release(reserve);
      throw err;
    }
    this.inFlight++;
  }

  private onHello(id: number, frame: Buffer, bodyStart: number, bodyEnd: number): void {
    const body = readBody(frame, bodyStart, bodyEnd) as Record<string, unknown> | null;
    if (body === null || typeof body !== 'object' || body.protocol !== PROTOCOL_VERSION) {
      throw new AerieError(Status.PARAMETER, `HELLO must name protocol ${PROTOCOL_VERSION}`);
    }
    const unknown = Object.keys(body).find((k) => !HELLO_FIELDS.has(k));
    if (unknown !== undefined) throw new AerieError(Status.PARAMETER, `unknown field '${unknown}'`);
    const announced = body.maxFrameBytes;
    if (announced !== undefined && announced !== null) {
      if (typeof announced !== 'number' || !Number.isSafeInteger(announced) || announced < CLIENT_FRAME_BYTES_MIN) {
        throw new AerieError(Status.PARAMETER, `maxFrameBytes must be an integer of at least ${CLIENT_FRAME_BYTES_MIN}`);
      }
      this.frames.setBytesMax(Math.min(announced, this.host.budget.perConnectionBytesMax));
    }
    if (this.auth.security === null) {
      const refusal = credentialsWithoutSecurity(body);
      if (refusal !== null) throw refusal;
      this.helloDone();
      return this.respondValue(id, 0, this.host.helloBody());
    }
    this.auth.login(
      body,
      () => this.host.helloBody(),
      (code, value) => {
        if (code === 0) this.helloDone();
        this.respondValue(id, code, value);
        this.scheduleFlushNow();
      },
    );
  }

  private helloDone(): void {
    this.hello = true;
    if (this.helloTimer !== null) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    this.mapVersionTold = this.host.mapVersion();
  }

  /** Answers written outside a frame's handling (a login settling) go out this turn. */
  private scheduleFlushNow(): void {
    if (this.flushQueued || this.closed) return;
    this.flushQueued = true;
    this.host.scheduleFlush(this);
  }

  private onSecurityOp(id: number, op: number, frame: Buffer, bodyStart: number, bodyEnd: number, reserve: number): void {
    if (op === Op.TOKEN) {
      const grant = this.auth.token();
      return grant instanceof Promise ? this.answerLater(id, grant, reserve) : this.respondValue(id, 0, grant);
    }
    const { work, audited } = this.auth.command(op, frame, bodyStart, bodyEnd);
    this.answerLater(id, work, reserve, audited);
  }

  private onInfo(id: number, reserve: number): void {
    const info = this.host.infoBody();
    if (info instanceof Promise) return this.answerLater(id, info, reserve);
    this.respondValue(id, 0, info);
  }

  private onVerify(id: number, frame: Buffer, bodyStart: number, bodyEnd: number, reserve: number): void {
    const body = readBody(frame, bodyStart, bodyEnd);
    const fields = (body !== null && typeof body === 'object' ? body : {}) as { ns?: unknown; repair?: unknown; progress?: unknown };
    const ns = fields.ns ?? null;
    if (ns !== null && typeof ns !== 'string') throw new AerieError(Status.PARAMETER, 'ns must be a string');
    const repair = fields.repair ?? false;
    if (typeof repair !== 'boolean') throw new AerieError(Status.PARAMETER, 'repair must be a boolean');
    const onProgress = this.progressPushes(id, 'verify', fields.progress);
    this.answerLater(id, this.host.verify(ns, repair, onProgress), reserve, repair ? { action: 'repair', target: ns } : undefined);
  }

  private onSnapshot(id: number, frame: Buffer, bodyStart: number, bodyEnd: number, reserve: number): void {
    const body = readBody(frame, bodyStart, bodyEnd) as { action?: unknown; ns?: unknown; id?: unknown; progress?: unknown } | null;
    if (body === null || typeof body !== 'object' || typeof body.action !== 'string' || typeof body.ns !== 'string') {
      throw new AerieError(Status.PARAMETER, 'SNAPSHOT needs {action, ns, id?, progress?}');
    }
    if (body.id !== undefined && body.id !== null && typeof body.id !== 'string') throw new AerieError(Status.PARAMETER, 'id must be a string');
    const unknown = Object.keys(body).find((k) => k !== 'action' && k !== 'ns' && k !== 'id' && k !== 'progress');
    if (unknown !== undefined) throw new AerieError(Status.PARAMETER, `unknown field '${unknown}'`);
    const snapshotId = (body.id as string | undefined) ?? null;
    const audited = body.action === 'list' ? undefined : { action: `snapshot ${body.action}`, target: snapshotId === null ? body.ns : `${body.ns}/${snapshotId}` };
    const onProgress = this.progressPushes(id, 'snapshot', body.progress);
    this.answerLater(id, this.host.snapshot(body.action, body.ns, snapshotId, onProgress), reserve, audited);
  }

  /**
   * With `progress: true`, pushes telling how far request `id` is, on this connection, until its
   * answer (docs/protocol.md, "Progress"); undefined without it. A client holding more than
   * ADMIN_PUSH_BACKLOG_BYTES_MAX unsent skips pushes: the next one says all a skipped one did.
   */
  private progressPushes(id: number, op: 'verify' | 'snapshot', asked: unknown): ProgressSink | undefined {
    if (asked === undefined || asked === null || asked === false) return undefined;
    if (asked !== true) throw new AerieError(Status.PARAMETER, 'progress must be a boolean');
    return (done, total, unit) => {
      if (this.queuedBytes() > ADMIN_PUSH_BACKLOG_BYTES_MAX) return;
      this.push({ event: 'progress', request: id, op, done, total, unit });
    };
  }

  /** WATCH {on?}: the admin feed; the actions the page offers are those this user's grants allow. */
  private onWatch(id: number, frame: Buffer, bodyStart: number, bodyEnd: number): void {
    if (this.host.watch === undefined) throw new AerieError(Status.UNSUPPORTED_FEATURE, "WATCH is served on the node's front port");
    const body = readBody(frame, bodyStart, bodyEnd) as { on?: unknown } | null;
    const on = body === null || body === undefined || typeof body !== 'object' ? true : (body.on ?? true);
    if (typeof on !== 'boolean') throw new AerieError(Status.PARAMETER, 'on must be a boolean');
    const g = this.auth.grants;
    const allowed = { snapshot: g.mightAllow(Op.SNAPSHOT), fault: g.opAllowed[Op.FAULT] === 1, restart: g.opAllowed[Op.WORKER_RESTART] === 1 };
    this.respondValue(id, 0, this.host.watch(this, on, allowed));
  }

  /** A push (id PUSH_ID) of the admin feed or of an operation's progress, sent this turn. */
  push(value: unknown): void {
    if (this.closed || !this.hello) return;
    this.respondValue(PUSH_ID, 0, value);
    this.scheduleFlushNow();
  }

  /** Bytes the socket has not sent yet. */
  queuedBytes(): number {
    return this.ws.bufferedAmount;
  }

  /** Answers `id` when an admin operation of the primary settles (and audits it, when asked). */
  private answerLater(id: number, work: Promise<unknown>, reserve: number, audited?: PendingAudit): void {
    this.inFlight++;
    this.take(reserve);
    if (audited !== undefined) this.auth.auditLater(id, audited);
    work.then(
      (value) => this.respondAnswer(id, 0, value, reserve),
      (err: unknown) => {
        const e = err instanceof AerieError ? err : new AerieError(Status.SERVER_ERROR, String((err as Error)?.message ?? err));
        this.respondAnswer(id, e.code, { message: e.message }, reserve);
      },
    );
  }

  private onFault(id: number, frame: Buffer, bodyStart: number, bodyEnd: number, reserve: number): void {
    const body = readBody(frame, bodyStart, bodyEnd) as { worker?: unknown; kind?: unknown } | null;
    if (body === null || typeof body !== 'object' || typeof body.kind !== 'string') {
      throw new AerieError(Status.PARAMETER, 'FAULT needs {worker, kind}');
    }
    const worker = body.worker as number;
    try {
      this.host.fault(worker, body.kind);
    } catch (err) {
      this.auth.audit('fault', `worker ${String(body.worker).slice(0, 20)} ${body.kind.slice(0, 20)}`, err instanceof AerieError ? err.code : Status.SERVER_ERROR);
      throw err;
    }
    this.take(reserve);
    try {
      this.host.router.sendFault(this, id, worker, body.kind);
    } catch (err) {
      this.release(reserve);
      throw err;
    }
    this.inFlight++;
    // The worker answers and then fails: the drill is audited as sent.
    this.auth.audit('fault', `worker ${body.worker} ${body.kind.slice(0, 20)}`, 0);
  }

  /** The largest answer frame this client accepts. */
  get answerFrameBytesMax(): number {
    return this.frames.bytesMax;
  }

  // ---- answer budget ----

  /** Whether a request whose answer is bounded by `bytes` may start now; if not, it waits. */
  private canTake(bytes: number): boolean {
    this.sync();
    const mine = this.reserved + this.charged;
    // A connection holding nothing may always start one request, whatever its bound.
    if (mine > 0 && mine + bytes > this.host.budget.perConnectionBytesMax) return false;
    if (this.host.budget.fits(bytes)) return true;
    this.host.budget.wait(this);
    return false;
  }

  private take(bytes: number): void {
    this.reserved += bytes;
    this.routeReserve = bytes;
    this.host.budget.take(bytes);
  }

  private release(bytes: number): void {
    this.reserved -= bytes;
    if (this.closed) return;
    this.host.budget.give(bytes);
    if (this.frame !== null) this.scheduleResume();
  }

  /** Charges the node for this connection's open frame and unsent socket bytes as they are now. */
  private sync(): void {
    if (this.closed) return;
    const queued = this.ws.bufferedAmount;
    // The clock is read only when the queue changes course (it went down, or began from empty):
    // while it stays empty, which is nearly always, the time is never asked for.
    if (queued === 0 ? this.queuedSeen !== 0 : this.queuedSeen === 0 || queued < this.queuedSeen) this.movedAtMs = Date.now();
    this.queuedSeen = queued;
    const actual = this.frames.openBytes + queued;
    const change = actual - this.charged;
    if (change === 0) return;
    this.charged = actual;
    if (change > 0) this.host.budget.take(change);
    else this.host.budget.give(-change);
  }

  private onDrain(): void {
    this.sync();
    if (this.frame !== null) this.scheduleResume();
  }

  stalledBytes(nowMs: number, stallMs: number): number {
    this.sync();
    return this.closed || nowMs - this.movedAtMs < stallMs ? 0 : this.queuedSeen;
  }

  /** Closes a connection that does not read: at once, since it would not read a close frame either. */
  evict(): void {
    this.close(CloseCode.TRY_AGAIN_LATER, 'client is not reading its responses while the node is short of answer memory');
    this.ws.terminate(); // frees the socket's queued answers now, not after ws's 30 s close timeout
  }

  /** Node-wide room was freed (the budget calls this once per wait). */
  budgetFreed(): void {
    if (this.frame !== null) this.scheduleResume();
  }

  private scheduleResume(): void {
    if (this.resumeScheduled || this.closed) return;
    this.resumeScheduled = true;
    setImmediate(() => {
      this.resumeScheduled = false;
      if (this.frame !== null) this.work();
    });
  }

  // ---- shutdown ----

  /** Tells the client the node is going away; it answers DRAINED once it has stopped sending. */
  goAway(reason: string): void {
    if (this.closed || this.goawaySent) return;
    this.goawaySent = true;
    if (!this.hello) return this.close(CloseCode.GOING_AWAY, reason);
    this.respondValue(PUSH_ID, 0, { event: 'goaway', reason });
  }

  /** Closes once the client said DRAINED and everything before it is answered. */
  maybeFinishDrain(): void {
    if (this.drainedId < 0 || this.inFlight > 0 || this.closed) return;
    this.respondValue(this.drainedId, 0, null);
    this.close(CloseCode.GOING_AWAY, 'node shutting down');
  }

  // ---- responses ----

  /**
   * Settles a request that reserved `reserved` bytes and returns the open frame with the answer's
   * header written, for a body of at most `bodyBytes`; null when the session is closed or no frame
   * the client accepts can hold the answer (then it is answered RECORD_TOO_BIG). The caller
   * writes the body and counts the message.
   */
  private answerWriter(id: number, code: number, bodyBytes: number, reserved: number): Writer | null {
    this.inFlight--;
    this.release(reserved);
    if (this.closed) return null;
    if (this.frames.room(ANSWER_HEADER_BYTES_MAX + bodyBytes)) return this.frames.header(id, code);
    this.answerTooBig(id, bodyBytes);
    return null;
  }

  /** A worker's answer: body bytes as the worker encoded them (empty = nil). */
  respondRaw(id: number, code: number, bytes: Uint8Array, start: number, end: number, reserved: number): void {
    // A TRUNCATE forwarded from a worker's endpoint is answered here: its audit line too.
    this.auth.settled(id, code);
    const w = this.answerWriter(id, code, end > start ? end - start : 1, reserved);
    if (w !== null) {
      if (end > start) w.writeRaw(bytes, start, end);
      else w.writeNil();
      this.frames.counted();
    }
    if (this.drainedId >= 0) this.maybeFinishDrain();
  }

  /** A batch's answer; every element is one complete msgpack value. */
  respondBatch(id: number, elements: Buffer[], reserved: number): void {
    const w = this.answerWriter(id, 0, batchBodyBytes(elements), reserved);
    if (w !== null) {
      writeBatchBody(w, elements);
      this.frames.counted();
    }
    if (this.drainedId >= 0) this.maybeFinishDrain();
  }

  respondScan(id: number, bytes: Uint8Array | null, start: number, end: number, cursor: Buffer | null, reserved: number): void {
    const w = this.answerWriter(id, 0, scanBodyBytes(bytes, start, end, cursor), reserved);
    if (w !== null) {
      writeScanBody(w, bytes, start, end, cursor);
      this.frames.counted();
    }
    if (this.drainedId >= 0) this.maybeFinishDrain();
  }

  /** The primary's own answer to a request that reserved `reserved` bytes (a broadcast's summary, say). */
  respondAnswer(id: number, code: number, value: unknown, reserved: number): void {
    this.auth.settled(id, code);
    this.inFlight--;
    this.release(reserved);
    this.respondValue(id, code, value);
    if (this.drainedId >= 0) this.maybeFinishDrain();
  }

  private answerTooBig(id: number, bodyBytes: number): void {
    this.respondError(id, Status.RECORD_TOO_BIG, `an answer of ${bodyBytes} bytes exceeds the connection's ${this.frames.bytesMax}-byte frame limit`);
  }

  /** The primary's own answer (HELLO, INFO, an error): encoded whole or not at all (answer-frames.ts). */
  private respondValue(id: number, code: number, value: unknown): void {
    if (this.closed) return;
    this.frames.writeValue(id, code, value);
  }

  private respondError(id: number, code: number, message: string): void {
    this.respondValue(id, code, { message });
  }

  /** Sends everything answered this turn (called once per turn by the node). */
  flush(): void {
    this.flushQueued = false;
    if (!this.frames.isOpen || this.closed) return;
    this.tellMapChange();
    this.sendFrame();
  }

  /**
   * The first frame after the partition map changed carries a push saying so (docs/protocol.md,
   * The partition map): one load of a shared word per frame, and a routing client learns its map
   * is stale with the answer it was waiting for anyway.
   */
  private tellMapChange(): void {
    if (!this.hello) return;
    const version = this.host.mapVersion();
    if (version === this.mapVersionTold) return;
    this.mapVersionTold = version;
    this.frames.writeValue(PUSH_ID, 0, { event: 'map', version });
  }

  /** Sends the open frame now, with its message count patched in. */
  private sendFrame(): void {
    const bytes = this.frames.close();
    // Answers are reserved before they are built, so the queue stays near the budget; past it
    // and a frame more, something unreserved piled up and the client is not reading.
    if (this.ws.bufferedAmount > this.host.budget.perConnectionBytesMax + this.frames.bytesMax) {
      return this.close(CloseCode.TRY_AGAIN_LATER, 'client is not reading its responses');
    }
    sendBinary(this.ws, bytes);
    this.frames.shrink(); // the socket holds a copy
    this.sync();
    if (this.frame !== null) this.scheduleResume();
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.flush(); // answers already given go out before the close frame
    this.ws.close(code, reason);
    this.onClose();
  }

  private onClose(): void {
    if (this.closed) return;
    this.sync();
    this.closed = true;
    this.host.budget.give(this.reserved + this.charged);
    this.host.budget.forget(this);
    this.frame = null;
    this.pending = [];
    if (this.helloTimer !== null) clearTimeout(this.helloTimer);
    this.host.router.forget(this);
    this.host.closed(this);
  }
}

/** The length of a batch body's `keys` list (0 when it cannot be read: routing then fails it). */
function batchKeyCount(frame: Buffer, start: number, end: number): number {
  const r = bodyReader;
  r.reset(frame, start, end);
  try {
    if (r.pos >= end || r.isNil()) return 0;
    for (let n = r.readMapHeader(); n > 0; n--) {
      if (r.readString() === 'keys') return r.readArrayHeader();
      r.skipValue(BODY_DEPTH_MAX);
    }
  } catch {
    // Malformed: the router answers PARAMETER.
  }
  return 0;
}

function readBody(frame: Buffer, start: number, end: number): unknown {
  bodyReader.reset(frame, start, end);
  return bodyReader.readValue();
}
