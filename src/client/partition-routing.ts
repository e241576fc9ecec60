// Routing by partition (the client's `routing: 'partition'`, docs/client.md): the map from the
// node's HELLO, one lane per worker endpoint it names, and which pipeline a keyed call takes. A
// call goes to its partition master's lane when that lane is connected, and otherwise through the
// front, which answers any request; so a stale map, a lost worker or a node without endpoints
// (security on, no worker ports) costs only the hop through the front, never a wrong answer.
//
// The map is refreshed (HELLO on the front) when any connection pushes a newer version and when a
// lane is lost (its worker died: a failover moves its partitions). A lost lane reconnects to its
// worker's port with backoff, and at once when a newer map arrives (the worker may be back).

import type { AerieError } from '../errors';
import type { Connection, ServerInfo } from './connection';
import { EndpointLane, type LaneHost } from './endpoint-lane';
import type { Key } from './key';
import type { Pipeline, QueueCount } from './pipeline';
import type { HostAddress } from './reconnect';
import { NO_ROUTE, RouteMap } from './route-map';

/** What routing needs of the client. */
export interface RoutingHost {
  open(address: HostAddress): Promise<Connection>;
  readonly front: Pipeline;
  readonly queued: QueueCount;
  readonly maxQueued: number;
  inFlightMax(server: ServerInfo): number;
  /** Sends HELLO through the front; resolves with its answer (the current map in it). */
  askMap(): Promise<ServerInfo>;
  endpointUp(worker: number, address: HostAddress): void;
  endpointDown(worker: number, address: HostAddress, error: AerieError): void;
}

/** One worker endpoint as routingState() shows it. */
export interface EndpointState {
  worker: number;
  host: string;
  port: number;
  connected: boolean;
}

export class PartitionRouting implements LaneHost {
  private readonly host: RoutingHost;
  private map: RouteMap | null = null;
  /** Per worker, its lane while the map names an endpoint for it. */
  private lanes: (EndpointLane | undefined)[] = [];
  /** The host the front was reached at: every endpoint is reached there too. */
  private frontHost = '';
  private refreshing = false;
  private refreshAgain = false;
  private closed = false;

  constructor(host: RoutingHost) {
    this.host = host;
  }

  get front(): Pipeline {
    return this.host.front;
  }

  get queued(): QueueCount {
    return this.host.queued;
  }

  get maxQueued(): number {
    return this.host.maxQueued;
  }

  get mapVersion(): number | null {
    return this.map === null ? null : this.map.version;
  }

  /** The pipeline for a call on `key`: its master's lane when connected, else the front's. */
  pipelineFor(key: Key): Pipeline {
    const map = this.map;
    if (map === null) return this.host.front;
    const worker = map.masterOf(key);
    if (worker === NO_ROUTE) return this.host.front;
    const lane = this.lanes[worker];
    return lane?.ready ? lane.pipeline : this.host.front;
  }

  /**
   * The front (re)connected and its HELLO answered `server`: route by its map, whatever its
   * version (a restarted node counts versions from the start again). Resolves once every new
   * lane's first connection attempt is over.
   */
  frontConnected(server: ServerInfo, frontHost: string): Promise<void> {
    this.frontHost = frontHost;
    return this.apply(RouteMap.fromHello(server), true);
  }

  /** A push from any connection: a newer map version is fetched. */
  pushed(code: number, body: unknown): void {
    if (code !== 0 || body === null || typeof body !== 'object') return;
    const { event, version } = body as { event?: unknown; version?: unknown };
    if (event !== 'map' || typeof version !== 'number') return;
    if (this.map === null || this.map.isOlderThan(version)) this.refresh();
  }

  inFlightMax(server: ServerInfo): number {
    return this.host.inFlightMax(server);
  }

  open(address: HostAddress): Promise<Connection> {
    return this.host.open(address);
  }

  laneUp(lane: EndpointLane, server: ServerInfo): void {
    if (this.closed) return;
    this.host.endpointUp(lane.worker, lane.address);
    // Its HELLO carries the map as the node has it now, maybe newer than ours.
    const map = RouteMap.fromHello(server);
    if (map !== null && (this.map === null || this.map.isOlderThan(map.version))) void this.apply(map, false);
  }

  laneLost(lane: EndpointLane, error: AerieError): void {
    if (this.closed) return;
    this.host.endpointDown(lane.worker, lane.address, error);
    // Its worker died or is going: the node moves its partitions, and a new map names their master.
    this.refresh();
  }

  inFlightCount(): number {
    let count = 0;
    for (const lane of this.lanes) if (lane !== undefined) count += lane.pipeline.inFlightCount;
    return count;
  }

  queuedCount(): number {
    let count = 0;
    for (const lane of this.lanes) if (lane !== undefined) count += lane.pipeline.queueLength;
    return count;
  }

  endpoints(): EndpointState[] {
    const states: EndpointState[] = [];
    for (const lane of this.lanes) {
      if (lane !== undefined) states.push({ worker: lane.worker, host: lane.address.host, port: lane.address.port, connected: lane.ready });
    }
    return states;
  }

  /**
   * The client is closing: every lane's calls end as the front's do, or, when the node is shutting
   * down (`afterGoaway`), once the node has answered what is in flight on each lane.
   */
  close(afterGoaway = false): Promise<void> {
    this.closed = true;
    const closing = this.lanes.map((lane) => (afterGoaway ? lane?.closeWhenGone() : lane?.close()));
    this.lanes = [];
    return Promise.all(closing).then(() => undefined);
  }

  private refresh(): void {
    if (this.closed) return;
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    this.host
      .askMap()
      .then(
        (server) => {
          const map = RouteMap.fromHello(server);
          if (map !== null && (this.map === null || this.map.isOlderThan(map.version))) return this.apply(map, false);
        },
        () => undefined, // the front is down: its reconnect brings the map
      )
      .finally(() => {
        this.refreshing = false;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          this.refresh();
        }
      });
  }

  /** Routes by `map` (null: everything through the front); opens, moves or retires lanes to match. */
  private apply(map: RouteMap | null, fromFront: boolean): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.map = map;
    const ports = map === null ? [] : map.ports;
    const attempts: Promise<void>[] = [];
    const workerCount = Math.max(ports.length, this.lanes.length);
    for (let worker = 0; worker < workerCount; worker++) {
      const port = worker < ports.length ? ports[worker] : 0;
      const lane = this.lanes[worker];
      if (port === 0) {
        if (lane !== undefined) void lane.retire();
        this.lanes[worker] = undefined;
        continue;
      }
      const address = { host: this.frontHost, port };
      if (lane === undefined) {
        const created = new EndpointLane(worker, address, this);
        this.lanes[worker] = created;
        attempts.push(created.connect());
      } else {
        lane.moveTo(address);
        if (fromFront || !lane.ready) lane.nudge();
      }
    }
    this.lanes.length = ports.length;
    return Promise.all(attempts).then(() => undefined);
  }
}
