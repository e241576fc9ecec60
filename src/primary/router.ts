// Routes each request to the worker that masters its key's partition and sends each response back
// to the session that asked. Single-key requests cost one slot and one ring message; a batch fans
// out to per-key messages and is answered when its last element returns; a scan walks worker by
// worker with a cursor the client holds.

import {
  BATCH_KEYS_MAX,
  DIGEST_BYTES,
  HELD_REQUESTS_MAX,
  HOLD_TIMEOUT_MS,
  PARTITION_COUNT,
  RECORD_BYTES_CEILING,
  REQUEST_BODY_OVERHEAD_BYTES,
  RING_MESSAGE_BYTES_MAX,
  SCAN_PAGE_BYTES_MAX,
  SCAN_PAGE_RECORDS_DEFAULT,
  SCAN_PAGE_RECORDS_MAX,
  DIRECT_READ_TIMING_EVERY,
} from '../constants';
import { assert } from '../assert';
import { AerieError, Status } from '../errors';
import { partitionOf } from '../partition/digest';
import type { PartitionMap } from '../partition/map';
import { REQ_HEADER_BYTES, ReqFlag, ReqOffset, SCAN_ALL_SETS, SCAN_DONE } from '../protocol/internal';
import { Op, isWriteOp } from '../protocol/ops';
import { Reader } from '../protocol/reader';
import { Writer } from '../protocol/writer';
import { unpackValue } from '../protocol/codec';
import type { SetRegistry } from '../shm/set-registry';
import { RequestTable, SlotKind, type BatchState, type BroadcastState, type ScanState } from './requests';
import { RoutingField as Field } from '../protocol/body-fields';
import { RoutingFields, onlyFields, readRoutingFields } from '../endpoint/routing-fields';
import { RequestFields, parseBody } from '../protocol/request-body';
import type { Answerer } from '../endpoint/session';
import { REPLICA_IN_DOUBT_BODY } from '../endpoint/answer-bodies';
import { Quarantine } from './quarantine';
import type { WorkerHandle } from './worker-handle';
import { NOT_HERE, type DirectReader } from './direct-reads';
import { RequestMetrics } from '../shm/request-metrics';
import type { Failover } from './failover';
import type { ReplicaWaits } from '../replication/waits';
import { TruncateGate } from './truncate-gate';
import type { ReplicationChannels } from '../replication/channels';

/** Replication as the router sees it: who must acknowledge a write, and partitions on hold. */
export interface RouterReplication {
  failover: Failover;
  waits: ReplicaWaits;
  channels: ReplicationChannels;
  /** A master flagged a channel overflowed (its replica missed writes). */
  onOverflow(): void;
}

/** A request for a partition changing master, kept until the move completes. */
interface HeldRequest {
  session: Answerer;
  id: number;
  op: number;
  body: Buffer;
  sinceMs: number;
  /** Answer bytes its session reserved. */
  reserved: number;
}

/**
 * A scan cursor: [version, worker, 0, 0, u32 slot, u32 map version, u32 index id]. The map version
 * is the one the scan started under: a partition that changed master since may have been walked
 * on neither worker, so a page under another version is refused (SCAN_ABORT) and the scan restarts.
 */
const CURSOR_VERSION = 2;
const CURSOR_BYTES = 16;

export class Router {
  readonly table = new RequestTable();
  /** Requests a worker died applying: refused when sent again. */
  readonly quarantine = new Quarantine();
  /** The requests this thread answers itself (direct reads) or refuses, for /metrics. */
  readonly metrics = RequestMetrics.create();
  /** Direct reads seen, modulo DIRECT_READ_TIMING_EVERY. */
  private directReadsSeen = 0;
  private readonly nsIndexes: Map<string, number>;
  private readonly fields = new RoutingFields();
  private readonly keyReader = new Reader(new Uint8Array(0));
  /** For one key of a batch, reused across keys and batches. */
  private readonly batchKeyReader = new Reader(new Uint8Array(0));
  private readonly batchKeyFields = new RoutingFields();
  /** Checks a batch's sub-request body as the worker will read it. */
  private readonly subReader = new Reader(new Uint8Array(0));
  private readonly subFields = new RequestFields();
  private readonly scratch = new Writer(1 << 20);
  private readonly dirty = new Set<WorkerHandle>();
  private commitScheduled = false;
  private held: HeldRequest[] = [];
  private heldTimer: NodeJS.Timeout | null = null;
  private readonly replicaScratch = new Int32Array(32);
  private overflowEpochSeen = 0;
  /** Truncates wait while a snapshot restore of their namespace runs (src/primary/truncate-gate.ts). */
  private readonly truncateGate: TruncateGate;

