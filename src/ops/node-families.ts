// The metric families read from the INFO body (src/primary/info.ts): connections, namespaces,
// workers, replication and compaction. INFO already reads every figure from shared memory, so a
// scrape asks no worker anything; /metrics and INFO cannot disagree.

import { family, type Family, type Labels, type MetricType, type Sample } from './family';

/** The parts of the INFO body /metrics reads (docs/protocol.md, INFO). */
export interface InfoView {
  version: string;
  uptimeMs: number;
  partitionMapVersion: number;
  replication: { partitionsMoving: number; movesDone: number; writesWaiting: number } | null;
  connections: { open: number; opened: number; closed: number };
  descriptors: { sockets?: { open: number; handshaking: number; refused: number; handshakeTimeouts: number } } | null;
  requestsInFlight: number;
  answerBytes?: { used: number; max: number; evictions: number };
  namespaces: NamespaceView[];
  workers: WorkerView[];
}

interface NamespaceView {
  name: string;
  replicationFactor: number;
  records: number;
  copies: number;
  memoryBytes: number;
  memoryBytesMax: number;
  indexBytes: number;
  liveBytes: number;
  memoryUsedPct: number;
  stopWrites: boolean;
  expired: number;
  disk: { freeBytes: number; refused: number } | null;
  compaction: CompactionView | null;
  /** File namespaces' log: bytes made durable, syncs and their summed time (src/primary/info.ts). */
  log?: { bytesSynced: number; syncs: number; syncMs: number } | null;
}

/** The compaction figures /metrics reads (src/primary/compaction-scheduler.ts, CompactionInfo). */
type CompactionView = Readonly<Record<'runs' | 'lastRunAtMs' | 'lastDurationMs' | 'segmentsRewritten' | 'segmentsDeleted' | 'bytesReclaimed' | 'recordsDropped' | 'aborted' | 'failures', number>>;

interface WorkerView {
  index: number;
  state: string;
  restarts: number;
  lastFailure: string | null;
  lastRestartMs: number;
  roles: { master: number; replica: number; outOfSync: number };
  rebuild: { partitionsRemaining: number } | null;
  rebuilds: { count: number; records: number };
  records: number;
  replicationSent: number;
  replicationApplied: number;
  replicationOverflows: number;
  migratedRecords: number;
  heartbeatAgeMs: number;
  heapUsedBytes: number;
  eventLoopLagMs: number;
}

/** Every state a worker handle can be in (src/primary/worker-handle.ts, WorkerState). */
const WORKER_STATES = ['starting', 'up', 'down', 'failed', 'stopped'];

/** A family with one sample per item of `items(info)`. */
function per<T>(info: () => InfoView, name: string, help: string, type: MetricType, items: (i: InfoView) => T[], sample: (item: T) => Sample | Sample[] | null): Family {
  return family(name, help, type, () => items(info()).flatMap((item) => sample(item) ?? []));
}

function one(info: () => InfoView, name: string, help: string, type: MetricType, value: (i: InfoView) => number | null, labels: Labels = {}): Family {
  return family(name, help, type, () => {
    const v = value(info());
    return v === null ? [] : [{ labels, value: v }];
  });
}

function nodeFamilies(info: () => InfoView): Family[] {
  return [
    family('aerie_build_info', 'Always 1; the version label says which Aerie runs.', 'gauge', () => [{ labels: { version: info().version }, value: 1 }]),
    one(info, 'aerie_uptime_seconds', 'Seconds since the node started.', 'gauge', (i) => i.uptimeMs / 1000),
    one(info, 'aerie_partition_map_version', "The partition map's version: it changes with every failover and hand-back.", 'gauge', (i) => i.partitionMapVersion),
    one(info, 'aerie_connections', 'Client sessions open now.', 'gauge', (i) => i.connections.open),
    one(info, 'aerie_connections_opened_total', 'Client sessions opened.', 'counter', (i) => i.connections.opened),
    one(info, 'aerie_connections_closed_total', 'Client sessions closed.', 'counter', (i) => i.connections.closed),
    one(info, 'aerie_requests_in_flight', 'Requests sent to workers and not answered yet.', 'gauge', (i) => i.requestsInFlight),
    one(info, 'aerie_sockets_refused_total', 'Sockets dropped on arrival (descriptor budget full, or shutting down).', 'counter', (i) => i.descriptors?.sockets?.refused ?? null),
    one(info, 'aerie_sockets_handshake_timeouts_total', 'Sockets dropped because their upgrade did not finish in time.', 'counter', (i) => i.descriptors?.sockets?.handshakeTimeouts ?? null),
    one(info, 'aerie_answer_bytes', 'Answer bytes held over all connections (service.answerBytesMax bounds them).', 'gauge', (i) => i.answerBytes?.used ?? null),
    one(info, 'aerie_answer_bytes_evictions_total', 'Connections closed for holding their answer budget too long.', 'counter', (i) => i.answerBytes?.evictions ?? null),
    one(info, 'aerie_partitions_moving', 'Partitions whose master is changing (failover or hand-back), requests to them held.', 'gauge', (i) => i.replication?.partitionsMoving ?? null),
    one(info, 'aerie_partition_moves_total', 'Partition master changes done (failovers and hand-backs).', 'counter', (i) => i.replication?.movesDone ?? null),
    one(info, 'aerie_replica_writes_waiting', 'Writes applied by their master, waiting for their replicas before the answer.', 'gauge', (i) => i.replication?.writesWaiting ?? null),
  ];
}

