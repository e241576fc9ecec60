// Message layouts on the shared-memory rings between the primary and a worker. Every request is
// one explicit, self-contained operation (namespace, set id, digest, the client's msgpack body),
// so the same message could later be shipped to a replica or appended to a log.
//
// request (primary -> worker), little-endian:
//   0  u32 slot       the primary's request slot, echoed in the response
//   4  u8  op         Op code (src/protocol/ops.ts)
//   5  u8  nsIndex    index into config.namespaces
//   6  u8  flags      ReqFlag bits
//   7  u8  reserved
//   8  u16 setId      0 = no set; for SCAN, SCAN_ALL_SETS = every set
//   10 u16 reserved
//   12 20B digest     for SCAN: u32 startSlot, u32 pageRecordsMax, u32 pageBytesMax,
//                     u32 indexId (the index the cursor was made on; 0 on a worker's first page);
//                     for TRUNCATE: f64 beforeMs (setId SCAN_ALL_SETS = every set)
//   32 ...            the request body as the client sent it (msgpack map), possibly empty
// response (worker -> primary):
//   0  u32 slot
//   4  i32 code       result code (src/errors.ts)
//   8  ...            the response body (msgpack), empty = nil;
//                     for SCAN: u32 nextSlot (SCAN_DONE = finished), u32 indexId, then the records
//                     array; SCAN_ABORT and no body when the index is not the cursor's

export const REQ_HEADER_BYTES = 32;
export const RES_HEADER_BYTES = 8;

export const ReqOffset = {
  SLOT: 0,
  OP: 4,
  NS: 5,
  FLAGS: 6,
  SET_ID: 8,
  DIGEST: 12,
  SCAN_START_SLOT: 12,
  SCAN_RECORDS_MAX: 16,
  SCAN_BYTES_MAX: 20,
  SCAN_INDEX_ID: 24,
  TRUNCATE_BEFORE_MS: 12,
} as const;

export const ReqFlag = {
  /** Answer as a batch element: [code, gen, ttl, bins] (GET) or [code, gen, ttl] (EXISTS). */
  BATCH_ELEMENT: 1,
} as const;

export const SCAN_ALL_SETS = 0xffff;
/**
 * A response with this slot answers no request: the worker acknowledged replication messages
 * (released a channel), so the primary looks at the writes waiting for their replicas.
 */
export const ACK_SLOT = 0xffffffff;
export const SCAN_DONE = 0xffffffff;

/** Control messages over postMessage: rare, never per request. */
export type ControlToWorker =
  | { type: 'stop' }
  /** A peer's thread restarted: wake it through its new request ring. */
  | { type: 'peer-ring'; worker: number; sab: SharedArrayBuffer }
  /** The channel from -> to was replaced (its reader is copied whole): use the new one. */
  | { type: 'repl-ring'; from: number; to: number; sab: SharedArrayBuffer }
  /** Copy these partitions to `target` (docs/replication.md); answered with {records} after END. */
  | { type: 'migrate'; requestId: number; nsIndex: number; target: number; partitions: number[] }
  /** `target` died: drop the migrations to it. */
  | { type: 'migrate-cancel'; target: number }
  /** Copy the namespace's store now, between two batches (a snapshot's point in time). */
  | { type: 'snapshot'; requestId: number; nsIndex: number }
  /** Put this restored store in place and hold every request until commit or abort. */
  | { type: 'restore-swap'; requestId: number; nsIndex: number; memory: import('../shm/record-store').RecordStoreAdoption }
  /** The restore is durable: drop the old store and serve again. */
  | { type: 'restore-commit'; requestId: number; nsIndex: number }
  /** The restore failed elsewhere: put the old store back and serve again. */
  | { type: 'restore-abort'; requestId: number; nsIndex: number }
  /** A repair begins: note every digest written from now on (its versions are being read). */
  | { type: 'repair-watch'; requestId: number; nsIndex: number }
  /** Replace the damaged records with their newest durable versions, unless written since. */
  | {
      type: 'repair-apply'; requestId: number; nsIndex: number;
      problems: import('../jobs/verify').VerifyProblem[]; versions: import('../jobs/repair').CollectedVersion[];
    }
  | { type: 'repair-cancel'; requestId: number; nsIndex: number };
export type StoreControlMessage = Exclude<ControlToWorker, { type: 'stop' | 'peer-ring' | 'repl-ring' | 'migrate-cancel' }>;
export type ControlFromWorker =
  | { type: 'ready' }
  | { type: 'store'; nsIndex: number; indexSab: SharedArrayBuffer; controlSab: SharedArrayBuffer; arenaStatsSab: SharedArrayBuffer }
  | { type: 'repaired'; nsIndex: number; checked: number; fixed: number; dropped: number }
  | {
      type: 'recovered'; nsIndex: number; adopted: boolean; records: number; elapsedMs: number; recordsPerSecond: number; tornBytes: number;
      /** Damaged regions skipped (recoverySkipCorrupt), their bytes, and the first of them. */
      skippedRegions: number; skippedBytes: number; firstSkipped: string | null;
    }
  | { type: 'index-resized'; nsIndex: number; sab: SharedArrayBuffer }
  | { type: 'block'; nsIndex: number; blockIndex: number; sab: SharedArrayBuffer }
  | { type: 'fatal'; message: string }
  /** The thread's last message at a stop: whether every file namespace's log closed without error. */
  | { type: 'stopped'; logsClosed: boolean }
  /** The answer to a StoreControlMessage: a value, or the error that stopped it. */
  | { type: 'reply'; requestId: number; error: string | null; value: unknown };

/** The shared memory of one namespace's store on one worker, kept by the primary. */
export interface StoreMemory {
  indexSab: SharedArrayBuffer | null;
  controlSab: SharedArrayBuffer | null;
  arenaStatsSab: SharedArrayBuffer | null;
  blocks: SharedArrayBuffer[];
}

/** What a worker receives at start-up. */
export interface WorkerInit {
  workerIndex: number;
  workerCount: number;
  requestRing: SharedArrayBuffer;
  responseRing: SharedArrayBuffer;
  partitionMap: SharedArrayBuffer;
  /** Per namespace, the copies of each partition (replicationFactor capped at the workers). */
  copies: number[];
  /** Replication channels, [from * workerCount + to] (null on the diagonal), and their flags. */
  replRings: (SharedArrayBuffer | null)[];
  replFlags: SharedArrayBuffer;
  /** Every worker's current request ring (to wake a replica after writing its channel). */
  peerRequestRings: (SharedArrayBuffer | null)[];
  /** [nsIndex, setId, beforeMs]: the latest truncate of each set (SCAN_ALL_SETS: the namespace) sent so far. */
  truncateCutoffs: [number, number, number][];
  stats: SharedArrayBuffer;
  setRegistries: SharedArrayBuffer[];
  namespaces: import('../config').NamespaceConfig[];
  /**
   * Per namespace, for a cold start of a file namespace: the snapshot part to load first and the
   * last log sequence it covers (replay starts after it); null to replay the whole log.
   */
  bases: ({ directory: string; sequence: number } | null)[];
  /** Per namespace, the store a dead predecessor left to adopt (null: start empty). */
  adopt: (StoreMemory | null)[] | null;
}
