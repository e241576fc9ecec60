// A worker thread's own client endpoint (issue 12, docs/protocol.md §13): an HTTP
// server on a port of its own that upgrades to WebSocket, with the same sessions and limits as
// the primary's front (src/endpoint/). It never shares the primary's listening descriptor: a
// thread that listened on it and died would close it for the whole process (libuv then aborts
// the node). A thread that dies takes only these sockets with it; its replacement binds the same
// port again, retrying while the kernel still holds it.

import { refuseUpgrade } from '../security/upgrade-check';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { ENDPOINT_LISTEN_ATTEMPTS_MAX, ENDPOINT_LISTEN_RETRY_MS } from '../constants';
import { AerieError, Status } from '../errors';
import { AnswerBudget } from '../endpoint/answer-budget';
import { ConnectionCounts, workerEndpoint } from '../endpoint/connection-counts';
import { FlushQueue } from '../endpoint/flush-queue';
import { helloBody } from '../endpoint/hello';
import { CloseCode, Session, type SessionHost } from '../endpoint/session';
import { SocketGuard } from '../endpoint/socket-guard';
import type { PartitionMap } from '../partition/map';
import { PIPE_HEADER_BYTES } from '../shm/pipe';
import { ForwardingRouter } from './endpoint-router';
import { EndpointSecurity } from './endpoint-security';
import { parseHandshakesInJs } from './handshake-reads';
import { createEndpointServer, reloadTls, type EndpointServer } from '../security/tls';
import type { LocalRequests } from './local-requests';
import type { QueuedAnswerer } from './local-writes';
import { BatchCollector } from './batch-collector';
import type { EndpointFromWorker, EndpointInit, EndpointToWorker } from './thread-messages';

/** HTTP status for a plain HTTP request: the node speaks WebSocket only. */
/** HTTP status of an upgrade refused for its Origin or Host. */
const HTTP_FORBIDDEN = 403;
const HTTP_UPGRADE_REQUIRED = 426;

export class WorkerEndpoint {
  private readonly http: EndpointServer;
  private readonly guard: SocketGuard;
  private readonly counts: ConnectionCounts;
  private readonly endpoint: number;
  private readonly router: ForwardingRouter;
  private readonly sessions = new Map<number, Session>();
  private readonly conns = new Map<Session, number>();
  private nextConn = 1;
  private draining = false;

  constructor(
    private readonly init: EndpointInit,
    workerIndex: number,
    map: PartitionMap,
    private readonly send: (m: EndpointFromWorker) => void,
    local: LocalRequests,
    pipes: { forward: SharedArrayBuffer; answer: SharedArrayBuffer },
    counted: () => void,
  ) {
    const { config } = init;
    const service = config.service;
    this.counts = ConnectionCounts.attach(init.connections);
    this.endpoint = workerEndpoint(workerIndex);
    this.router = new ForwardingRouter(
      { ...pipes, messageBytesMax: PIPE_HEADER_BYTES + service.frameBytesMax },
      send,
      (s) => this.conns.get(s) ?? 0,
      local,
      (conn, code, reason) => this.sessions.get(conn)?.close(code, reason),
      counted,
    );
    // HTTPS with the front's certificate when service.tls is set (src/security/tls.ts).
    this.http = createEndpointServer(service.tls, (_req, res) => {
      res.writeHead(HTTP_UPGRADE_REQUIRED, { 'content-type': 'text/plain' }).end('Aerie speaks WebSocket only\n');
    });
    // A terminated worker must not take the process with it (src/worker/handshake-reads.ts).
    parseHandshakesInJs(this.http, service.tls !== null);
    // Until the primary has drawn the descriptor budget, sockets are capped by connectionsMax.
    this.guard = new SocketGuard(this.http, service.connectionsMax, service.handshakeTimeoutMs, { counts: this.counts, endpoint: this.endpoint });
    const flushes = new FlushQueue();
    // Each thread holds its own answers: its budget is the node's figure, per thread.
    const budget = new AnswerBudget(service.answerBytesMax, service.sendBufferBytesMax, Math.max(...config.namespaces.map((ns) => ns.recordBytesMax)));
    const host: SessionHost = {
      router: this.router,
      inFlightMax: service.inFlightPerConnectionMax,
      budget,
      frameBytesMax: service.frameBytesMax,
      helloTimeoutMs: service.helloTimeoutMs,
      helloBody: () => helloBody(config, init.version, map),
      mapVersion: () => map.version >>> 0,
      infoBody: () => this.router.admin('info', null),
      verify: (ns, repair) => this.router.admin('verify', { ns, repair }),
      snapshot: (action, ns, id) => this.router.admin('snapshot', { action, ns, id }),
      restartWorker: (body) => this.router.admin('restart', body),
      // The primary checks the target (and whether faults are enabled) when it gets the FAULT.
      fault: () => undefined,
      // Logins and USER / ROLE go to the primary; grants and quotas are checked here (endpoint-security.ts).
      security: init.security === null ? null : new EndpointSecurity(init.security, (action, args) => this.router.admin(action, args)),
      // Audit lines join the primary's trail, named by this endpoint.
      audit: config.security.auditFile === null ? null : { record: (event) => send({ type: 'audit', event }) },
      scheduleFlush: (s) => flushes.schedule(s),
      closed: (s) => this.closed(s),
      draining: () => this.draining,
    };
    const wss = new WebSocketServer({
      server: this.http,
      maxPayload: service.frameBytesMax,
      perMessageDeflate: false,
      clientTracking: false,
      // The front's Origin and Host checks (src/security/upgrade-check.ts), before any frame.
      verifyClient: (info, done) => (refuseUpgrade(info.req.headers, service.host, service) === null ? done(true) : done(false, HTTP_FORBIDDEN, 'Forbidden')),
    });
    wss.on('connection', (ws, req) => {
      this.guard.upgraded(req.socket);
      if (this.draining || !this.counts.tryOpenSession(this.endpoint, service.connectionsMax)) {
        ws.close(CloseCode.TRY_AGAIN_LATER, this.draining ? 'shutting down' : 'too many connections');
        return;
      }
      const session = new Session(ws, host, `${req.socket.remoteAddress}:${req.socket.remotePort}`);
      const conn = this.nextConn++;
      this.sessions.set(conn, session);
      this.conns.set(session, conn);
    });
  }

