// Builds the INFO body from the workers' shared statistics: no message to any worker, so info
// stays cheap and answers even while workers are busy.

import type { NodeConfig } from '../config';
import type { PartitionMap } from '../partition/map';
import { NamespaceStat, StatsBlock, WorkerStat } from '../shm/stats';
import type { WorkerHandle } from './worker-handle';
import { masterRecordsLeft } from './idle-counts';

export interface InfoSources {
  config: NodeConfig;
  version: string;
  startedAtMs: number;
  map: PartitionMap;
  workers: WorkerHandle[];
  stats: StatsBlock[];
  connections: { open: number; opened: number; closed: number };
  requestsInFlight: number;
  /** Log compaction figures of a file namespace (null when it is not compacted). */
  compaction?: (nsIndex: number) => object | null;
  /** Per worker, the reads the primary answered from its shared memory. */
  directReads?: Float64Array;
  /** Failover's view (src/primary/failover.ts), null when no namespace is replicated. */
  replication?: Record<string, unknown> | null;
}

export function buildInfo(s: InfoSources): Record<string, unknown> {
  const now = Date.now();
  const partitions = new Array<number>(s.workers.length).fill(0);
  for (let n = 0; n < s.config.namespaces.length; n++) s.map.countsByWorker(n).forEach((c, i) => (partitions[i] += c));
  const roles = (s.replication?.workers ?? null) as Record<string, unknown>[] | null;
  const workers = s.workers.map((w, i) => {
    const st = s.stats[i];
    const g = (slot: number) => st.get(slot);
    let records = 0;
    for (let n = 0; n < s.config.namespaces.length; n++) records += st.get(st.nsSlot(n, NamespaceStat.RECORDS));
    return {
      index: i,
      state: w.state,
      restarts: w.restarts,
      lastFailure: w.lastFailure,
      lastRestartMs: w.lastRestartMs,
      /** Partitions it masters now, summed over namespaces. */
      partitions: partitions[i],
      /** Per role, over namespaces: masters, replicas, and copies still out of sync (being rebuilt). */
      roles: roles === null ? { master: partitions[i], replica: 0, outOfSync: 0 } : { master: roles[i].master, replica: roles[i].replica, outOfSync: roles[i].outOfSync },
      rebuild: roles === null ? null : roles[i].rebuild,
      lastRebuild: roles === null ? null : roles[i].lastRebuild,
      records,
      replicationSent: g(WorkerStat.REPL_SENT),
      replicationApplied: g(WorkerStat.REPL_APPLIED),
      replicationOverflows: g(WorkerStat.REPL_OVERFLOWS),
      migratedRecords: g(WorkerStat.MIGRATED_RECORDS),
      requests: g(WorkerStat.REQUESTS) + (s.directReads?.[i] ?? 0),
      reads: g(WorkerStat.READS) + (s.directReads?.[i] ?? 0),
      directReads: s.directReads?.[i] ?? 0,
      writes: g(WorkerStat.WRITES),
      deletes: g(WorkerStat.DELETES),
      notFound: g(WorkerStat.NOT_FOUND),
      errors: g(WorkerStat.ERRORS),
      scanPages: g(WorkerStat.SCAN_PAGES),
      heartbeatAgeMs: g(WorkerStat.HEARTBEAT_MS) === 0 ? -1 : Math.max(0, now - g(WorkerStat.HEARTBEAT_MS)),
      heapUsedBytes: g(WorkerStat.HEAP_USED_BYTES),
      eventLoopLagMs: g(WorkerStat.EVENT_LOOP_LAG_MS),
    };
  });
  const namespaces = s.config.namespaces.map((ns, n) => {
    const sum = (slot: number) => s.stats.reduce((acc, st) => acc + st.get(st.nsSlot(n, slot)), 0);
    // A worker that is not running published its masters' records before its partitions moved
    // to their replicas: count what it masters now, from the memory it left.
    const records = s.stats.reduce((acc, st, i) => acc + (s.workers[i].state === 'up'
      ? st.get(st.nsSlot(n, NamespaceStat.MASTER_RECORDS)) : masterRecordsLeft(s.workers[i], n, s.map)), 0);
    return {
      name: ns.name,
      storage: ns.storage,
      replicationFactor: s.map.copies[n],
      /** Records, each counted once (on its master); `copies` counts every copy held. */
      records,
      copies: sum(NamespaceStat.RECORDS),
      memoryBytes: sum(NamespaceStat.MEMORY_BYTES),
      memoryBytesMax: ns.memoryBytesMax,
      indexBytes: sum(NamespaceStat.INDEX_BYTES),
      arenaBytes: sum(NamespaceStat.ARENA_BYTES),
      liveBytes: sum(NamespaceStat.LIVE_BYTES),
      stopWrites: sum(NamespaceStat.STOP_WRITES) > 0,
      stopWritesPct: ns.stopWritesPct,
      expired: sum(NamespaceStat.EXPIRED),
      defaultTtlSec: ns.defaultTtlSec,
      recordBytesMax: ns.recordBytesMax,
      compaction: s.compaction?.(n) ?? null,
    };
  });
  return {
    node: 'aerie',
    version: s.version,
    pid: process.pid,
    uptimeMs: now - s.startedAtMs,
    partitionMapVersion: s.map.version,
    replication: s.replication === undefined || s.replication === null ? null : {
      partitionsMoving: s.replication.partitionsMoving,
      movesDone: s.replication.movesDone,
      writesWaiting: s.replication.writesWaiting,
    },
    connections: s.connections,
    requestsInFlight: s.requestsInFlight,
    namespaces,
    workers,
  };
}
