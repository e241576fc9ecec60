// Routes each request to the worker that masters its key's partition (src/partition/ownership.ts)
// and sends each response back to the session that asked. Single-key requests cost one slot and
// one ring message and are handled here; batches (batch-route.ts), scans (scan-route.ts),
// truncates (truncate-route.ts) and requests held while a partition moves (held-requests.ts) are
// parts of their own, which reach the router through RouterCore (router-core.ts).

import { DIGEST_BYTES, RECORD_BYTES_CEILING, REQUEST_BODY_OVERHEAD_BYTES, RING_MESSAGE_BYTES_MAX, DIRECT_READ_TIMING_EVERY, PARTITION_COUNT } from '../constants';
import { assert } from '../assert';
import { AerieError, Status } from '../errors';
import { partitionOf } from '../partition/digest';
import type { PartitionMap } from '../partition/map';
import { HOLD_HERE, primaryTarget } from '../partition/ownership';
import { REQ_HEADER_BYTES } from '../protocol/internal';
import { Op, isWriteOp } from '../protocol/ops';
import type { Reader } from '../protocol/reader';
import { Writer } from '../protocol/writer';
import type { SetRegistry } from '../shm/set-registry';
import { RequestTable, SlotKind, type BatchState, type BroadcastState, type ScanState } from './requests';
import { RoutingFields, readRoutingFields } from '../endpoint/routing-fields';
import type { Answerer } from '../endpoint/session';
import { REPLICA_IN_DOUBT_BODY } from '../endpoint/answer-bodies';
import { Quarantine } from './quarantine';
import type { WorkerHandle } from './worker-handle';
import { NOT_HERE, type DirectReader } from './direct-reads';
import { RequestMetrics } from '../shm/request-metrics';
import type { Failover } from './failover';
import type { ReplicaWaits } from '../replication/waits';
import type { ReplicationChannels } from '../replication/channels';
import { elementError } from '../endpoint/answer-bodies';
import { elementMessage, type RouterCore } from './router-core';
import { BatchRoute } from './batch-route';
import { ScanRoute } from './scan-route';
import { TruncateRoute } from './truncate-route';
import { HeldRequests } from './held-requests';

/** Replication as the router sees it: who must acknowledge a write, and partitions on hold. */
export interface RouterReplication {
  failover: Failover;
  waits: ReplicaWaits;
  channels: ReplicationChannels;
  /** A master flagged a channel overflowed (its replica missed writes). */
  onOverflow(): void;
}

export class Router implements RouterCore {
  readonly table = new RequestTable();
  /** Requests a worker died applying: refused when sent again. */
  readonly quarantine = new Quarantine();
  /** The requests this thread answers itself (direct reads) or refuses, for /metrics. */
  readonly metrics = RequestMetrics.create();
  /** Direct reads seen, modulo DIRECT_READ_TIMING_EVERY. */
  private directReadsSeen = 0;
  private readonly nsIndexes: Map<string, number>;
  readonly fields = new RoutingFields();
  private readonly dirty = new Set<WorkerHandle>();
  private commitScheduled = false;
  private readonly replicaScratch = new Int32Array(32);
  private overflowEpochSeen = 0;
  private readonly batches = new BatchRoute(this);
  private readonly scans = new ScanRoute(this);
  private readonly truncates: TruncateRoute;
  private readonly held = new HeldRequests(this);
  /** Every worker answered a truncate (its outcome in the state): the node logs it. */
  onTruncated: ((state: BroadcastState) => void) | null = null;

  constructor(
    namespaceNames: string[],
    private readonly sets: SetRegistry[],
    readonly map: PartitionMap,
    readonly workers: WorkerHandle[],
    /** GET and EXISTS of memory namespaces answered from shared memory (null: always the rings). */
    readonly direct: DirectReader | null = null,
    /** Null when no namespace keeps more than one copy. */
    private readonly replication: RouterReplication | null = null,
    /** [nsIndex, setId, beforeMs] of every truncate sent, the latest per set (shared with worker start-up). */
    readonly truncateCutoffs: [number, number, number][] = [],
    /** Each namespace's recordBytesMax (absent: the ceiling). */
    private readonly recordBytesMax: number[] = [],
  ) {
    this.nsIndexes = new Map(namespaceNames.map((n, i) => [n, i]));
    this.truncates = new TruncateRoute(this, namespaceNames.length);
  }

