// One worker endpoint as a routing client uses it: a connection to the worker's own port, the
// pipeline of the calls sent there, and the loop that reopens the connection after it is lost (the
// worker died; its replacement listens on the same port). While the lane is not ready the client
// sends that worker's partitions through the front, which answers any request, so a lane only
// ever carries calls while it is connected: when it goes, what it had not sent moves to the front
// at once, and what it had sent ends as any lost connection's calls do (reads are sent again,
// writes are in doubt).

import { Status, type AerieError } from '../errors';
import type { Connection, ServerInfo } from './connection';
import { Pipeline, type QueueCount } from './pipeline';
import { reconnectDelayMs, type HostAddress } from './reconnect';

export interface LaneHost {
  /** Opens a connection and completes HELLO (with the client's credentials). */
  open(address: HostAddress): Promise<Connection>;
  /** The pipeline that takes what a lane cannot carry: the front's. */
  readonly front: Pipeline;
  readonly queued: QueueCount;
  readonly maxQueued: number;
  /** The in-flight cap for a connection whose HELLO answered `server`. */
  inFlightMax(server: ServerInfo): number;
  laneUp(lane: EndpointLane, server: ServerInfo): void;
  laneLost(lane: EndpointLane, error: AerieError): void;
  /** A push on the lane other than GOAWAY (the lane handles that itself). */
  pushed(code: number, body: unknown): void;
}

/** Bound on waiting for a worker endpoint to acknowledge a graceful close. */
const LANE_CLOSE_GRACE_MS = 1000;

export class EndpointLane {
  readonly worker: number;
  readonly pipeline: Pipeline;
  private addressNow: HostAddress;
  private readonly host: LaneHost;
  private connection: Connection | null = null;
  /** A GOAWAY arrived: the connection carries answers but takes no new calls. */
  private draining = false;
  private opening: Promise<void> | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  /** Settles closeWhenGone()'s promise once the connection is gone. */
  private onGone: (() => void) | null = null;

  constructor(worker: number, address: HostAddress, host: LaneHost) {
    this.worker = worker;
    this.addressNow = address;
    this.host = host;
    this.pipeline = new Pipeline(
      { maxInFlight: 1, maxQueued: host.maxQueued },
      {
        onStalled: () => this.connection?.terminate('requests left unanswered past their timeout'),
        onPush: (code, body) => this.pushed(code, body),
      },
      host.queued,
    );
  }

  get address(): HostAddress {
    return this.addressNow;
  }

  /** Whether calls may be sent on this lane now. */
  get ready(): boolean {
    return this.connection !== null && !this.draining;
  }

  /**
   * Opens the connection unless it is open or opening; resolves once this attempt is over,
   * whatever its outcome (a failed one schedules the next, with backoff).
   */
  connect(): Promise<void> {
    if (this.closed || this.connection !== null) return Promise.resolve();
    if (this.opening !== null) return this.opening;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const address = this.addressNow;
    this.opening = this.host.open(address).then(
      (connection) => {
        this.opening = null;
        if (this.closed || address !== this.addressNow) {
          void connection.close(LANE_CLOSE_GRACE_MS);
          if (!this.closed) void this.connect();
          return;
        }
        this.adopt(connection);
      },
      () => {
        this.opening = null;
        this.scheduleRetry();
      },
    );
    return this.opening;
  }

  /** The map names another port for this worker: reconnect there. */
  moveTo(address: HostAddress): void {
    if (address.host === this.addressNow.host && address.port === this.addressNow.port) return;
    this.addressNow = address;
    this.attempt = 0;
    if (this.connection !== null) this.connection.terminate('the worker endpoint moved');
    else if (this.opening === null) void this.connect();
  }

  /** A newer map arrived: a lane waiting to reconnect tries again now (the worker may be back). */
  nudge(): void {
    if (this.connection !== null || this.opening !== null || this.closed) return;
    this.attempt = 0;
    void this.connect();
  }

  /** Ends the lane: its calls fail as a closing client's do. */
  close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.pipeline.close();
    const connection = this.connection;
    this.connection = null;
    return connection === null ? Promise.resolve() : connection.close(LANE_CLOSE_GRACE_MS);
  }

  /**
   * The client is closing because the node is shutting down (a GOAWAY): the node answers what is
   * in flight here and then closes the connection, so the lane waits for that rather than leave
   * those calls in doubt. Nothing new is sent meanwhile; what is still queued then fails, unsent.
   */
  closeWhenGone(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.connection === null) {
      this.pipeline.close();
      return Promise.resolve();
    }
    if (!this.draining) {
      this.draining = true;
      this.connection.send(this.pipeline.drain());
    }
    return new Promise<void>((resolve) => {
      this.onGone = resolve;
    });
  }

  /** The map no longer names an endpoint for this worker: its calls go to the front from now on. */
  retire(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const connection = this.connection;
    if (connection === null) return Promise.resolve();
    // The lost-connection path below settles what was in flight and hands the rest over.
    return connection.close(LANE_CLOSE_GRACE_MS);
  }

  private adopt(connection: Connection): void {
    this.connection = connection;
    this.draining = false;
    this.attempt = 0;
    this.pipeline.setMaxInFlight(this.host.inFlightMax(connection.server));
    connection.attach({
      onFrame: (frame) => this.pipeline.receive(frame),
      onClose: (error) => this.lost(connection, error),
    });
    this.pipeline.attach(connection);
    this.host.laneUp(this, connection.server);
  }

  private lost(connection: Connection, error: AerieError): void {
    if (this.connection !== connection) return;
    this.connection = null;
    this.draining = false;
    // Sent reads are queued again and sent writes end in doubt (pipeline.detach); then nothing
    // waits for this worker's port: the front carries the calls until the lane is back.
    this.pipeline.detach();
    if (this.onGone !== null) {
      // Closing with the client (closeWhenGone): nothing is sent anywhere any more.
      this.pipeline.close();
      this.onGone();
      this.onGone = null;
      return;
    }
    this.pipeline.handOver(this.host.front);
    this.host.laneLost(this, error);
    if (!this.closed) this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== null) return;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        void this.connect();
      },
      reconnectDelayMs(this.attempt++),
    );
  }

  /** GOAWAY: the node is shutting down. Stop sending here; the answers in flight still come. */
  private pushed(code: number, body: unknown): void {
    const event = body !== null && typeof body === 'object' ? (body as { event?: unknown }).event : undefined;
    if (code === Status.OK && event === 'goaway') {
      const connection = this.connection;
      if (connection === null || this.draining) return;
      this.draining = true;
      connection.send(this.pipeline.drain());
      this.pipeline.handOver(this.host.front);
      return;
    }
    this.host.pushed(code, body);
  }
}
