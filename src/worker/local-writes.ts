// The requests a worker's endpoint serves itself that cannot be answered the moment they are
// applied (issue 12, item 3): every write of a replicated or file namespace, and every read of a
// file namespace (a read there must not see a write before its group commit). The endpoint queues
// them here (a ring of this thread's own, no object per request); the worker's loop applies them
// in its batches through the same engine call as its request ring, between the log watermarks'
// drain marks, and commits their replication with the batch. After the batch's group commit they
// are answered on their own sockets, or, for a write with replicas in sync, held in this thread's
// replica waits (src/replication/waits.ts) until each such replica released the channel past the
// write: the replica rings this thread's doorbell then (AckWaiter.MASTER).
//
// The outcome rules are the primary's: a write whose group commit failed is TIMEOUT (in doubt); a
// write no replica acknowledged within REPLICA_ACK_TIMEOUT_MS is TIMEOUT (in doubt). A partition
// the primary began to move, or no longer mastered here, when the loop reaches the request, is
// forwarded (never refused): the busy word stays raised (src/partition/holds.ts) from the look
// until the batch's replication is committed, so a move waits for that and then for the channel.

import { copyRange } from '../bytes';
import { ENDPOINT_LOCAL_ANSWER_BYTES, ENDPOINT_LOCAL_IN_FLIGHT_MAX, RING_MESSAGE_BYTES_MAX, WORKER_DRAIN_BATCH_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import type { Session } from '../endpoint/session';
import { REPLICA_IN_DOUBT_BODY } from '../endpoint/answer-bodies';
import type { PartitionHolds } from '../partition/holds';
import { EndpointRoute, endpointRoute } from '../partition/ownership';
import type { PartitionMap } from '../partition/map';
import { REQ_HEADER_BYTES, ReqFlag, ReqOffset, writeRequestHeader } from '../protocol/internal';
import { isWriteOp } from '../protocol/ops';
import { Writer } from '../protocol/writer';
import { AckWaiter, type ReplicationChannels } from '../replication/channels';
import type { InSyncCopies } from '../replication/in-sync';
import { ReplicaWaits } from '../replication/waits';
import { Ring } from '../shm/ring';
import type { BatchCollector } from './batch-collector';

/** Who a queued request answers: its client's session, or the batch collecting it as an element. */
export type QueuedAnswerer = Session | BatchCollector;

export interface LocalWritesParts {
  workerIndex: number;
  map: PartitionMap;
  holds: PartitionHolds;
  inSync: InSyncCopies;
  /** Null when no namespace keeps two copies. */
  channels: ReplicationChannels | null;
  /** The queue's ring (made by the primary, which reads the request a dead thread was applying there). */
  queue: SharedArrayBuffer;
  /** Applies one request message (the ring's layout) into `out` and returns its code (Engine.handle). */
  apply(bytes: Uint8Array, view: DataView, start: number, end: number, out: Writer): number;
  /** True while a restore holds this worker's stores. */
  paused(): boolean;
  /** The request cannot be served here after all (held, moved): send it to the primary. */
  forward(session: QueuedAnswerer, id: number, op: number, bytes: Uint8Array, start: number, end: number, reserved: number): void;
  /** A request was queued: wake the loop if it sleeps. */
  wakeLoop(): void;
  /** Counts one request (or batch element) served here. */
  served(op: number, code: number, micros: number, batchElement: boolean): void;
}

/** Requests queued per batch are bounded by the answer bytes they may hold until the commit. */
const ANSWERS_BYTES_MAX = ENDPOINT_LOCAL_ANSWER_BYTES + RING_MESSAGE_BYTES_MAX;

export class LocalWrites {
  private readonly ring: Ring;
  // Per local slot: who asked, and what the answer needs.
  private readonly sessions: (QueuedAnswerer | null)[] = new Array(ENDPOINT_LOCAL_IN_FLIGHT_MAX).fill(null);
  /** Request ids are uint32 (docs/protocol.md): a signed array would turn those past 2^31 negative. */
  private readonly ids = new Uint32Array(ENDPOINT_LOCAL_IN_FLIGHT_MAX);
  private readonly reserved = new Float64Array(ENDPOINT_LOCAL_IN_FLIGHT_MAX);
  private readonly free = new Int32Array(ENDPOINT_LOCAL_IN_FLIGHT_MAX);
  private freeCount = ENDPOINT_LOCAL_IN_FLIGHT_MAX;
  // This batch's answers, applied and not yet published: slot, code, op, partition, body range.
  private readonly batchSlots = new Int32Array(WORKER_DRAIN_BATCH_MAX);
  private readonly batchCodes = new Int32Array(WORKER_DRAIN_BATCH_MAX);
  private readonly batchMeta = new Int32Array(WORKER_DRAIN_BATCH_MAX * 3);
  private readonly batchStarts = new Int32Array(WORKER_DRAIN_BATCH_MAX);
  private batchCount = 0;
  private readonly out = new Writer(ANSWERS_BYTES_MAX);
  private readonly replicas = new Int32Array(64);
  readonly waits: ReplicaWaits | null;
  private readonly gone = (to: number) => !this.parts.inSync.isUp(to);

  constructor(private readonly parts: LocalWritesParts) {
    this.ring = Ring.attach(parts.queue);
    for (let i = 0; i < ENDPOINT_LOCAL_IN_FLIGHT_MAX; i++) this.free[i] = ENDPOINT_LOCAL_IN_FLIGHT_MAX - 1 - i;
    this.waits =
      parts.channels === null
        ? null
        : new ReplicaWaits(
            parts.channels,
            {
              answer: (slot, code, bytes, start, end) => this.answer(slot, code, bytes, start, end),
              inDoubt: (slot) => this.answer(slot, Status.TIMEOUT, REPLICA_IN_DOUBT_BODY, 0, REPLICA_IN_DOUBT_BODY.length),
            },
            AckWaiter.MASTER,
          );
  }

  /** Nothing queued for the loop. */
  isEmpty(): boolean {
    return this.ring.isEmpty();
  }

  /** Writes held for their replicas. */
  get waiting(): number {
    return this.waits?.count ?? 0;
  }

  /**
   * Queues a request (its ring header, then its body as it arrived) for the loop. Throws
   * DEVICE_OVERLOAD past the thread's bound, before anything is applied. `flags`: ReqFlag
   * (BATCH_ELEMENT for a batch's key, whose body is its key map).
   */
  enqueue(
    session: QueuedAnswerer,
    id: number,
    op: number,
    nsIndex: number,
    setId: number,
    digest: Uint8Array,
    frame: Uint8Array,
    bodyStart: number,
    bodyEnd: number,
    commitMaster: boolean,
    flags = 0,
  ): void {
    const length = REQ_HEADER_BYTES + (bodyEnd - bodyStart);
    if (this.freeCount === 0) throw overloaded(`at most ${ENDPOINT_LOCAL_IN_FLIGHT_MAX} requests in flight served by one worker endpoint`);
    const at = this.ring.reserve(length);
    if (at < 0) throw overloaded("the worker endpoint's queue is full");
    const slot = this.free[--this.freeCount];
    this.sessions[slot] = session;
    this.ids[slot] = id;
    this.reserved[slot] = session.routeReserve;
    const b = this.ring.bytes;
    const v = this.ring.view;
    // The reserved byte after the flags carries the write's commit level (1: master only).
    writeRequestHeader(b, v, at, slot, op, nsIndex, flags, commitMaster ? 1 : 0, setId, digest);
    copyRange(frame, bodyStart, bodyEnd, b, at + REQ_HEADER_BYTES);
    this.ring.commit();
    this.parts.wakeLoop();
  }

  /**
   * The loop's step, inside its drain marks: applies what is queued (up to a batch, and the answer
   * bytes this thread holds until the commit), then `commit` publishes the batch's replication
   * while the busy word is still raised. Returns how many were applied or forwarded.
   */
  drain(commit: () => void): number {
    if (this.ring.isEmpty()) return 0;
    const { holds, map, workerIndex } = this.parts;
    const ring = this.ring;
    let handled = 0;
    holds.beginLocal(workerIndex);
    try {
      while (this.batchCount < WORKER_DRAIN_BATCH_MAX && this.out.length < ENDPOINT_LOCAL_ANSWER_BYTES) {
        const at = ring.next();
        if (at < 0) break;
        handled++;
        const end = at + ring.length;
        const slot = ring.view.getUint32(at + ReqOffset.SLOT, true);
        const op = ring.bytes[at + ReqOffset.OP];
        const nsIndex = ring.bytes[at + ReqOffset.NS];
        // The partition id: the digest's first 12 bits, little-endian (src/partition/digest.ts).
        const partition = ring.bytes[at + ReqOffset.DIGEST] | ((ring.bytes[at + ReqOffset.DIGEST + 1] & 0x0f) << 8);
        if (endpointRoute(map, holds, nsIndex, partition, workerIndex, this.parts.paused()) === EndpointRoute.FORWARD) {
          // Moved or moving since it was queued: the primary routes it (and holds it, if held).
          const session = this.sessions[slot]!;
          const id = this.ids[slot];
          const reserved = this.reserved[slot];
          this.releaseSlot(slot);
          this.parts.forward(session, id, op, ring.bytes, at + REQ_HEADER_BYTES, end, reserved);
          continue;
        }
        const startedMs = performance.now();
        const bodyStart = this.out.length;
        const code = this.parts.apply(ring.bytes, ring.view, at, end, this.out);
        this.parts.served(op, code, (performance.now() - startedMs) * 1000, (ring.bytes[at + ReqOffset.FLAGS] & ReqFlag.BATCH_ELEMENT) !== 0);
        const i = this.batchCount++;
        this.batchSlots[i] = slot;
        this.batchCodes[i] = code;
        this.batchMeta[3 * i] = op;
        this.batchMeta[3 * i + 1] = nsIndex;
        this.batchMeta[3 * i + 2] = partition | (ring.bytes[at + ReqOffset.FLAGS + 1] << 16);
        this.batchStarts[i] = bodyStart;
      }
      ring.release();
      commit();
    } finally {
      holds.endLocal(workerIndex);
    }
    return handled;
  }

  /**
   * After the batch's group commit: answers its requests, or holds its writes for their replicas.
   * `logFailed`: the commit failed, so the batch's writes are in doubt (TIMEOUT).
   */
  publish(logFailed: boolean): void {
    const n = this.batchCount;
    if (n === 0) return;
    this.batchCount = 0;
    const bytes = this.out.buffer;
    for (let i = 0; i < n; i++) {
      const slot = this.batchSlots[i];
      const op = this.batchMeta[3 * i];
      const start = this.batchStarts[i];
      const end = i + 1 < n ? this.batchStarts[i + 1] : this.out.length;
      let code = this.batchCodes[i];
      const write = isWriteOp(op);
      if (write && code === 0 && logFailed) code = Status.TIMEOUT;
      if (write && code === 0 && this.hold(slot, this.batchMeta[3 * i + 1], this.batchMeta[3 * i + 2], bytes, start, end)) continue;
      this.answer(slot, code, bytes, start, end);
    }
    this.out.reset();
  }

  /** Each loop turn while writes wait: answers what the replicas released. Returns how many. */
  poll(): number {
    return this.waits === null ? 0 : this.waits.poll(this.parts.workerIndex, this.gone);
  }

  stop(): void {
    this.waits?.stop();
  }

  private hold(slot: number, nsIndex: number, meta: number, bytes: Uint8Array, start: number, end: number): boolean {
    const waits = this.waits;
    const commitMaster = meta >>> 16 === 1;
    if (waits === null || commitMaster || this.parts.map.copies[nsIndex] < 2) return false;
    const { inSync, map, workerIndex } = this.parts;
    const count = inSync.replicasOf(map, nsIndex, meta & 0xffff, workerIndex, this.replicas);
    return count > 0 && waits.hold(slot, workerIndex, this.replicas, count, 0, bytes, start, end);
  }

  private answer(slot: number, code: number, bytes: Uint8Array, start: number, end: number): void {
    const session = this.sessions[slot];
    const id = this.ids[slot];
    const reserved = this.reserved[slot];
    this.releaseSlot(slot);
    session?.respondRaw(id, code, bytes, start, end, reserved);
  }

  private releaseSlot(slot: number): void {
    this.sessions[slot] = null;
    this.free[this.freeCount++] = slot;
  }
}

function overloaded(message: string): AerieError {
  return new AerieError(Status.DEVICE_OVERLOAD, message);
}
