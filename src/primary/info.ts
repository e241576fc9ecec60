// Builds the INFO body from the workers' shared statistics: no message to any worker, so info
// stays cheap and answers even while workers are busy.

import type { NodeConfig } from '../config';
import type { PartitionMap } from '../partition/map';
import { NamespaceStat, type StatsBlock, StopWritesReason, WorkerStat } from '../shm/stats';
import { workerShareBytes } from '../memory-sizing';
import type { WorkerHandle } from './worker-handle';
import { DiskState, diskStateName } from '../storage/disk-space';
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
  /** The descriptor budget and the sockets held against it (src/primary/descriptors.ts, socket-guard.ts). */
  descriptors?: Record<string, unknown>;
  /** Log compaction figures of a file namespace (null when it is not compacted). */
  compaction?: (nsIndex: number) => object | null;
  /** Per worker, the reads the primary answered from its shared memory. */
  directReads?: Float64Array;
  /** Failover's view (src/primary/failover.ts), null when no namespace is replicated. */
  replication?: Record<string, unknown> | null;
  /** Per namespace, the set names the node has seen (src/shm/set-registry.ts). */
  sets?: ReadonlyArray<{ readonly size: number; nameOf(id: number): string }>;
}

/** The names of the sets a namespace's registry holds (id 0 is "no set"). */
function setNames(registry: { readonly size: number; nameOf(id: number): string } | undefined): string[] {
  const names: string[] = [];
  if (registry === undefined) return names;
  for (let id = 1; id <= registry.size; id++) names.push(registry.nameOf(id));
  return names;
}

/**
 * A file namespace's disk, over its workers: the worst state, the least free space, and why
 * writes are refused (null when they are not), in words an operator can act on.
 */
function diskInfo(s: InfoSources, n: number, dataDir: string): { state: string; freeBytes: number; reserveBytes: number; refused: number; reason: string | null } {
  let state: number = DiskState.OK;
  let freeBytes = -1;
  let reserveBytes = 0;
  let refused = 0;
  s.stats.forEach((st, i) => {
    if (s.workers[i].state !== 'up') return;
    state = Math.max(state, st.get(st.nsSlot(n, NamespaceStat.DISK_STATE)));
    const free = st.get(st.nsSlot(n, NamespaceStat.DISK_FREE_BYTES));
    if (free >= 0 && (freeBytes < 0 || free < freeBytes)) freeBytes = free;
    reserveBytes = Math.max(reserveBytes, st.get(st.nsSlot(n, NamespaceStat.DISK_RESERVE_BYTES)));
    refused += st.get(st.nsSlot(n, NamespaceStat.DISK_REFUSED));
  });
  const reason =
    state === DiskState.OK
      ? null
      : state === DiskState.STOP_WRITES
        ? `disk stop-writes: ${freeBytes} bytes free in ${dataDir}, under the reserve of ${reserveBytes}; writes fail SERVER_MEM (8), deletes go on, writes resume once space returns`
        : state === DiskState.FULL
          ? `disk full: ${freeBytes} bytes free in ${dataDir}; writes and deletes fail SERVER_MEM (8) until space returns`
          : `log failed (I/O error) in ${dataDir}: writes and deletes fail SERVER_ERROR (1) until the node restarts`;
  return { state: diskStateName(state), freeBytes, reserveBytes, refused, reason };
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
      /** Rebuilds of this worker completed since the node started, and the records they copied. */
      rebuilds: roles === null ? { count: 0, records: 0 } : roles[i].rebuilds,
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
    // Stop-writes is decided per worker, against its share: INFO shows the fullest worker and the
    // worst state, the ones that refuse writes.
    const share = workerShareBytes(ns.memoryBytesMax, s.stats.length);
    let usedMax = 0;
    let reason: number = StopWritesReason.NONE;
    for (const st of s.stats) {
      usedMax = Math.max(usedMax, st.get(st.nsSlot(n, NamespaceStat.MEMORY_BYTES)));
      const r = st.get(st.nsSlot(n, NamespaceStat.STOP_WRITES));
      if (r === StopWritesReason.STOP_WRITES_PCT || reason === StopWritesReason.NONE) reason = r;
    }
    const disk = ns.storage === 'file' ? diskInfo(s, n, ns.dataDir) : null;
    // A worker that is not running published its masters' records before its partitions moved
    // to their replicas: count what it masters now, from the memory it left.
    const records = s.stats.reduce((acc, st, i) => acc + (s.workers[i].state === 'up' ? st.get(st.nsSlot(n, NamespaceStat.MASTER_RECORDS)) : masterRecordsLeft(s.workers[i], n, s.map)), 0);
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
      /** Of the fullest worker's share of memoryBytesMax: what stop-writes compares with stopWritesPct. */
      memoryUsedPct: Math.round((usedMax / share) * 1000) / 10,
      stopWrites: reason !== StopWritesReason.NONE || (disk !== null && disk.state !== 'ok'),
      stopWritesReason: reason === StopWritesReason.STOP_WRITES_PCT ? 'stopWritesPct' : reason === StopWritesReason.MEMORY_BYTES_MAX ? 'memoryBytesMax' : null,
      disk,
      stopWritesPct: ns.stopWritesPct,
      expired: sum(NamespaceStat.EXPIRED),
      defaultTtlSec: ns.defaultTtlSec,
      recordBytesMax: ns.recordBytesMax,
      compaction: s.compaction?.(n) ?? null,
      /** The log (file namespaces): bytes made durable, syncs (fdatasync and directory fsync), their summed time. */
      log: ns.storage === 'file' ? { bytesSynced: sum(NamespaceStat.LOG_BYTES_SYNCED), syncs: sum(NamespaceStat.LOG_SYNCS), syncMs: sum(NamespaceStat.LOG_SYNC_MICROS) / 1000 } : null,
      /** Set names written to the namespace since the node started (or found on disk). */
      sets: setNames(s.sets?.[n]),
    };
  });
  return {
    node: 'aerie',
    version: s.version,
    pid: process.pid,
    uptimeMs: now - s.startedAtMs,
    partitionMapVersion: s.map.version,
    replication:
      s.replication === undefined || s.replication === null
        ? null
        : {
            partitionsMoving: s.replication.partitionsMoving,
            movesDone: s.replication.movesDone,
            writesWaiting: s.replication.writesWaiting,
          },
    connections: s.connections,
    descriptors: s.descriptors ?? null,
    requestsInFlight: s.requestsInFlight,
    namespaces,
    workers,
  };
}