function namespaceFamilies(info: () => InfoView): Family[] {
  const ns = (name: string, help: string, type: MetricType, value: (n: NamespaceView) => number | null) =>
    per(
      info,
      name,
      help,
      type,
      (i) => i.namespaces,
      (n) => {
        const v = value(n);
        return v === null ? null : { labels: { namespace: n.name }, value: v };
      },
    );
  const compaction = (name: string, help: string, value: (c: CompactionView) => number) =>
    ns(name, help, name.endsWith('_total') ? 'counter' : 'gauge', (n) => (n.compaction === null ? null : value(n.compaction)));
  return [
    ns('aerie_namespace_records', 'Records, each counted once (on its master).', 'gauge', (n) => n.records),
    ns('aerie_namespace_copies', 'Record copies held, masters and replicas.', 'gauge', (n) => n.copies),
    ns('aerie_namespace_replication_factor', 'Copies each partition keeps.', 'gauge', (n) => n.replicationFactor),
    ns('aerie_namespace_memory_bytes', 'Index and record memory used, over all workers.', 'gauge', (n) => n.memoryBytes),
    ns('aerie_namespace_memory_limit_bytes', 'memoryBytesMax.', 'gauge', (n) => n.memoryBytesMax),
    ns('aerie_namespace_index_bytes', 'Index memory, over all workers.', 'gauge', (n) => n.indexBytes),
    ns('aerie_namespace_live_bytes', 'Bytes of live records in the arenas.', 'gauge', (n) => n.liveBytes),
    ns('aerie_namespace_memory_used_ratio', "The fullest worker's use of its share of memoryBytesMax (stop-writes compares it with stopWritesPct).", 'gauge', (n) => n.memoryUsedPct / 100),
    ns('aerie_namespace_stop_writes', '1 while the namespace refuses writes (memory, disk or a failed log), else 0.', 'gauge', (n) => (n.stopWrites ? 1 : 0)),
    ns('aerie_namespace_expired_total', 'Records removed because their TTL passed.', 'counter', (n) => n.expired),
    ns('aerie_namespace_disk_free_bytes', "Least free space on a file namespace's log device, over its workers (-1 unknown).", 'gauge', (n) => n.disk?.freeBytes ?? null),
    ns('aerie_namespace_disk_refused_total', 'Requests refused because of the disk.', 'counter', (n) => n.disk?.refused ?? null),
    ns('aerie_log_synced_bytes_total', "Log bytes made durable (fdatasync'd) over the namespace's workers.", 'counter', (n) => n.log?.bytesSynced ?? null),
    ns('aerie_log_syncs_total', 'fdatasync and directory fsync calls of the log.', 'counter', (n) => n.log?.syncs ?? null),
    ns('aerie_log_sync_seconds_total', 'Time spent in those syncs: rate(…_seconds_total) / rate(aerie_log_syncs_total) is the mean fsync latency.', 'counter', (n) =>
      n.log === undefined || n.log === null ? null : n.log.syncMs / 1000,
    ),
    compaction('aerie_compaction_runs_total', "Compaction passes over the namespace's worker logs.", (c) => c.runs),
    compaction('aerie_compaction_segments_rewritten_total', 'Log segments rewritten without their dead records.', (c) => c.segmentsRewritten),
    compaction('aerie_compaction_segments_deleted_total', 'Log segments deleted by compaction.', (c) => c.segmentsDeleted),
    compaction('aerie_compaction_reclaimed_bytes_total', 'Log bytes compaction gave back.', (c) => c.bytesReclaimed),
    compaction('aerie_compaction_records_dropped_total', 'Dead records compaction dropped.', (c) => c.recordsDropped),
    compaction('aerie_compaction_aborted_total', 'Compaction jobs that stopped without changing anything.', (c) => c.aborted),
    compaction('aerie_compaction_failures_total', 'Compaction jobs that failed.', (c) => c.failures),
    compaction('aerie_compaction_last_duration_seconds', 'How long the last compaction pass took.', (c) => c.lastDurationMs / 1000),
    compaction('aerie_compaction_last_run_timestamp_seconds', 'When the last compaction pass ran (0: never).', (c) => Math.max(0, c.lastRunAtMs) / 1000),
  ];
}

