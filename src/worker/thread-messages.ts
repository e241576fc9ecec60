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
 * To a worker's endpoint (src/worker/endpoint.ts): the answers to what it forwarded, and the
 * node's shutdown. Forwarded requests and their answers cross in one message per event-loop turn
 * and direction (a Packed batch), never one per request (docs/protocol.md §13).
 */
export type EndpointToWorker =
  /** Answers to forwarded requests: per answer [seq, code] (ANSWER_FIELDS), bodies msgpack (empty: nil). */
  | ({ type: 'answer' } & Packed)
  /** The outcome of admin request `seq` (INFO, VERIFY, SNAPSHOT, WORKER_RESTART). */
  | { type: 'admin-reply'; seq: number; error: ControlError | null; value: unknown }
  /** Close the connection `conn` (a request that killed a worker was sent again on it). */
  | { type: 'close-conn'; conn: number; code: number; reason: string }
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

/** From a worker's endpoint to the primary. */
export type EndpointFromWorker =
  /** The endpoint listens on `port` (0 and an error: it could not bind, clients use the front). */
  | { type: 'endpoint'; port: number; error: string | null }
  /**
   * Requests the endpoint does not serve itself: per request [seq, conn, op, frameBytesMax]
   * (FORWARD_FIELDS) and its body as the client sent it; answered by 'answer'.
   */
  | ({ type: 'forward' } & Packed)
  /** FAULT {worker, kind} from connection `conn`; answered by 'answer'. */
  | { type: 'forward-fault'; seq: number; conn: number; worker: number; kind: string }
  /** Connection `conn` closed: its forwarded requests' answers may be dropped. */
  | { type: 'conn-closed'; conn: number }
  /** An admin request the primary runs; answered by 'admin-reply'. */
  | { type: 'admin'; seq: number; action: AdminAction; args: unknown }
  /** A line for the node's audit trail (security.auditFile) from one of the endpoint's sessions. */
  | { type: 'audit'; event: AuditEvent };

/**
 * Many small messages in one: `fields` numbers per item in `meta`, then each item's bytes, end to
 * end in `bodies` (item i's end at ends[i]). Typed arrays of their own, exactly sized: they are
 * transferred, not cloned.
 */
export interface Packed {
  meta: Int32Array;
  ends: Int32Array;
  bodies: Uint8Array;
}

export const FORWARD_FIELDS = 4;
export const ANSWER_FIELDS = 2;

/** Collects the items of one turn (growing as needed, bounded by the callers' in-flight limits). */
export class Packer {
  private meta = new Int32Array(64);
  private ends = new Int32Array(16);
  private bytes = new Uint8Array(4096);
  private count = 0;
  private length = 0;

  constructor(private readonly fields: number) {}

  get size(): number {
    return this.count;
  }

  /** One item: its `fields` numbers (a, b, c, d: those past `fields` are ignored) and bytes[start, end). */
  add(a: number, b: number, c: number, d: number, bytes: Uint8Array, start: number, end: number): void {
    const f = this.fields;
    if ((this.count + 1) * f > this.meta.length) this.meta = grown(this.meta, (this.count + 1) * f);
    if (this.count + 1 > this.ends.length) this.ends = grown(this.ends, this.count + 1);
    const n = end - start;
    if (this.length + n > this.bytes.length) this.bytes = grown(this.bytes, this.length + n);
    const at = this.count * f;
    this.meta[at] = a;
    if (f > 1) this.meta[at + 1] = b;
    if (f > 2) this.meta[at + 2] = c;
    if (f > 3) this.meta[at + 3] = d;
    this.bytes.set(bytes.subarray(start, end), this.length);
    this.length += n;
    this.ends[this.count++] = this.length;
  }

  /** The items so far, in arrays of their own; the packer starts empty again. */
  take(): Packed {
    const packed = { meta: this.meta.slice(0, this.count * this.fields), ends: this.ends.slice(0, this.count), bodies: this.bytes.slice(0, this.length) };
    this.count = 0;
    this.length = 0;
    return packed;
  }
}

function grown<T extends Int32Array | Uint8Array>(a: T, atLeast: number): T {
  let n = a.length * 2;
  while (n < atLeast) n *= 2;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

/** The buffers of a Packed, for postMessage's transfer list. */
export function transferOf(p: Packed): ArrayBuffer[] {
  return [p.meta.buffer as ArrayBuffer, p.ends.buffer as ArrayBuffer, p.bodies.buffer as ArrayBuffer];
}

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
