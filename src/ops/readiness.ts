// Whether the node should be sent traffic, and if not, why: the answer of GET /readyz. Each
// reason has a stable code (for probes and tests) and words an operator can act on.

import { PARTITION_COUNT } from '../constants';
import type { PartitionMap } from '../partition/map';

export const NotReady = {
  /** Shutdown began: sessions are told to go away, new ones are refused. */
  DRAINING: 'draining',
  /** A worker is still in its first start: loading its snapshot and log. */
  RECOVERING: 'recovering',
  /** Some partitions have no master that serves them now (its worker is down, or the master is moving). */
  PARTITIONS_UNSERVED: 'partitions_unserved',
  /** A namespace refuses writes (memory, disk or a failed log) until something is done about it. */
  STOP_WRITES: 'stop_writes',
} as const;
export type NotReadyCode = (typeof NotReady)[keyof typeof NotReady];

export interface NotReadyReason {
  code: NotReadyCode;
  message: string;
}

/** What readiness is decided from: the node's state now, read without asking any worker. */
export interface ReadinessInputs {
  draining: boolean;
  map: PartitionMap;
  /** [ns][partition]: 1 while the partition's master is changing (failover); null when nothing is replicated. */
  held: ReadonlyArray<Uint8Array> | null;
  workers: ReadonlyArray<{ state: string; restarts: number }>;
  namespaces: ReadonlyArray<NamespaceWrites>;
}

/** The part of a namespace's INFO that says whether it takes writes. */
export interface NamespaceWrites {
  name: string;
  stopWrites: boolean;
  stopWritesReason: string | null;
  disk: { reason: string | null } | null;
}

/** Every reason the node is not ready, in a fixed order; empty when it is ready. */
export function notReadyReasons(s: ReadinessInputs): NotReadyReason[] {
  const reasons: NotReadyReason[] = [];
  if (s.draining) reasons.push({ code: NotReady.DRAINING, message: 'the node is shutting down: clients are told to go away' });
  s.workers.forEach((w, i) => {
    if (w.state === 'starting' && w.restarts === 0) reasons.push({ code: NotReady.RECOVERING, message: `worker ${i} is still in its first start (recovering its stores)` });
  });
  s.namespaces.forEach((ns, n) => {
    const unserved = unservedPartitions(s, n);
    if (unserved > 0) {
      reasons.push({ code: NotReady.PARTITIONS_UNSERVED, message: `namespace ${ns.name}: ${unserved} of ${PARTITION_COUNT} partitions have no serving master` });
    }
    if (ns.stopWrites) reasons.push({ code: NotReady.STOP_WRITES, message: `namespace ${ns.name}: ${stopWritesWhy(ns)}` });
  });
  return reasons;
}

/** Partitions of namespace `n` whose master's worker is not up, or whose master is moving. */
function unservedPartitions(s: ReadinessInputs, n: number): number {
  const held = s.held === null ? null : s.held[n];
  let unserved = 0;
  for (let p = 0; p < PARTITION_COUNT; p++) {
    if (s.workers[s.map.master(n, p)]?.state !== 'up' || (held !== null && held[p] === 1)) unserved++;
  }
  return unserved;
}

function stopWritesWhy(ns: NamespaceWrites): string {
  if (ns.disk?.reason) return ns.disk.reason;
  if (ns.stopWritesReason === 'stopWritesPct') return 'stop-writes: memory use passed stopWritesPct; writes fail SERVER_MEM (8) until records are deleted or expire';
  return "stop-writes: a worker's share of memoryBytesMax has no room for another block or a larger index; writes fail SERVER_MEM (8) until records are deleted or expire";
}
