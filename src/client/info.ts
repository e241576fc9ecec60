// The shape of INFO's answer (docs/protocol.md §11), for callers who read it in TypeScript. The
// node may add fields in later versions, so every map also admits fields not named here.

export interface NamespaceDiskInfo {
  state: 'ok' | 'stop-writes' | 'full' | 'failed';
  freeBytes: number;
  reserveBytes: number;
  refused: number;
  reason: string | null;
  [field: string]: unknown;
}

export interface NamespaceInfo {
  name: string;
  storage: 'memory' | 'file';
  replicationFactor: number;
  /** Each record once, counted on its master. */
  records: number;
  /** Every copy on every worker. */
  copies: number;
  memoryBytes: number;
  memoryBytesMax: number;
  indexBytes: number;
  arenaBytes: number;
  liveBytes: number;
  /** The fullest worker's use of its share of memoryBytesMax. */
  memoryUsedPct: number;
  stopWrites: boolean;
  stopWritesReason: 'stopWritesPct' | 'memoryBytesMax' | null;
  stopWritesPct: number;
  expired: number;
  defaultTtlSec: number;
  recordBytesMax: number;
  /** null for a memory namespace. */
  disk: NamespaceDiskInfo | null;
  /** File namespaces only (docs/storage.md, Compaction). */
  compaction?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface WorkerInfo {
  index: number;
  state: 'starting' | 'up' | 'down' | 'failed';
  restarts: number;
  lastFailure: string | null;
  lastRestartMs: number;
  partitions: number;
  records: number;
  requests: number;
  reads: number;
  directReads: number;
  writes: number;
  deletes: number;
  notFound: number;
  errors: number;
  scanPages: number;
  heartbeatAgeMs: number;
  heapUsedBytes: number;
  eventLoopLagMs: number;
  roles: { master: number; replica: number; outOfSync: number };
  rebuild: { partitionsRemaining: number; partitionsTotal: number; recordsMoved: number; elapsedMs: number } | null;
  lastRebuild: { partitions: number; records: number; elapsedMs: number } | null;
  /** Rebuilds of the worker completed since the node started, and the records they copied. */
  rebuilds: { count: number; records: number };
  replicationSent: number;
  replicationApplied: number;
  replicationOverflows: number;
  migratedRecords: number;
  [field: string]: unknown;
}

/** What info() answers. */
export interface NodeInfo {
  node: string;
  version: string;
  pid: number;
  uptimeMs: number;
  /** Increments whenever partition ownership changes. */
  partitionMapVersion: number;
  replication: { partitionsMoving: number; movesDone: number; writesWaiting: number } | null;
  connections: { open: number; opened: number; closed: number };
  requestsInFlight: number;
  descriptors: Record<string, unknown>;
  answerBytes: { used: number; max: number; perConnectionMax: number; evictions: number };
  namespaces: NamespaceInfo[];
  workers: WorkerInfo[];
  [field: string]: unknown;
}
