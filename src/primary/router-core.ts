// What the parts of the router (batches, scans, truncates, held requests) use of it: the request
// table, the workers, the map, the request's routing fields, and the checks every route makes.
// Each part is a file of its own (src/primary/batch-route.ts, scan-route.ts, truncate-route.ts,
// held-requests.ts); the Router (src/primary/router.ts) implements this and dispatches to them.

import type { PartitionMap } from '../partition/map';
import type { Answerer } from '../endpoint/session';
import type { RoutingFields } from '../endpoint/routing-fields';
import type { Reader } from '../protocol/reader';
import { Writer } from '../protocol/writer';
import type { DirectReader } from './direct-reads';
import type { BroadcastState, RequestTable } from './requests';
import type { WorkerHandle } from './worker-handle';
import type { Failover } from './failover';

export interface RouterCore {
  readonly table: RequestTable;
  readonly workers: WorkerHandle[];
  readonly map: PartitionMap;
  /** The routing fields of the request being routed (read by route()). */
  readonly fields: RoutingFields;
  readonly direct: DirectReader | null;
  /** [nsIndex, setId, beforeMs] of every truncate sent, the latest per set. */
  readonly truncateCutoffs: [number, number, number][];
  /** Null when no namespace keeps more than one copy. */
  readonly failover: Failover | null;
  /** Every worker answered a truncate: the node logs it (src/primary/node.ts). */
  readonly onTruncated: ((state: BroadcastState) => void) | null;
  route(session: Answerer, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number, r: Reader): void;
  nsIndex(ns: string | null): number;
  setId(nsIndex: number, set: string | null, register: boolean): number;
  checkBodyBytes(nsIndex: number, bodyBytes: number): void;
  markDirty(worker: WorkerHandle): void;
  mastersNothing(nsIndex: number, worker: number): boolean;
  onResponse(slot: number, code: number, bytes: Uint8Array, start: number, end: number): void;
  hold(session: Answerer, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void;
  timeDirectRead(): boolean;
  countDirectRead(op: number, code: number, timed: boolean, startedMs: number): void;
}

/** {message}: the body of an answer the router makes up itself. */
export function elementMessage(message: string): Buffer {
  const w = new Writer(256);
  w.writeValue({ message });
  return w.copy() as Buffer; // a Buffer on Node, where the primary runs
}

/** A batch element that failed: [code, gen 0, ttl 0] (and nil bins for BATCH_GET). */