  get failover(): Failover | null {
    return this.replication?.failover ?? null;
  }

  nsIndex(ns: string | null): number {
    const i = ns === null ? undefined : this.nsIndexes.get(ns);
    if (i === undefined) throw new AerieError(Status.INVALID_NAMESPACE, `namespace '${ns}' is not configured`);
    return i;
  }

  /** Set id for a request; writes register new sets, reads of an unknown set use -1. */
  setId(nsIndex: number, set: string | null, register: boolean): number {
    if (set === null) return 0;
    const reg = this.sets[nsIndex];
    if (!register) return reg.idOf(set);
    const id = reg.assign(set);
    if (id < 0) throw new AerieError(Status.PARAMETER, 'the namespace has the maximum number of sets');
    return id;
  }

  /**
   * Routes one request whose body is frame[bodyStart, bodyEnd). Throws AerieError for a request
   * that cannot be routed; the session answers it.
   */
  route(session: Answerer, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number, r: Reader): void {
    const f = this.fields;
    switch (op) {
      case Op.PUT:
      case Op.GET:
      case Op.EXISTS:
      case Op.REMOVE:
      case Op.TOUCH:
      case Op.OPERATE: {
        readRoutingFields(r, bodyEnd, f, true);
        const nsIndex = this.nsIndex(f.ns);
        const isWrite = op === Op.PUT || op === Op.OPERATE;
        const setId = Math.max(0, this.setId(nsIndex, f.set, isWrite));
        const partitionId = partitionOf(f.digest);
        const target = primaryTarget(this.map, this.failover?.held ?? null, nsIndex, partitionId);
        if (target === HOLD_HERE) {
          this.hold(session, id, op, frame, bodyStart, bodyEnd);
          return;
        }
        const worker = this.workers[target];
        assert(worker !== undefined, 'a partition mastered by no worker');
        if ((op === Op.GET || op === Op.EXISTS) && this.direct !== null) {
          r.pos = bodyStart;
          const timed = this.timeDirectRead();
          const readStartMs = timed ? performance.now() : 0;
          const code = this.direct.read(op, worker, nsIndex, f.digest, r, bodyEnd);
          if (code !== NOT_HERE) {
            this.countDirectRead(op, code, timed, readStartMs);
            session.respondRaw(id, code, this.direct.out.buffer, 0, this.direct.out.length, session.routeReserve);
            return;
          }
        }
        this.sendSingle(session, id, op, nsIndex, setId, worker, frame, bodyStart, bodyEnd, partitionId);
        return;
      }
      case Op.BATCH_GET:
      case Op.BATCH_EXISTS:
        readRoutingFields(r, bodyEnd, f, false);
        this.batches.route(session, id, op, frame, bodyStart, bodyEnd);
        return;
      case Op.SCAN:
        readRoutingFields(r, bodyEnd, f, false);
        this.scans.route(session, id, frame, bodyStart, bodyEnd);
        return;
      case Op.TRUNCATE:
        readRoutingFields(r, bodyEnd, f, false);
        this.truncates.route(session, id, frame, bodyStart, bodyEnd);
        return;
      default:
        throw new AerieError(Status.PARAMETER, `unknown op ${op}`);
    }
  }

  /** Whether to time this direct read: one in DIRECT_READ_TIMING_EVERY is. */
  timeDirectRead(): boolean {
    this.directReadsSeen = (this.directReadsSeen + 1) & (DIRECT_READ_TIMING_EVERY - 1);
    return this.directReadsSeen === 0;
  }

