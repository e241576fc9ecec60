// Counts and caps the raw TCP sockets of the WebSocket server from the moment they are accepted,
// and drops those that do not finish their upgrade in time. A WebSocket session is counted
// against service.connectionsMax only once its upgrade is done; a socket holds a descriptor from
// its first byte, so a slow-loris client (a partial upgrade, a byte every few seconds) could
// otherwise hold every descriptor of the process while Node waits ~90 s to drop it.

import type { Server, Socket } from 'node:net';
import type { ConnectionCounts } from './connection-counts';

/** The node-wide counts this guard's endpoint counts in (null: this server's sockets alone). */
export interface SharedSockets {
  counts: ConnectionCounts;
  endpoint: number;
}

export interface SocketCounts {
  /** Sockets held now, upgraded or not. */
  open: number;
  /** Sockets still in the HTTP upgrade. */
  handshaking: number;
  /** Destroyed on arrival: the node held socketsMax sockets already (or was shutting down). */
  refused: number;
  /** Destroyed because their upgrade did not finish within handshakeTimeoutMs. */
  handshakeTimeouts: number;
}

export class SocketGuard {
  readonly counts: SocketCounts = { open: 0, handshaking: 0, refused: 0, handshakeTimeouts: 0 };
  private readonly handshakes = new Map<Socket, NodeJS.Timeout>();
  private closing = false;

  constructor(
    server: Server,
    private readonly socketsMax: number,
    private readonly handshakeTimeoutMs: number,
    private readonly shared: SharedSockets | null = null,
  ) {
    server.on('connection', (socket: Socket) => this.accept(socket));
  }

  /** The upgrade of `socket` is done: it is a session now, bounded by the session's own timers. */
  upgraded(socket: Socket): void {
    // Over TLS the upgrade arrives on the TLSSocket wrapping the TCP socket this guard counted.
    const tcp = (socket as { _parent?: Socket | null })._parent ?? socket;
    const timer = this.handshakes.get(tcp);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.handshakes.delete(tcp);
    this.counts.handshaking--;
  }

  /** Refuses every new socket and drops those still in their upgrade (shutdown). */
  close(): void {
    this.closing = true;
    for (const socket of [...this.handshakes.keys()]) socket.destroy();
  }

  private accept(socket: Socket): void {
    const c = this.counts;
    if (this.closing || !this.take()) {
      c.refused++;
      socket.destroy();
      return;
    }
    c.open++;
    c.handshaking++;
    this.handshakes.set(
      socket,
      setTimeout(() => {
        c.handshakeTimeouts++;
        socket.destroy();
      }, this.handshakeTimeoutMs),
    );
    socket.once('close', () => {
      c.open--;
      this.shared?.counts.closeSocket(this.shared.endpoint);
      this.upgraded(socket);
    });
  }

  /** Counts one more socket if the cap allows: this server's own, or the node's across endpoints. */
  private take(): boolean {
    if (this.shared === null) return this.counts.open < this.socketsMax;
    return this.shared.counts.tryOpenSocket(this.shared.endpoint, this.socketsMax);
  }
}
