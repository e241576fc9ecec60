// The node's listening side: the HTTP server that upgrades to WebSocket, the descriptor budget
// that caps its sockets from their first byte, and the sessions it accepts.

import type { NodeLog } from '../log';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { NodeConfig } from '../config';
import { ADMIN_CONNECTIONS_MAX } from '../constants';
import { descriptorBudget, descriptorReserve, openDescriptors, raiseDescriptorLimit, type DescriptorBudget } from './descriptors';
import { CloseCode, Session, type SessionHost } from '../endpoint/session';
import type { ClientConnections } from './session-host';
import { SocketGuard } from '../endpoint/socket-guard';
import { FRONT_ENDPOINT, type ConnectionCounts } from '../endpoint/connection-counts';
import { refuseUpgrade } from '../security/upgrade-check';
import { createEndpointServer, type EndpointServer } from '../security/tls';

/** HTTP status of an upgrade refused for its Origin or Host (src/security/upgrade-check.ts). */
const HTTP_FORBIDDEN = 403;
/** Refused upgrades logged per second at most: a page retrying in a loop must not flood the log. */
const REFUSALS_LOGGED_PER_SECOND_MAX = 5;

export interface SocketServer {
  /** HTTPS when service.tls is set (src/security/tls.ts). */
  http: EndpointServer;
  socketGuard: SocketGuard;
  descriptors: DescriptorBudget;
  /** Upgrades refused for their Origin or Host header, for INFO. */
  upgradesRefused: { count: number };
  /** Ports the node serves its admin page on (front and admin), known once they listen: that page's origin may upgrade. */
  pagePorts: number[];
}

export type { NodeLog } from '../log';

/**
 * Sockets are capped from their first byte, by the descriptors left once everything else that
 * needs one is counted (src/primary/descriptors.ts).
 */
export function buildSocketServer(config: NodeConfig, workerCount: number, log: NodeLog, shared: ConnectionCounts): SocketServer {
  // Plain HTTP requests (not upgrades) get the answers answerHttp() attaches.
  const http = createEndpointServer(config.service.tls);
  const connectionsMax = config.service.connectionsMax;
  const descriptors = descriptorBudget(raiseDescriptorLimit(log.error), openDescriptors(), descriptorReserve(config.namespaces, workerCount), connectionsMax);
  if (descriptors.limit === null) log.warn(`descriptors: the limit is unknown here (no /proc); sockets are capped by service.connectionsMax (${connectionsMax}) alone`);
  else if (descriptors.socketsMax < connectionsMax) {
    log.warn(
      `descriptors: limit ${descriptors.limit} (hard ${descriptors.hardLimit}), ${descriptors.openAtStart} open, ${descriptors.reserve} reserved: at most ${descriptors.socketsMax} client sockets, below service.connectionsMax ${connectionsMax} (raise ulimit -n)`,
    );
  } else log.info(`descriptors: limit ${descriptors.limit}, ${descriptors.openAtStart} open, ${descriptors.reserve} reserved: up to ${descriptors.socketsMax} client sockets (service.connectionsMax)`);
  // The cap holds across every endpoint: worker endpoints count in the same shared words.
  shared.setSocketsMax(descriptors.socketsMax);
  const socketGuard = new SocketGuard(http, descriptors.socketsMax, config.service.handshakeTimeoutMs, { counts: shared, endpoint: FRONT_ENDPOINT });
  return { http, socketGuard, descriptors, upgradesRefused: { count: 0 }, pagePorts: [] };
}

/** Opens a session per WebSocket connection, up to service.connectionsMax and not while draining. */
export function acceptSessions(server: SocketServer, host: SessionHost, config: NodeConfig, clients: ClientConnections, log: NodeLog): WebSocketServer {
  let loggedSecond = 0;
  let loggedThisSecond = 0;
  const wss = new WebSocketServer({
    server: server.http,
    maxPayload: config.service.frameBytesMax,
    perMessageDeflate: false,
    clientTracking: false,
    // Runs on the HTTP upgrade request, before the handshake completes: no frame is ever read.
    verifyClient: (info, done) => {
      const why = refuseUpgrade(info.req.headers, config.service.host, config.service, server.pagePorts);
      if (why === null) return done(true);
      server.upgradesRefused.count++;
      const second = Math.floor(Date.now() / 1000);
      if (second !== loggedSecond) [loggedSecond, loggedThisSecond] = [second, 0];
      if (loggedThisSecond++ < REFUSALS_LOGGED_PER_SECOND_MAX) log.error(`refused a WebSocket upgrade from ${info.req.socket.remoteAddress}: ${why}`);
      done(false, HTTP_FORBIDDEN, 'Forbidden');
    },
  });
  wss.on('connection', (ws, req) => {
    server.socketGuard.upgraded(req.socket);
    if (clients.draining || !clients.shared.tryOpenSession(FRONT_ENDPOINT, config.service.connectionsMax)) {
      ws.close(CloseCode.TRY_AGAIN_LATER, clients.draining ? 'shutting down' : 'too many connections');
      return;
    }
    const session = new Session(ws, host, `${req.socket.remoteAddress}:${req.socket.remotePort}`);
    clients.sessions.add(session);
    clients.counts.open++;
    clients.counts.opened++;
  });
  return wss;
}

export async function listen(http: EndpointServer, config: NodeConfig, port = config.service.port): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, config.service.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  return http.address() as AddressInfo;
}

/** Plain HTTP requests on the front port (not upgrades) go to `handler` (src/ops/http.ts). */
export function answerHttp(server: SocketServer, handler: RequestListener): void {
  server.http.on('request', handler);
}

/**
 * The admin port (service.adminPort), when set: the same plain HTTP answers, on a server of its
 * own that stays open until the node has stopped, so /readyz can say the node is draining. It
 * takes no WebSocket clients and at most ADMIN_CONNECTIONS_MAX sockets.
 */
export async function listenAdmin(config: NodeConfig, handler: RequestListener): Promise<{ http: EndpointServer; address: AddressInfo } | null> {
  if (config.service.adminPort === null) return null;
  // Over TLS too when service.tls is set: /metrics and /readyz say more than a stranger should read.
  const http = createEndpointServer(config.service.tls, handler);
  http.maxConnections = ADMIN_CONNECTIONS_MAX;
  const address = await listen(http, config, config.service.adminPort);
  return { http, address };
}