  countDirectRead(op: number, code: number, timed: boolean, startedMs: number): void {
    if (timed) this.metrics.recordSampled(op, code, (performance.now() - startedMs) * 1000, DIRECT_READ_TIMING_EVERY);
    else this.metrics.count(op, code);
  }

  /**
   * Every size limit a request body meets after the frame's (the socket closes a frame past
   * frameBytesMax with 1009), checked here in order so the client gets the documented code:
   * the namespace's record size, then the worker ring's message size. Config validation keeps
   * frameBytesMax above a largest record's request, and the constants keep the ring above that.
   */
  checkBodyBytes(nsIndex: number, bodyBytes: number): void {
    const recordMax = this.recordBytesMax[nsIndex] ?? RECORD_BYTES_CEILING;
    if (bodyBytes > recordMax + REQUEST_BODY_OVERHEAD_BYTES) {
      throw new AerieError(Status.RECORD_TOO_BIG, `a request of ${bodyBytes} bytes exceeds the namespace's record limit of ${recordMax} bytes`);
    }
    if (REQ_HEADER_BYTES + bodyBytes > RING_MESSAGE_BYTES_MAX - 4) {
      throw new AerieError(Status.RECORD_TOO_BIG, `a request of ${bodyBytes} bytes exceeds a worker ring's message limit`);
    }
  }

  private sendSingle(
    session: Answerer,
    id: number,
    op: number,
    nsIndex: number,
    setId: number,
    worker: WorkerHandle,
    frame: Uint8Array,
    bodyStart: number,
    bodyEnd: number,
    partitionId: number,
  ): void {
    this.checkBodyBytes(nsIndex, bodyEnd - bodyStart);
    if (!worker.accepting) throw new AerieError(Status.PARTITION_UNAVAILABLE, `partition's worker ${worker.index} is down`);
    if (this.quarantine.size > 0) this.quarantine.check(session, op, nsIndex, this.fields.digest, frame, bodyStart, bodyEnd);
    const slot = this.table.acquire(session, id, SlotKind.SINGLE, worker.index);
    if (slot < 0) throw new AerieError(Status.DEVICE_OVERLOAD, 'too many requests in flight on the node');
    this.table.ops[slot] = op;
    this.table.nsIndexes[slot] = nsIndex;
    this.table.partitions[slot] = partitionId;
    this.table.commitMaster[slot] = this.fields.commitMaster ? 1 : 0;
    const ok = worker.send(slot, op, nsIndex, 0, setId, this.fields.digest, frame, bodyStart, bodyEnd);
    if (!ok) {
      this.table.release(slot);
      throw new AerieError(Status.DEVICE_OVERLOAD, `worker ${worker.index} queue is full`);
    }
    this.markDirty(worker);
  }

  /**
   * Commits every ring written this turn once, waking each worker at most once per turn. The
   * commit waits for setImmediate, not a microtask: every frame read in this turn (all sockets)
   * then shares one commit, and waking a sleeping worker is the primary's single largest cost
   * (a profile showed 21 % of its CPU in commit with per-frame commits; one per turn measured
   * +25 % throughput at equal CPU, docs/benchmarks.md).
   */
  markDirty(worker: WorkerHandle): void {
    this.dirty.add(worker);
    if (this.commitScheduled) return;
    this.commitScheduled = true;
    setImmediate(() => this.commitAll());
  }

  commitAll(): void {
    this.commitScheduled = false;
    for (const w of this.dirty) w.commit();
    this.dirty.clear();
  }

