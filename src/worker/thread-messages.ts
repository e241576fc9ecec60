// The messages between the primary and a worker thread outside the rings: what a thread
// receives at start-up, and the rare control messages over postMessage both ways (never one per
// request). The worker side (src/worker/main.ts) and the pool side (src/primary/worker-handle.ts)
// share these types (and how an error crosses) and nothing else; the ring layouts are src/protocol/internal.ts.

import type { LogSettings } from '../log';
import type { NamespaceConfig, NodeConfig } from '../config';
import { AerieError, Status } from '../errors';
import type { VerifyProblem } from '../shm/record-check';
import type { RecordStoreAdoption } from '../shm/record-store';
import type { CollectedVersion } from '../storage/record-version';
import type { AuditEvent } from '../security/audit-log';
import type { SecurityShare } from '../security/node-security';

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
  | { type: 'restore-swap'; requestId: number; nsIndex: number; memory: RecordStoreAdoption }
  /** The restore is durable: drop the old store and serve again. */
  | { type: 'restore-commit'; requestId: number; nsIndex: number }
  /** The restore failed elsewhere: put the old store back and serve again. */
  | { type: 'restore-abort'; requestId: number; nsIndex: number }
  /** A repair begins: note every digest written from now on (its versions are being read). */
  | { type: 'repair-watch'; requestId: number; nsIndex: number }
  /** Replace the damaged records with their newest durable versions, unless written since. */
  | {
      type: 'repair-apply';
      requestId: number;
      nsIndex: number;
      problems: VerifyProblem[];
      versions: CollectedVersion[];
    }
  | { type: 'repair-cancel'; requestId: number; nsIndex: number }
  | EndpointToWorker;

/**
 * To a worker's endpoint (src/worker/endpoint.ts), over postMessage. The answers to what it
 * forwarded, and the closes of its connections the primary asks for, come through its answer pipe
 * instead (AnswerKind), in order after the answers before them.
 */
export type EndpointToWorker =
  /** The outcome of admin request `seq` (INFO, VERIFY, SNAPSHOT, WORKER_RESTART). */
  | { type: 'admin-reply'; seq: number; error: ControlError | null; value: unknown }
  /** The node shuts down: tell every client to go away and accept no more. */
  | { type: 'endpoint-drain' }
  /** SIGHUP: read service.tls's files again for new handshakes (src/security/tls.ts). */
  | { type: 'tls-reload' };
export type StoreControlMessage = Exclude<ControlToWorker, { type: 'stop' | 'peer-ring' | 'repl-ring' | 'migrate-cancel' } | EndpointToWorker>;
export type ControlFromWorker =
  | { type: 'ready' }
  | { type: 'store'; nsIndex: number; indexSab: SharedArrayBuffer; controlSab: SharedArrayBuffer; arenaStatsSab: SharedArrayBuffer }
  | { type: 'repaired'; nsIndex: number; checked: number; fixed: number; dropped: number }
  | {
      type: 'recovered';
      nsIndex: number;
      adopted: boolean;
      records: number;
      elapsedMs: number;
      recordsPerSecond: number;
      tornBytes: number;
      /** Damaged regions skipped (recoverySkipCorrupt), their bytes, and the first of them. */
      skippedRegions: number;
      skippedBytes: number;
      firstSkipped: string | null;
    }
  | { type: 'index-resized'; nsIndex: number; sab: SharedArrayBuffer }
  | { type: 'block'; nsIndex: number; blockIndex: number; sab: SharedArrayBuffer }
  | { type: 'fatal'; message: string }
  /** The thread's last message at a stop: whether every file namespace's log closed without error. */
  | { type: 'stopped'; logsClosed: boolean }
  /** The answer to a StoreControlMessage: a value, or the error that stopped it, code and all. */
  | { type: 'reply'; requestId: number; error: ControlError | null; value: unknown }
  | EndpointFromWorker;

/**
 * From a worker's endpoint to the primary, over postMessage (rare). Requests it forwards, and the
 * closes of its connections, go through its forward pipe instead (ForwardKind), in order.
 */
