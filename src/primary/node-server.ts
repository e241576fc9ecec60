// The node's listening side: the HTTP server that upgrades to WebSocket, the descriptor budget
// that caps its sockets from their first byte, and the sessions it accepts.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { NodeConfig } from '../config';
import { descriptorBudget, descriptorReserve, openDescriptors, raiseDescriptorLimit, type DescriptorBudget } from './descriptors';
import { CloseCode, Session, type SessionHost } from '../endpoint/session';
import type { ClientConnections } from './session-host';
import { SocketGuard } from '../endpoint/socket-guard';
import { FRONT_ENDPOINT, type ConnectionCounts } from '../endpoint/connection-counts';

/** HTTP status for a plain HTTP request: the node speaks WebSocket only. */
const HTTP_UPGRADE_REQUIRED = 426;

export interface SocketServer {
  http: Server;
  socketGuard: SocketGuard;
  descriptors: DescriptorBudget;
}

export interface NodeLog {
  /** Shown at log levels debug and info. */
  info(message: string): void;
  /** Always shown. */
  error(message: string): void;
}

/**
 * Sockets are capped from their first byte, by the descriptors left once everything else that
 * needs one is counted (src/primary/descriptors.ts).
 */
export function buildSocketServer(config: NodeConfig, workerCount: number, log: NodeLog, shared: ConnectionCounts): SocketServer {
  const http = createServer((_req, res) => {
    res.writeHead(HTTP_UPGRADE_REQUIRED, { 'content-type': 'text/plain' }).end('Aerie speaks WebSocket only\n');
  });
  const connectionsMax = config.service.connectionsMax;
  const descriptors = descriptorBudget(raiseDescriptorLimit(log.error), openDescriptors(), descriptorReserve(config.namespaces, workerCount), connectionsMax);
  if (descriptors.limit === null) log.error(`descriptors: the limit is unknown here (no /proc); sockets are capped by service.connectionsMax (${connectionsMax}) alone`);
  else if (descriptors.socketsMax < connectionsMax) {
    log.error(`descriptors: limit ${descriptors.limit} (hard ${descriptors.hardLimit}), ${descriptors.openAtStart} open, ${descriptors.reserve} reserved: at most ${descriptors.socketsMax} client sockets, below service.connectionsMax ${connectionsMax} (raise ulimit -n)`);
  } else log.info(`descriptors: limit ${descriptors.limit}, ${descriptors.openAtStart} open, ${descriptors.reserve} reserved: up to ${descriptors.socketsMax} client sockets (service.connectionsMax)`);
  // The cap holds across every endpoint: worker endpoints count in the same shared words.
  shared.setSocketsMax(descriptors.socketsMax);
  const socketGuard = new SocketGuard(http, descriptors.socketsMax, config.service.handshakeTimeoutMs, { counts: shared, endpoint: FRONT_ENDPOINT });
  return { http, socketGuard, descriptors };
}

/** Opens a session per WebSocket connection, up to service.connectionsMax and not while draining. */
export function acceptSessions(server: SocketServer, host: SessionHost, config: NodeConfig, clients: ClientConnections): WebSocketServer {
  const wss = new WebSocketServer({
    server: server.http,
    maxPayload: config.service.frameBytesMax,
    perMessageDeflate: false,
    clientTracking: false,
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

export async function listen(http: Server, config: NodeConfig): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.service.port, config.service.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  return http.address() as AddressInfo;
}