  /** A worker's response for `slot`: the body is bytes[start, end). */
  onResponse(slot: number, code: number, bytes: Uint8Array, start: number, end: number): void {
    const t = this.table;
    const session = t.sessions[slot];
    const kind = t.kinds[slot];
    if (session === null) {
      t.release(slot);
      return;
    }
    if (kind === SlotKind.SINGLE) {
      if (code === 0 && this.replication !== null && isWriteOp(t.ops[slot]) && t.commitMaster[slot] === 0 && this.waitForReplicas(slot, code, bytes, start, end)) return;
      session.respondRaw(t.clientIds[slot], code, bytes, start, end, t.reserved[slot]);
    } else if (kind === SlotKind.BATCH_ELEMENT) {
      this.batches.element(t.extras[slot] as BatchState, t.batchIndexes[slot], code, bytes, start, end);
    } else if (kind === SlotKind.BROADCAST) {
      this.truncates.part(t.extras[slot] as BroadcastState, code, bytes, start, end);
    } else {
      // A free slot or one waiting for its replicas was answered already: a second answer is a bug.
      assert(kind === SlotKind.SCAN, 'a response for a request slot of an unexpected kind');
      this.scans.page(t.extras[slot] as ScanState, code, bytes, start, end);
    }
    t.release(slot);
  }

  /**
   * A worker died: answer everything it held. A write may or may not have been applied, so it is
   * answered TIMEOUT, which clients report as in doubt; a read is answered PARTITION_UNAVAILABLE.
   */
  failWorker(workerIndex: number, waiting: Set<number>): void {
    const t = this.table;
    for (let slot = 0; slot < t.sessions.length; slot++) {
      if (t.sessions[slot] === null || t.workers[slot] !== workerIndex || waiting.has(slot) || t.kinds[slot] === SlotKind.REPLICATING) continue;
      const kind = t.kinds[slot];
      if (kind === SlotKind.SINGLE || kind === SlotKind.BROADCAST) {
        const op = t.ops[slot];
        const write = isWriteOp(op);
        const code = write ? Status.TIMEOUT : Status.PARTITION_UNAVAILABLE;
        const body = elementMessage(write ? 'worker failed with the write in flight: outcome unknown' : 'worker failed');
        this.onResponse(slot, code, body, 0, body.length);
      } else if (kind === SlotKind.BATCH_ELEMENT) {
        const batch = t.extras[slot] as BatchState;
        const el = elementError(Status.PARTITION_UNAVAILABLE, batch.withBins);
        this.onResponse(slot, 0, el, 0, el.length);
      } else {
        this.onResponse(slot, Status.PARTITION_UNAVAILABLE, EMPTY, 0, 0);
      }
    }
  }

  /** Answers requests that were never sent to any thread: refused, definitely not applied. */
  refuseSlots(slots: number[]): void {
    for (const slot of slots) {
      if (this.table.sessions[slot] === null) {
        this.table.release(slot);
        continue;
      }
      const kind = this.table.kinds[slot];
      if (kind === SlotKind.BATCH_ELEMENT) {
        const el = elementError(Status.PARTITION_UNAVAILABLE, (this.table.extras[slot] as BatchState).withBins);
        this.onResponse(slot, 0, el, 0, el.length);
      } else {
        const body = elementMessage('the worker owning this partition is down');
        this.onResponse(slot, Status.PARTITION_UNAVAILABLE, body, 0, body.length);
      }
    }
  }

  /** Sends a FAULT to a worker: it answers, then fails as asked. */
  sendFault(session: Answerer, id: number, workerIndex: number, kind: string): void {
    const worker = this.workers[workerIndex];
    assert(worker !== undefined, 'a FAULT for a worker that does not exist');
    if (!worker.accepting) throw new AerieError(Status.PARTITION_UNAVAILABLE, `worker ${worker.index} is down`);
    const slot = this.table.acquire(session, id, SlotKind.SINGLE, worker.index);
    if (slot < 0) throw new AerieError(Status.DEVICE_OVERLOAD, 'too many requests in flight on the node');
    this.table.ops[slot] = Op.FAULT;
    const w = new Writer(64);
    w.writeString(kind);
    const k = w.copy();
    if (!worker.send(slot, Op.FAULT, 0, 0, 0, NO_DIGEST, k, 0, k.length)) {
      this.table.release(slot);
      throw new AerieError(Status.DEVICE_OVERLOAD, `worker ${worker.index} queue is full`);
    }
    this.markDirty(worker);
  }

