// The partition map as a routing client keeps it (docs/protocol.md §13): the map's version, the
// port of each worker's endpoint, and per namespace the worker mastering each partition. It is
// read from a HELLO answer, checked field by field: a map this client cannot read is no map, and
// every call then goes through the front, which answers any request.

import { PARTITION_COUNT } from '../constants';
import type { ServerInfo } from './connection';
import type { Key } from './key';

/** What masterOf answers when the key's namespace is not in the map or its master has no endpoint. */
export const NO_ROUTE = -1;

/** Workers a map may name: a master byte is a worker index, and 255 means none. */
const WORKERS_MAX = 255;

export class RouteMap {
  readonly version: number;
  /** Per worker, the port of its endpoint, or 0 while it has none. */
  readonly ports: readonly number[];
  private readonly namespaceIndex: ReadonlyMap<string, number>;
  private readonly masters: readonly Uint8Array[];

  private constructor(version: number, ports: number[], namespaceIndex: Map<string, number>, masters: Uint8Array[]) {
    this.version = version;
    this.ports = ports;
    this.namespaceIndex = namespaceIndex;
    this.masters = masters;
  }

  /** The map of a HELLO answer, or null when it has none or one this client cannot read. */
  static fromHello(server: ServerInfo): RouteMap | null {
    const map = server.map as { version?: unknown; endpoints?: unknown; masters?: unknown } | null | undefined;
    const namespaces = server.namespaces;
    if (map === null || typeof map !== 'object' || !Array.isArray(namespaces)) return null;
    const { version, endpoints, masters } = map;
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) return null;
    if (!Array.isArray(endpoints) || endpoints.length > WORKERS_MAX || !Array.isArray(masters) || masters.length !== namespaces.length) return null;
    const ports: number[] = [];
    for (const endpoint of endpoints) {
      if (endpoint === null) ports.push(0);
      else if (typeof endpoint === 'string') ports.push(portOf(endpoint));
      else return null;
    }
    const namespaceIndex = new Map<string, number>();
    for (let ns = 0; ns < namespaces.length; ns++) {
      const table = masters[ns];
      if (typeof namespaces[ns] !== 'string' || !(table instanceof Uint8Array) || table.length !== PARTITION_COUNT) return null;
      namespaceIndex.set(namespaces[ns], ns);
    }
    return new RouteMap(version, ports, namespaceIndex, masters as Uint8Array[]);
  }

  /** Whether any worker has an endpoint: without one, every call goes through the front. */
  get hasEndpoints(): boolean {
    return this.ports.some((port) => port !== 0);
  }

  /** The worker whose endpoint should carry a call on `key`, or NO_ROUTE. Allocates nothing. */
  masterOf(key: Key): number {
    const ns = this.namespaceIndex.get(key.ns);
    if (ns === undefined) return NO_ROUTE;
    const worker = this.masters[ns][key.partitionId];
    return worker < this.ports.length && this.ports[worker] !== 0 ? worker : NO_ROUTE;
  }

  /** Whether `version` is newer than this map's (uint32 serial arithmetic, so a wrap is newer too). */
  isOlderThan(version: number): boolean {
    return ((version - this.version) | 0) > 0;
  }
}

/**
 * The port of a "host:port" endpoint (0 when there is none). Only the port is kept: the client
 * reaches every endpoint at the host it reached the front at, since the node's own host may be a
 * wildcard or an address behind a proxy (docs/protocol.md §13).
 */
function portOf(endpoint: string): number {
  const colon = endpoint.lastIndexOf(':');
  const port = colon < 0 ? Number.NaN : Number(endpoint.slice(colon + 1));
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : 0;
}