export type EndpointFromWorker =
  /** The endpoint listens on `port` (0 and an error: it could not bind, clients use the front). */
  | { type: 'endpoint'; port: number; error: string | null }
  /** An admin request the primary runs; answered by 'admin-reply'. */
  | { type: 'admin'; seq: number; action: AdminAction; args: unknown }
  /** A line for the node's audit trail (security.auditFile) from one of the endpoint's sessions. */
  | { type: 'audit'; event: AuditEvent };

/**
 * The messages of a worker endpoint's forward pipe (src/shm/pipe.ts: kind, a, b, c, d, body),
 * per thread, worker to primary. One ring carries them all, so a close never overtakes a request.
 */
export const ForwardKind = {
  /** A request the endpoint does not serve: a seq, b connection, c op, d the connection's answer frame limit; body as the client sent it. */
  REQUEST: 1,
  /** FAULT: a seq, b connection, c the target worker; body the fault's kind (UTF-8). */
  FAULT: 2,
  /** Connection a closed: its requests' answers may be dropped. */
  CONN_CLOSED: 3,
} as const;

/** The messages of a worker endpoint's answer pipe, primary to worker, in the order they were made. */
export const AnswerKind = {
  /** a seq, b result code; body msgpack (empty: nil). */
  ANSWER: 1,
  /** Close connection a with close code b; body the reason (UTF-8): a request that killed a worker was sent again on it. */
  CLOSE_CONN: 2,
} as const;

/** Admin requests, and the security ones a worker's endpoint asks of the primary (login, token, USER / ROLE). */
export type AdminAction = 'info' | 'verify' | 'snapshot' | 'restart' | 'login' | 'token' | 'security';

/** An error crossing the thread boundary: its result code (src/errors.ts Status) and message. */
export interface ControlError {
  code: number;
  message: string;
}

/** An error thrown while handling a control message, as it crosses back: a bare Error is SERVER_ERROR. */
export function controlError(err: unknown): ControlError {
  if (err instanceof AerieError) return { code: err.code, message: err.message };
  return { code: Status.SERVER_ERROR, message: String((err as Error)?.message ?? err) };
}

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
  /** How this thread logs (the node's log settings: level, file, format). */
  log: LogSettings;
  workerCount: number;
  requestRing: SharedArrayBuffer;
  responseRing: SharedArrayBuffer;
  /**
   * This thread's endpoint's queue (src/worker/local-writes.ts) and the buffer it builds a request
   * message in (src/worker/local-requests.ts): made by the primary so that, the thread dead, it can
   * still read the request the thread was applying there (WorkerStat.APPLYING_SOURCE).
   */
  localQueue: SharedArrayBuffer;
  localMessage: SharedArrayBuffer;
  /** This thread's endpoint's pipes to and from the primary (src/shm/pipe.ts), made for each thread. */
  forwardPipe: SharedArrayBuffer;
  answerPipe: SharedArrayBuffer;
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
  namespaces: NamespaceConfig[];
  /**
   * Per namespace, for a cold start of a file namespace: the snapshot part to load first and the
   * last log sequence it covers (replay starts after it); null to replay the whole log.
   */
  bases: ({ directory: string; sequence: number } | null)[];
  /** Per namespace, the store a dead predecessor left to adopt (null: start empty). */
  adopt: (StoreMemory | null)[] | null;
  /** This worker's client endpoint (docs/protocol.md §13). */
  endpoint: EndpointInit;
}

export interface EndpointInit {
  /** The port to listen on (0: any free one, reported to the primary). */
  port: number;
  config: NodeConfig;
  /** The node's version, for HELLO. */
  version: string;
  /** The node's socket and session counts (src/endpoint/connection-counts.ts). */
  connections: SharedArrayBuffer;
  /** Partitions changing master, and this worker's busy word (src/partition/holds.ts). */
  holds: SharedArrayBuffer;
  /** With security on: the users file, the change counter and the quota block (src/worker/endpoint-security.ts). */
  security: SecurityShare | null;
  /** Which copies count (src/replication/in-sync.ts): the replicas this worker's writes wait for. */
  inSync: SharedArrayBuffer;
  /** The quarantined requests' fingerprints (src/shm/quarantine-table.ts): refused here as on the front. */
  quarantine: SharedArrayBuffer;
}