  /**
   * Holds a write's answer until its in-sync replicas applied it (commit level all). Returns false
   * when there is nothing to wait for. The slot stays taken, as REPLICATING, until then.
   */
  private waitForReplicas(slot: number, code: number, bytes: Uint8Array, start: number, end: number): boolean {
    const rep = this.replication!;
    this.checkOverflow();
    const t = this.table;
    const master = t.workers[slot];
    const count = rep.failover.syncReplicas(t.nsIndexes[slot], t.partitions[slot], master, this.replicaScratch);
    if (count === 0) return false;
    if (!rep.waits.hold(slot, master, this.replicaScratch, count, code, bytes, start, end)) return false;
    t.kinds[slot] = SlotKind.REPLICATING;
    return true;
  }

  /**
   * A replica missed writes (its channel was full): it stops counting as a copy. Looked at before
   * every wait here, and on every ACK (a master worker sends one when it sees an overflow among
   * the writes its own endpoint served).
   */
  checkOverflow(): void {
    const rep = this.replication;
    if (rep === null) return;
    const epoch = rep.channels.overflowEpoch;
    if (epoch === this.overflowEpochSeen) return;
    this.overflowEpochSeen = epoch;
    rep.onOverflow();
  }

  /** A write's replicas applied it (or stopped counting): answer it now with body bytes[start, end). */
  answerReplicated(slot: number, code: number, bytes: Uint8Array, start: number, end: number): void {
    const session = this.table.sessions[slot];
    if (session !== null) session.respondRaw(this.table.clientIds[slot], code, bytes, start, end, this.table.reserved[slot]);
    this.table.release(slot);
  }

  /** A write no replica acknowledged in time: TIMEOUT, in doubt (applied on the master only). */
  answerReplicaInDoubt(slot: number): void {
    this.answerReplicated(slot, Status.TIMEOUT, REPLICA_IN_DOUBT_BODY, 0, REPLICA_IN_DOUBT_BODY.length);
  }

  mastersNothing(nsIndex: number, worker: number): boolean {
    for (let p = 0; p < PARTITION_COUNT; p++) if (this.map.master(nsIndex, p) === worker) return false;
    return true;
  }

  /**
   * A snapshot restore of the namespace begins: its truncates wait until releaseTruncates. Resolves
   * once none is on its way to or in a worker; rejects (SERVER_ERROR, still held) past `timeoutMs`.
   */
  holdTruncates(nsIndex: number, timeoutMs: number): Promise<void> {
    return this.truncates.holdTruncates(nsIndex, timeoutMs);
  }

  releaseTruncates(nsIndex: number): void {
    this.truncates.releaseTruncates(nsIndex);
  }

  /** A restore committed: workers started from now on must not be given older truncate cut-offs. */
  forgetTruncateCutoffs(nsIndex: number): void {
    this.truncates.forgetTruncateCutoffs(nsIndex);
  }

  /** Namespaces with a TRUNCATE on its way to (or in) the worker: a dying worker may have missed them. */
  truncatesOn(workerIndex: number): number[] {
    return this.truncates.truncatesOn(workerIndex);
  }

  /** Keeps a request for a partition changing master; it is routed again when the move completes. */
  hold(session: Answerer, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void {
    this.held.hold(session, id, op, frame, bodyStart, bodyEnd);
  }

  /** Routes the held requests again: those whose partition moved go to its new master. */
  releaseHeld(): void {
    this.held.release();
  }

  /** Forgets a closed session's requests: their responses will be dropped on arrival. */
  forget(session: Answerer): void {
    const t = this.table;
    for (let s = 0; s < t.sessions.length; s++) if (t.sessions[s] === session) t.sessions[s] = null;
  }
}

const EMPTY = Buffer.alloc(0);
const NO_DIGEST = Buffer.alloc(DIGEST_BYTES);