  constructor(
    namespaceNames: string[],
    private readonly sets: SetRegistry[],
    private readonly map: PartitionMap,
    private readonly workers: WorkerHandle[],
    /** GET and EXISTS of memory namespaces answered from shared memory (null: always the rings). */
    readonly direct: DirectReader | null = null,
    /** Null when no namespace keeps more than one copy. */
    private readonly replication: RouterReplication | null = null,
    /** [nsIndex, setId, beforeMs] of every truncate sent, the latest per set (shared with worker start-up). */
    private readonly truncateCutoffs: [number, number, number][] = [],
    /** Each namespace's recordBytesMax (absent: the ceiling). */
    private readonly recordBytesMax: number[] = [],
  ) {
    this.nsIndexes = new Map(namespaceNames.map((n, i) => [n, i]));
    this.truncateGate = new TruncateGate(namespaceNames.length);
  }

  private nsIndex(ns: string | null): number {
    const i = ns === null ? undefined : this.nsIndexes.get(ns);
    if (i === undefined) throw new AerieError(Status.INVALID_NAMESPACE, `namespace '${ns}' is not configured`);
    return i;
  }

  /** Set id for a request; writes register new sets, reads of an unknown set use -1. */
  private setId(nsIndex: number, set: string | null, register: boolean): number {
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
        if (this.replication !== null && this.replication.failover.held[nsIndex][partitionId] === 1) {
          this.hold(session, id, op, frame, bodyStart, bodyEnd);
          return;
        }
        const worker = this.workers[this.map.master(nsIndex, partitionId)];
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
        this.routeBatch(session, id, op, frame, bodyStart, bodyEnd);
        return;
      case Op.SCAN:
        readRoutingFields(r, bodyEnd, f, false);
        this.routeScan(session, id, frame, bodyStart, bodyEnd);
        return;
      case Op.TRUNCATE:
        readRoutingFields(r, bodyEnd, f, false);
        this.routeTruncate(session, id, frame, bodyStart, bodyEnd);
        return;
      default:
        throw new AerieError(Status.PARAMETER, `unknown op ${op}`);
    }
  }

  /** Whether to time this direct read: one in DIRECT_READ_TIMING_EVERY is. */
  private timeDirectRead(): boolean {
    this.directReadsSeen = (this.directReadsSeen + 1) & (DIRECT_READ_TIMING_EVERY - 1);
    return this.directReadsSeen === 0;
  }

  private countDirectRead(op: number, code: number, timed: boolean, startedMs: number): void {
    if (timed) this.metrics.recordSampled(op, code, (performance.now() - startedMs) * 1000, DIRECT_READ_TIMING_EVERY);
    else this.metrics.count(op, code);
  }

  /**
   * Every size limit a request body meets after the frame's (the socket closes a frame past
   * frameBytesMax with 1009), checked here in order so the client gets the documented code:
   * the namespace's record size, then the worker ring's message size. Config validation keeps
   * frameBytesMax above a largest record's request, and the constants keep the ring above that.
   */
  private checkBodyBytes(nsIndex: number, bodyBytes: number): void {
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

  private routeBatch(session: Answerer, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void {
    const f = this.fields;
    if (f.keysStart < 0) throw new AerieError(Status.PARAMETER, 'keys is required');
    const kr = this.keyReader;
    kr.reset(frame, f.keysStart, f.keysEnd);
    const count = kr.readArrayHeader();
    if (count > BATCH_KEYS_MAX) throw new AerieError(Status.BATCH_MAX_REQUESTS_EXCEEDED, `a batch takes at most ${BATCH_KEYS_MAX} keys`);
    // The primary consumes this body whole, so it checks every field now: an element the worker
    // then refused would have no answer of the batch's shape.
    onlyFields(f, op === Op.BATCH_GET ? Field.keys | Field.bins : Field.keys, op === Op.BATCH_GET ? 'BATCH_GET' : 'BATCH_EXISTS');
    // Sub-request body: {bins: <raw>} for BATCH_GET with selected bins, else empty.
    const sub = this.scratch;
    sub.reset();
    if (op === Op.BATCH_GET && f.binsStart >= 0) {
      sub.writeMapHeader(1);
      sub.writeString('bins');
      sub.writeRaw(frame, f.binsStart, f.binsEnd);
    }
    const body = sub.copy();
    this.subReader.reset(body, 0, body.length);
    parseBody(this.subReader, body.length, this.subFields, false); // bins: nil or a list of names
    // Validate every key before sending any, so a bad key fails the batch as a whole.
    const targets = new Array<{ nsIndex: number; digest: Buffer; worker: WorkerHandle }>(count);
    const kf = this.batchKeyFields;
    const one = this.batchKeyReader;
    for (let i = 0; i < count; i++) {
      const start = kr.pos;
      kr.skipValue();
      const end = kr.pos;
      one.reset(frame, start, end);
      readRoutingFields(one, end, kf, true);
      onlyFields(kf, Field.ns | Field.set | Field.key | Field.digest, 'a batch key');
      const nsIndex = this.nsIndex(kf.ns);
      const partitionId = partitionOf(kf.digest);
      if (this.replication !== null && this.replication.failover.held[nsIndex][partitionId] === 1) {
        // A key's partition is changing master: the batch waits whole, as a single request would.
        this.hold(session, id, op, frame, bodyStart, bodyEnd);
        return;
      }
      const worker = this.workers[this.map.master(nsIndex, partitionId)];
      assert(worker !== undefined, 'a partition mastered by no worker');
      targets[i] = { nsIndex, digest: Buffer.from(kf.digest), worker };
    }
    const batch: BatchState = {
      session,
      clientId: id,
      remaining: count,
      withBins: op === Op.BATCH_GET,
      elements: new Array(count).fill(null),
      reserved: session.routeReserve,
      bytes: 0,
      bytesMax: session.answerFrameBytesMax,
      tooBig: false,
    };
    if (count === 0) {
      this.finishBatch(batch);
      return;
    }
    const subOp = op === Op.BATCH_GET ? Op.GET : Op.EXISTS;
    // Memory namespaces' elements come straight from shared memory when the batch reads all bins.
    const direct = op === Op.BATCH_EXISTS || f.binsStart < 0 ? this.direct : null;
    for (let i = 0; i < count; i++) {
      const t = targets[i];
      if (batch.tooBig) {
        // The answer has outgrown the client's frame: the keys left are not read at all.
        batch.remaining--;
        continue;
      }
      const timed = direct !== null && this.timeDirectRead();
      const readStartMs = timed ? performance.now() : 0;
      const directCode = direct === null ? NOT_HERE : direct.readElement(t.worker, t.nsIndex, t.digest, op === Op.BATCH_GET);
      if (direct !== null && directCode !== NOT_HERE) {
        this.countDirectRead(op, directCode, timed, readStartMs);
        this.setElement(batch, i, Buffer.from(direct.out.bytes()));
        batch.remaining--;
        continue;
      }
      if (!t.worker.accepting) {
        this.setElement(batch, i, elementError(Status.PARTITION_UNAVAILABLE, op === Op.BATCH_GET));
        batch.remaining--;
        continue;
      }
      const slot = this.table.acquire(session, id, SlotKind.BATCH_ELEMENT, t.worker.index);
      const sent = slot >= 0 && t.worker.send(slot, subOp, t.nsIndex, ReqFlag.BATCH_ELEMENT, 0, t.digest, body, 0, body.length);
      if (!sent) {
        if (slot >= 0) this.table.release(slot);
        // Reads only: an element that could not be queued answers DEVICE_OVERLOAD in place.
        this.setElement(batch, i, elementError(Status.DEVICE_OVERLOAD, op === Op.BATCH_GET));
        batch.remaining--;
        continue;
      }
      this.table.extras[slot] = batch;
      this.table.batchIndexes[slot] = i;
      this.markDirty(t.worker);
    }
    if (batch.remaining === 0) this.finishBatch(batch);
  }

  private routeScan(session: Answerer, id: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void {
    const f = this.fields;
    const nsIndex = this.nsIndex(f.ns);
    let workerIndex = 0;
    let startSlot = 0;
    let indexId = 0;
    const mapVersion = this.map.version >>> 0;
    if (f.cursor !== null) {
      const c = f.cursor;
      if (c.length !== CURSOR_BYTES || c[0] !== CURSOR_VERSION || c[1] >= this.workers.length) {
        throw new AerieError(Status.PARAMETER, 'invalid scan cursor');
      }
      const view = Buffer.from(c.buffer, c.byteOffset, c.length);
      if (view.readUInt32LE(8) !== mapVersion) throw scanAborted();
      workerIndex = c[1];
      startSlot = view.readUInt32LE(4);
      indexId = view.readUInt32LE(12);
    }
    const pageSize = f.pageSize === 0 ? SCAN_PAGE_RECORDS_DEFAULT : f.pageSize;
    if (pageSize > SCAN_PAGE_RECORDS_MAX) throw new AerieError(Status.PARAMETER, `pageSize is at most ${SCAN_PAGE_RECORDS_MAX}`);
    const setId = f.set === null ? SCAN_ALL_SETS : this.setId(nsIndex, f.set, false);
    if (setId < 0) {
      // A set nobody has written to holds no records.
      session.respondScan(id, null, 0, 0, null, session.routeReserve);
      return;
    }
    // A worker that is away and masters nothing now (its partitions failed over) has nothing to scan.
    while (workerIndex < this.workers.length && this.workers[workerIndex].state !== 'up' && this.mastersNothing(nsIndex, workerIndex)) {
      workerIndex++;
      startSlot = 0;
      indexId = 0;
    }
    if (workerIndex >= this.workers.length) {
      session.respondScan(id, null, 0, 0, null, session.routeReserve);
      return;
    }
    const worker = this.workers[workerIndex];
    this.checkBodyBytes(nsIndex, bodyEnd - bodyStart);
    if (!worker.accepting) throw new AerieError(Status.PARTITION_UNAVAILABLE, `worker ${workerIndex} is down`);
    const slot = this.table.acquire(session, id, SlotKind.SCAN, workerIndex);
    if (slot < 0) throw new AerieError(Status.DEVICE_OVERLOAD, 'too many requests in flight on the node');
    const state: ScanState = { session, clientId: id, workerIndex, mapVersion, reserved: session.routeReserve };
    this.table.extras[slot] = state;
    // The digest field of a SCAN carries the page bounds.
    const fields = Buffer.alloc(DIGEST_BYTES);
    fields.writeUInt32LE(startSlot, ReqOffset.SCAN_START_SLOT - ReqOffset.DIGEST);
    fields.writeUInt32LE(pageSize, ReqOffset.SCAN_RECORDS_MAX - ReqOffset.DIGEST);
    fields.writeUInt32LE(SCAN_PAGE_BYTES_MAX, ReqOffset.SCAN_BYTES_MAX - ReqOffset.DIGEST);
    fields.writeUInt32LE(indexId, ReqOffset.SCAN_INDEX_ID - ReqOffset.DIGEST);
    const sent = worker.send(slot, Op.SCAN, nsIndex, 0, setId, fields, frame, bodyStart, bodyEnd);
    if (!sent) {
      this.table.release(slot);
      throw new AerieError(Status.DEVICE_OVERLOAD, `worker ${workerIndex} queue is full`);
    }
    this.markDirty(worker);
  }

  /**
   * Sends a TRUNCATE to every worker; each deletes what it holds of the set. Refused whole while
   * a worker has failed for good (its partitions would keep their records). The cut-off is fixed
   * here, once, so every worker applies the same one.
   */
  private routeTruncate(session: Answerer, id: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void {
    const f = this.fields;
    const nsIndex = this.nsIndex(f.ns);
    const nowMs = Date.now();
    if (f.beforeMs > nowMs) throw new AerieError(Status.PARAMETER, 'beforeMs must not be in the future');
    const beforeMs = f.beforeMs < 0 ? nowMs : f.beforeMs;
    const setId = f.set === null ? SCAN_ALL_SETS : this.setId(nsIndex, f.set, false);
    if (setId < 0) {
      // A set nobody has written to holds no records.
      session.respondAnswer(id, 0, { deleted: 0 }, session.routeReserve);
      return;
    }
    if (Date.now() > beforeMs) {
      this.sendTruncate(session, id, nsIndex, setId, beforeMs, frame, bodyStart, bodyEnd);
      return;
    }
    // Sent once the clock is past the cut-off: every write a master applies after the truncate
    // then has a later update time, so a replica that truncates later cannot delete it.
    const body = Buffer.from(frame.subarray(bodyStart, bodyEnd));
    const reserved = session.routeReserve;
    this.truncateGate.defer(nsIndex, 1);
    setTimeout(() => {
      this.truncateGate.defer(nsIndex, -1);
      this.sendTruncateOrAnswer(session, id, nsIndex, setId, beforeMs, body, reserved);
    }, 1);
  }

  /** Sends a deferred truncate with the answer bytes its request reserved, or answers its error. */
  private sendTruncateOrAnswer(session: Answerer, id: number, nsIndex: number, setId: number, beforeMs: number, body: Uint8Array, reserved: number): void {
    try {
      session.routeReserve = reserved;
      this.sendTruncate(session, id, nsIndex, setId, beforeMs, body, 0, body.length);
    } catch (err) {
      const e = err instanceof AerieError ? err : new AerieError(Status.SERVER_ERROR, String(err));
      session.respondAnswer(id, e.code, { message: e.message }, reserved);
    }
  }

  private sendTruncate(session: Answerer, id: number, nsIndex: number, setId: number, beforeMs: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void {
    if (this.truncateGate.held(nsIndex)) {
      // A restore of the namespace is under way: sent after it, so it truncates the restored state.
      const body = Buffer.from(frame.subarray(bodyStart, bodyEnd));
      const reserved = session.routeReserve;
      this.truncateGate.wait(nsIndex, () => this.sendTruncateOrAnswer(session, id, nsIndex, setId, beforeMs, body, reserved));
      return;
    }
    // A worker given up on is skipped if every partition it held has a master elsewhere (it will
    // never serve again); otherwise its records would survive the truncate, so it is refused.
    const targets = this.workers.filter((w) => w.accepting || !this.mastersNothing(nsIndex, w.index));
    this.checkBodyBytes(nsIndex, bodyEnd - bodyStart);
    const down = targets.find((w) => !w.accepting);
    if (down !== undefined) throw new AerieError(Status.PARTITION_UNAVAILABLE, `worker ${down.index} is down: truncate refused`);
    const slots: number[] = [];
    for (const w of targets) {
      const slot = this.table.acquire(session, id, SlotKind.BROADCAST, w.index);
      if (slot < 0) {
        for (const s of slots) this.table.release(s);
        throw new AerieError(Status.DEVICE_OVERLOAD, 'too many requests in flight on the node');
      }
      slots.push(slot);
    }
    const state: BroadcastState = {
      session,
      clientId: id,
      remaining: slots.length,
      applied: 0,
      deleted: 0,
      failedCode: 0,
      failedMessage: '',
      inDoubt: false,
      reserved: session.routeReserve,
    };
    const fields = Buffer.alloc(DIGEST_BYTES);
    fields.writeDoubleLE(beforeMs, ReqOffset.TRUNCATE_BEFORE_MS - ReqOffset.DIGEST);
    // Workers started from now on know the cut-off: a replica drops older images its master truncated.
    const known = this.truncateCutoffs.find((c) => c[0] === nsIndex && c[1] === setId);
    if (known === undefined) this.truncateCutoffs.push([nsIndex, setId, beforeMs]);
    else known[2] = Math.max(known[2], beforeMs);
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      const worker = targets[i];
      this.table.ops[slot] = Op.TRUNCATE;
      this.table.nsIndexes[slot] = nsIndex;
      this.table.extras[slot] = state;
      // The body goes along so each worker checks it as strictly as any other (unknown fields).
      if (!worker.send(slot, Op.TRUNCATE, nsIndex, 0, setId, fields, frame, bodyStart, bodyEnd)) {
        const body = elementMessage(`worker ${worker.index} queue is full`);
        this.onResponse(slot, Status.DEVICE_OVERLOAD, body, 0, body.length);
        continue;
      }
      this.markDirty(worker);
    }
  }

  /** One worker's part of a broadcast; the last one answers the client. */
  private broadcastPart(state: BroadcastState, code: number, bytes: Uint8Array, start: number, end: number): void {
    if (code === 0) {
      state.applied++;
      const body = end > start ? unpackValue(bytes, start, end) : null;
      const deleted = body !== null && typeof body === 'object' ? (body as { deleted?: unknown }).deleted : 0;
      state.deleted += typeof deleted === 'number' ? deleted : 0;
    } else {
      if (code === Status.TIMEOUT) state.inDoubt = true;
      if (state.failedCode === 0) {
        state.failedCode = code;
        const body = end > start ? unpackValue(bytes, start, end) : null;
        const message = body !== null && typeof body === 'object' ? (body as { message?: unknown }).message : undefined;
        state.failedMessage = typeof message === 'string' ? message : `error ${code}`;
      }
    }
    if (--state.remaining > 0) return;
    if (state.failedCode === 0) {
      state.session.respondAnswer(state.clientId, 0, { deleted: state.deleted }, state.reserved);
    } else if (state.inDoubt || state.applied > 0) {
      // Some workers applied it and one did not, or may not have: the client cannot know what
      // is left, so the answer is in doubt, never a plain failure.
      state.session.respondAnswer(
        state.clientId,
        Status.TIMEOUT,
        {
          message: `truncate applied on ${state.applied} of ${this.workers.length} workers: ${state.failedMessage}`,
        },
        state.reserved,
      );
    } else {
      state.session.respondAnswer(state.clientId, state.failedCode, { message: state.failedMessage }, state.reserved);
    }
  }

  /**
   * Commits every ring written this turn once, waking each worker at most once per turn. The
   * commit waits for setImmediate, not a microtask: every frame read in this turn (all sockets)
   * then shares one commit, and waking a sleeping worker is the primary's single largest cost
   * (a profile showed 21 % of its CPU in commit with per-frame commits; one per turn measured
   * +25 % throughput at equal CPU, docs/benchmarks.md).
   */
  private markDirty(worker: WorkerHandle): void {
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
      const batch = t.extras[slot] as BatchState;
      // A worker that failed the element itself (code != 0) wrote no element: answer its code in place.
      this.setElement(batch, t.batchIndexes[slot], code === 0 && end > start ? Buffer.from(bytes.subarray(start, end)) : elementError(code === 0 ? Status.SERVER_ERROR : code, batch.withBins));
      if (--batch.remaining === 0) this.finishBatch(batch);
    } else if (kind === SlotKind.BROADCAST) {
      this.broadcastPart(t.extras[slot] as BroadcastState, code, bytes, start, end);
    } else {
      // A free slot or one waiting for its replicas was answered already: a second answer is a bug.
      assert(kind === SlotKind.SCAN, 'a response for a request slot of an unexpected kind');
      const scan = t.extras[slot] as ScanState;
      this.finishScanPage(scan, code, bytes, start, end);
    }
    t.release(slot);
  }

  /** Keeps one element of a batch, unless the answer has already outgrown the client's frame. */
  private setElement(batch: BatchState, index: number, element: Buffer): void {
    if (batch.tooBig) return;
    batch.bytes += element.length;
    if (batch.bytes > batch.bytesMax) {
      batch.tooBig = true;
      batch.elements = []; // the answer cannot be sent: its elements are not held either
      return;
    }
    batch.elements[index] = element;
  }

  private finishBatch(batch: BatchState): void {
    if (batch.tooBig) {
      batch.session.respondAnswer(
        batch.clientId,
        Status.RECORD_TOO_BIG,
        {
          message: `the batch's answer exceeds the connection's ${batch.bytesMax}-byte frame limit`,
        },
        batch.reserved,
      );
      return;
    }
    batch.session.respondBatch(batch.clientId, batch.elements as Buffer[], batch.reserved);
  }

  private finishScanPage(scan: ScanState, code: number, bytes: Uint8Array, start: number, end: number): void {
    // A page walked while partitions changed master may have skipped the ones that moved.
    if (code === Status.SCAN_ABORT || (code === 0 && this.map.version >>> 0 !== scan.mapVersion)) {
      const e = scanAborted();
      scan.session.respondAnswer(scan.clientId, e.code, { message: e.message }, scan.reserved);
      return;
    }
    if (code !== 0) {
      scan.session.respondRaw(scan.clientId, code, bytes, start, start, scan.reserved);
      return;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const next = view.getUint32(start, true);
    let cursor: Buffer | null = null;
    if (next !== SCAN_DONE || scan.workerIndex + 1 < this.workers.length) {
      cursor = Buffer.alloc(CURSOR_BYTES);
      cursor[0] = CURSOR_VERSION;
      cursor[1] = next === SCAN_DONE ? scan.workerIndex + 1 : scan.workerIndex;
      cursor.writeUInt32LE(next === SCAN_DONE ? 0 : next, 4);
      cursor.writeUInt32LE(scan.mapVersion, 8);
      cursor.writeUInt32LE(next === SCAN_DONE ? 0 : view.getUint32(start + 4, true), 12);
    }
    scan.session.respondScan(scan.clientId, bytes, start + 8, end, cursor, scan.reserved);
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

  /**
   * A snapshot restore of the namespace begins: its truncates wait until releaseTruncates. Resolves
   * once none is on its way to or in a worker; rejects (SERVER_ERROR, still held: the restore has
   * not begun) past `timeoutMs`.
   */
  async holdTruncates(nsIndex: number, timeoutMs: number): Promise<void> {
    this.truncateGate.hold(nsIndex);
    const deadline = Date.now() + timeoutMs;
    while (this.truncateGate.deferredCount(nsIndex) > 0 || this.truncatesInFlight(nsIndex) > 0) {
      if (Date.now() > deadline) {
        throw new AerieError(Status.SERVER_ERROR, `restore not begun, the namespace is unchanged: a truncate of it is still under way after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  releaseTruncates(nsIndex: number): void {
    this.truncateGate.release(nsIndex);
  }

  /**
   * A restore of the namespace committed: the records it brought back may be older than any
   * truncate's cut-off, which workers started from now on must not be given.
   */
  forgetTruncateCutoffs(nsIndex: number): void {
    for (let i = this.truncateCutoffs.length - 1; i >= 0; i--) if (this.truncateCutoffs[i][0] === nsIndex) this.truncateCutoffs.splice(i, 1);
  }

  private truncatesInFlight(nsIndex: number): number {
    const t = this.table;
    let count = 0;
    for (let slot = 0; slot < t.sessions.length; slot++) {
      if (t.sessions[slot] !== null && t.kinds[slot] === SlotKind.BROADCAST && t.ops[slot] === Op.TRUNCATE && t.nsIndexes[slot] === nsIndex) count++;
    }
    return count;
  }

  /** Namespaces with a TRUNCATE on its way to (or in) the worker: a dying worker may have missed them. */
  truncatesOn(workerIndex: number): number[] {
    const t = this.table;
    const out = new Set<number>();
    for (let slot = 0; slot < t.sessions.length; slot++) {
      if (t.sessions[slot] !== null && t.workers[slot] === workerIndex && t.kinds[slot] === SlotKind.BROADCAST && t.ops[slot] === Op.TRUNCATE) {
        out.add(t.nsIndexes[slot]);
      }
    }
    return [...out];
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

  private mastersNothing(nsIndex: number, worker: number): boolean {
    for (let p = 0; p < PARTITION_COUNT; p++) if (this.map.master(nsIndex, p) === worker) return false;
    return true;
  }

  /** Keeps a request for a partition changing master; it is routed again when the move completes. */
  private hold(session: Answerer, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void {
    if (this.held.length >= HELD_REQUESTS_MAX) throw new AerieError(Status.DEVICE_OVERLOAD, 'too many requests held for partitions changing master');
    this.held.push({ session, id, op, body: Buffer.from(frame.subarray(bodyStart, bodyEnd)), sinceMs: Date.now(), reserved: session.routeReserve });
    if (this.heldTimer === null) {
      this.heldTimer = setInterval(() => this.expireHeld(), 100);
      this.heldTimer.unref();
    }
  }

  /** Routes the held requests again: those whose partition moved go to its new master. */
  releaseHeld(): void {
    if (this.held.length === 0) return;
    const list = this.held;
    this.held = [];
    const r = new Reader(new Uint8Array(0));
    for (const h of list) {
      if (h.session.closed) continue;
      r.reset(h.body, 0, h.body.length);
      try {
        h.session.routeReserve = h.reserved;
        this.route(h.session, h.id, h.op, h.body, 0, h.body.length, r);
      } catch (err) {
        const e = err instanceof AerieError ? err : new AerieError(Status.SERVER_ERROR, String(err));
        h.session.respondAnswer(h.id, e.code, { message: e.message }, h.reserved);
      }
    }
    if (this.held.length === 0 && this.heldTimer !== null) {
      clearInterval(this.heldTimer);
      this.heldTimer = null;
    }
  }

  /** Held too long: refused, never sent anywhere (not applied). */
  private expireHeld(): void {
    const now = Date.now();
    const keep: HeldRequest[] = [];
    for (const h of this.held) {
      if (now - h.sinceMs < HOLD_TIMEOUT_MS) keep.push(h);
      else if (!h.session.closed) h.session.respondAnswer(h.id, Status.PARTITION_UNAVAILABLE, { message: `partition still changing master after ${HOLD_TIMEOUT_MS} ms` }, h.reserved);
    }
    this.held = keep;
    if (keep.length === 0 && this.heldTimer !== null) {
      clearInterval(this.heldTimer);
      this.heldTimer = null;
    }
  }

  /** Forgets a closed session's requests: their responses will be dropped on arrival. */
  forget(session: Answerer): void {
    const t = this.table;
    for (let s = 0; s < t.sessions.length; s++) if (t.sessions[s] === session) t.sessions[s] = null;
  }
}

const EMPTY = Buffer.alloc(0);
const NO_DIGEST = Buffer.alloc(DIGEST_BYTES);

function elementMessage(message: string): Buffer {
  const w = new Writer(256);
  w.writeValue({ message });
  return w.copy() as Buffer; // a Buffer on Node, where the primary runs
}

function elementError(code: number, withBins: boolean): Buffer {
  const w = new Writer(16);
  w.writeArrayHeader(withBins ? 4 : 3);
  w.writeInt(code);
  w.writeUint(0);
  w.writeInt(0);
  if (withBins) w.writeNil();
  return w.copy() as Buffer;
}

/** Partitions moved or an index was replaced since the scan's cursor was made. */
function scanAborted(): AerieError {
  return new AerieError(Status.SCAN_ABORT, 'the scan was overtaken by a partition move, an index rehash or a restore; restart it without a cursor');
}