/** The first word of why a worker died ("hung", "exit", "event", …): a label of few values. */
function failureKind(why: string): string {
  const word = /^[a-z]+/i.exec(why)?.[0];
  return word === undefined ? 'other' : word.toLowerCase();
}

function workerFamilies(info: () => InfoView): Family[] {
  const w = (name: string, help: string, type: MetricType, value: (x: WorkerView) => number | null) =>
    per(
      info,
      name,
      help,
      type,
      (i) => i.workers,
      (x) => {
        const v = value(x);
        return v === null ? null : { labels: { worker: x.index }, value: v };
      },
    );
  return [
    per(
      info,
      'aerie_worker_state',
      '1 for the state each worker is in, 0 for the others.',
      'gauge',
      (i) => i.workers,
      (x) => WORKER_STATES.map((state) => ({ labels: { worker: x.index, state }, value: x.state === state ? 1 : 0 })),
    ),
    w('aerie_worker_restarts_total', 'Threads started for the worker after its first.', 'counter', (x) => x.restarts),
    per(
      info,
      'aerie_worker_last_failure_info',
      "1, labelled with the kind of the worker's last failure (first word of INFO's lastFailure); absent if it never failed.",
      'gauge',
      (i) => i.workers,
      (x) => (x.lastFailure === null ? null : { labels: { worker: x.index, kind: failureKind(x.lastFailure) }, value: 1 }),
    ),
    w('aerie_worker_last_restart_seconds', "How long the worker's last restart took.", 'gauge', (x) => (x.lastRestartMs < 0 ? null : x.lastRestartMs / 1000)),
    per(
      info,
      'aerie_worker_partitions',
      'Partitions the worker holds, by role (over namespaces); out_of_sync: copies being rebuilt.',
      'gauge',
      (i) => i.workers,
      (x) => [
        { labels: { worker: x.index, role: 'master' }, value: x.roles.master },
        { labels: { worker: x.index, role: 'replica' }, value: x.roles.replica },
        { labels: { worker: x.index, role: 'out_of_sync' }, value: x.roles.outOfSync },
      ],
    ),
    w('aerie_worker_rebuild_partitions_remaining', 'Partitions still to copy to the worker while it is rebuilt (0: no rebuild).', 'gauge', (x) => x.rebuild?.partitionsRemaining ?? 0),
    w('aerie_worker_rebuilds_total', 'Rebuilds of the worker completed (its stale copies copied again from their masters).', 'counter', (x) => x.rebuilds.count),
    w('aerie_worker_rebuilt_records_total', 'Records copied into the worker by its completed rebuilds.', 'counter', (x) => x.rebuilds.records),
    w('aerie_worker_records', 'Record copies the worker holds.', 'gauge', (x) => x.records),
    w('aerie_worker_heap_used_bytes', "The worker thread's JS heap in use.", 'gauge', (x) => x.heapUsedBytes),
    w('aerie_worker_event_loop_lag_seconds', 'The longest stretch in the last second the worker did not yield to its event loop.', 'gauge', (x) => x.eventLoopLagMs / 1000),
    w('aerie_worker_heartbeat_age_seconds', "Age of the worker's last heartbeat.", 'gauge', (x) => (x.heartbeatAgeMs < 0 ? null : x.heartbeatAgeMs / 1000)),
    w('aerie_worker_replication_sent_total', "Replication messages the worker wrote to its replicas' channels.", 'counter', (x) => x.replicationSent),
    w('aerie_worker_replication_applied_total', 'Replication messages the worker applied as a replica.', 'counter', (x) => x.replicationApplied),
    w('aerie_worker_replication_overflows_total', 'Times a channel from the worker was full, so its replica is copied whole.', 'counter', (x) => x.replicationOverflows),
    w('aerie_worker_copied_records_total', 'Records the worker copied to rebuilding workers.', 'counter', (x) => x.migratedRecords),
  ];
}

/** Every family read from INFO; `info()` is read once per scrape by the caller. */
export function infoFamilies(info: () => InfoView): Family[] {
  return [...nodeFamilies(info), ...namespaceFamilies(info), ...workerFamilies(info)];
}