  /** Sends a request this worker queued but can no longer serve (its partition moved) to the primary. */
  forward(session: QueuedAnswerer, id: number, op: number, bytes: Uint8Array, start: number, end: number, reserved: number): void {
    if (session instanceof BatchCollector) {
      // A batch's key: the primary reads it as a batch of one (its body is the key map).
      session.forwardElement(id, bytes, start, end);
      return;
    }
    try {
      this.router.forward(session, id, op, bytes, start, end, reserved);
    } catch (err) {
      // Past the forwarding bound: refused, never applied anywhere.
      const e = err instanceof AerieError ? err : new AerieError(Status.SERVER_ERROR, String(err));
      session.respondAnswer(id, e.code, { message: e.message }, reserved);
    }
  }

  /** Hands the primary's answers published so far to their sessions; returns how many (the thread's loop calls it). */
  drainAnswers(): number {
    return this.router.drainAnswers();
  }

  /** True when answers from the primary wait (the loop looks before it sleeps). */
  get answersWaiting(): boolean {
    return this.router.answersWaiting;
  }

  /** Sends a part of a batch served here to the primary; throws the forwarding bound's coded refusal. */
  forwardPart(collector: BatchCollector, id: number, op: number, body: Uint8Array, start: number, end: number): void {
    this.router.forward(collector, id, op, body, start, end, 0);
  }

  /** Sessions open on this endpoint now. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Binds the port, retrying while it is still held; reports the port bound, or why none was. */
  listen(): void {
    const { port } = this.init;
    const host = this.init.config.service.host;
    let attempts = 0;
    const attempt = () => {
      attempts++;
      const onError = (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE' && attempts < ENDPOINT_LISTEN_ATTEMPTS_MAX) {
          setTimeout(attempt, ENDPOINT_LISTEN_RETRY_MS);
          return;
        }
        this.send({ type: 'endpoint', port: 0, error: `cannot listen on ${host}:${port}: ${err.message}` });
      };
      this.http.once('error', onError);
      this.http.listen(port, host, () => {
        this.http.off('error', onError);
        this.send({ type: 'endpoint', port: (this.http.address() as AddressInfo).port, error: null });
      });
    };
    attempt();
  }

  onMessage(m: EndpointToWorker): void {
    switch (m.type) {
      case 'admin-reply':
        this.router.adminAnswered(m.seq, m.error, m.value);
        return;
      case 'endpoint-drain':
        this.drain();
        return;
      case 'tls-reload':
        this.reloadTls();
        return;
    }
  }

  /**
   * SIGHUP reached the node: the primary read the new certificate and key and swapped its own
   * context, so they are readable and match; new handshakes here use them, open sockets go on.
   */
  private reloadTls(): void {
    const tls = this.init.config.service.tls;
    if (tls === null) return;
    try {
      reloadTls(this.http, tls);
    } catch {
      // Replaced again between the primary's read and this one: the old certificate stays until the next SIGHUP.
    }
  }

  /** Shutdown begins: no new sockets, and every client is told to go away (as on the front). */
  private drain(): void {
    this.draining = true;
    this.http.close();
    this.guard.close();
    for (const s of this.sessions.values()) s.goAway('node shutting down');
  }

  /** The thread stops: every socket closes with it. */
  close(): void {
    this.draining = true;
    for (const s of this.sessions.values()) s.close(CloseCode.GOING_AWAY, 'node shutting down');
    this.http.close();
    this.guard.close();
    this.http.closeAllConnections();
    this.router.close();
  }

  private closed(s: Session): void {
    const conn = this.conns.get(s);
    if (conn === undefined) return;
    this.conns.delete(s);
    this.sessions.delete(conn);
    this.counts.closeSession(this.endpoint);
    this.router.connClosed(conn);
  }
}
