// A BATCH_GET (of all bins) or BATCH_EXISTS on a worker's endpoint with keys of partitions this
// worker masters (issue 12, item 3). When every key is such a key of a memory namespace, its
// elements are applied here, each as the ring's BATCH_ELEMENT message through Engine.handle, and
// the batch is answered at once. When only some are, or a file namespace is among them, the batch
// is split (src/worker/batch-collector.ts): this worker's memory keys are read at once, its file
// keys through the endpoint's queue (after the group commit of the writes before them), and the
// rest go to the primary as one smaller batch, which it splits per owner. A batch with no key of
// this worker, bin selection, or anything malformed or oversized is forwarded whole: the primary
// answers the codes a bad batch gets, so both paths answer alike.

import { BATCH_KEYS_MAX, DIGEST_BYTES, RECORD_BYTES_CEILING } from '../constants';
import { AerieError, Status } from '../errors';
import { elementError } from '../endpoint/answer-bodies';
import type { NamespaceConfig } from '../config';
import type { Session } from '../endpoint/session';
import { RoutingFields, readRoutingFields } from '../endpoint/routing-fields';
import { partitionOf } from '../partition/digest';
import type { PartitionHolds } from '../partition/holds';
import type { PartitionMap } from '../partition/map';
import { EndpointRoute, endpointRoute } from '../partition/ownership';
import { RoutingField as Field } from '../protocol/body-fields';
import { REQ_HEADER_BYTES, ReqFlag, ReqOffset } from '../protocol/internal';
import { Op } from '../protocol/ops';
import { Reader } from '../protocol/reader';
import { Writer } from '../protocol/writer';
import { BatchCollector, type ForwardPart } from './batch-collector';
import type { LocalWrites } from './local-writes';

export interface LocalBatchParts {
  workerIndex: number;
  namespaces: NamespaceConfig[];
  nsIndexes: Map<string, number>;
  map: PartitionMap;
  holds: PartitionHolds;
  apply(bytes: Uint8Array, view: DataView, start: number, end: number, out: Writer): number;
  paused(): boolean;
  served(): void;
  record(op: number, code: number, micros: number, batchElement: boolean): void;
  /** service.frameBytesMax: no client's answer frame is larger. */
  frameBytesMax: number;
  /** Where the element being applied is built: shared with the primary (LocalRequestParts.message). */
  message: SharedArrayBuffer;
  /** Where a file namespace's keys wait for the loop. */
  queue: LocalWrites;
  /** Sends the keys this worker does not master to the primary. */
  forwardPart: ForwardPart;
}

const KEY_FIELDS = Field.ns | Field.set | Field.key | Field.digest;

const EMPTY = new Uint8Array(0);

export class LocalBatches {
  private readonly keys = new Reader(new Uint8Array(0));
  private readonly one = new Reader(new Uint8Array(0));
  private readonly keyFields = new RoutingFields();
  private readonly digests = new Uint8Array(BATCH_KEYS_MAX * DIGEST_BYTES);
  private readonly nsOf = new Uint8Array(BATCH_KEYS_MAX);
  private readonly partitions = new Uint16Array(BATCH_KEYS_MAX);
  /** Each key map's place in the frame (sent on to the primary, or queued, as it arrived). */
  private readonly keyStarts = new Int32Array(BATCH_KEYS_MAX);
  private readonly keyEnds = new Int32Array(BATCH_KEYS_MAX);
  /** Per key: 1 when this worker masters its partition now (and it is not moving). */
  private readonly here = new Uint8Array(BATCH_KEYS_MAX);
  private readonly message: Buffer;
  private readonly view: DataView;
  /** Elements until they outgrow the client's frame, plus the largest element that outgrew it. */
  private readonly out: Writer;
  private readonly ends = new Int32Array(BATCH_KEYS_MAX);

  constructor(private readonly parts: LocalBatchParts) {
    this.message = Buffer.from(parts.message, 0, REQ_HEADER_BYTES);
    this.view = new DataView(parts.message, 0, REQ_HEADER_BYTES);
    this.out = new Writer(parts.frameBytesMax + RECORD_BYTES_CEILING + 1024);
  }

  /** Answers the batch here and returns true, or returns false for the caller to forward it. `f`: its fields, read. */
  serve(session: Session, id: number, op: number, frame: Uint8Array, f: RoutingFields): boolean {
    if (f.other !== null || (f.seen & ~(Field.keys | Field.bins)) !== 0 || f.binsStart >= 0 || f.keysStart < 0) return false;
    const count = this.readKeys(frame, f.keysStart, f.keysEnd);
    if (count <= 0) return false;
    const { holds, map, workerIndex, namespaces } = this.parts;
    holds.beginLocal(workerIndex);
    try {
      const paused = this.parts.paused();
      let here = 0;
      let memoryHere = 0;
      for (let i = 0; i < count; i++) {
        const mine = endpointRoute(map, holds, this.nsOf[i], this.partitions[i], workerIndex, paused) === EndpointRoute.SERVE;
        this.here[i] = mine ? 1 : 0;
        if (!mine) continue;
        here++;
        if (namespaces[this.nsOf[i]].storage === 'memory') memoryHere++;
      }
      if (here === 0) return false;
      if (memoryHere === count) return this.serveAll(session, id, op, count);
      this.split(session, id, op, frame, count);
      this.parts.served();
      return true;
    } finally {
      holds.endLocal(workerIndex);
    }
  }

  /** Every key is this worker's, in memory: applied now, answered now (or forwarded whole when too big). */
  private serveAll(session: Session, id: number, op: number, count: number): boolean {
    const out = this.out;
    out.reset();
    this.startElements(op);
    for (let i = 0; i < count; i++) {
      const mark = out.length;
      const code = this.apply(i, out);
      if (code !== 0) {
        // As the primary answers an element its worker refused: [code, 0, 0(, nil)] in place.
        out.truncate(mark);
        const e = elementError(code, op === Op.BATCH_GET);
        out.writeRaw(e, 0, e.length);
      }
      this.ends[i] = out.length;
      // Too big for the client's frame: the primary's route answers that with its code.
      if (out.length > session.answerFrameBytesMax) return false;
    }
    const elements = new Array<Buffer>(count);
    const base = out.buffer;
    for (let i = 0, start = 0; i < count; start = this.ends[i], i++) elements[i] = Buffer.from(base.buffer, base.byteOffset + start, this.ends[i] - start);
    this.parts.served();
    session.respondBatch(id, elements, session.routeReserve);
    return true;
  }

  /**
   * Some keys are this worker's: its memory keys are read now, its file keys queued for the loop,
   * the others sent to the primary in one batch; the collector answers when all are in.
   */
  private split(session: Session, id: number, op: number, frame: Uint8Array, count: number): void {
    const c = new BatchCollector(session, id, op, count, session.routeReserve, this.parts.forwardPart);
    const elementOp = op === Op.BATCH_GET ? Op.GET : Op.EXISTS;
    const elsewhere: number[] = [];
    const out = this.out;
    this.startElements(op);
    for (let i = 0; i < count; i++) {
      if (this.here[i] === 0) {
        elsewhere.push(i);
        continue;
      }
      if (this.parts.namespaces[this.nsOf[i]].storage === 'memory') {
        out.reset();
        const code = this.apply(i, out);
        c.element(i, code, out.buffer, 0, out.length);
        continue;
      }
      try {
        // The key map is the element's body: if its partition moves before the loop reads it, the
        // primary is sent it (BatchCollector.forwardElement).
        this.parts.queue.enqueue(
          c,
          i,
          elementOp,
          this.nsOf[i],
          0,
          this.digests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES),
          frame,
          this.keyStarts[i],
          this.keyEnds[i],
          false,
          ReqFlag.BATCH_ELEMENT,
        );
      } catch (err) {
        // The queue's bound: this element is not read, as the primary answers one it cannot queue.
        c.element(i, err instanceof AerieError ? err.code : Status.SERVER_ERROR, EMPTY, 0, 0);
      }
    }
    if (elsewhere.length > 0) c.forwardKeys(elsewhere, frame, this.keyStarts, this.keyEnds);
  }

  /** The element message's header, shared by every key of the batch (the buffer is shared with single requests). */
  private startElements(op: number): void {
    const m = this.message;
    m.fill(0);
    m[ReqOffset.OP] = op === Op.BATCH_GET ? Op.GET : Op.EXISTS;
    m[ReqOffset.FLAGS] = ReqFlag.BATCH_ELEMENT;
  }

  /** Applies key `i` as a BATCH_ELEMENT message into `out`; returns its code. */
  private apply(i: number, out: Writer): number {
    const m = this.message;
    m[ReqOffset.NS] = this.nsOf[i];
    m.set(this.digests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES), ReqOffset.DIGEST);
    const startedMs = performance.now();
    const code = this.parts.apply(m, this.view, 0, REQ_HEADER_BYTES, out);
    this.parts.record(m[ReqOffset.OP], code, (performance.now() - startedMs) * 1000, true);
    return code;
  }

  /** Reads every key into digests/nsOf/partitions; 0 when the batch is not one to serve here. */
  private readKeys(frame: Uint8Array, start: number, end: number): number {
    const kr = this.keys;
    const kf = this.keyFields;
    try {
      kr.reset(frame, start, end);
      const count = kr.readArrayHeader();
      if (count > BATCH_KEYS_MAX) return 0;
      for (let i = 0; i < count; i++) {
        const keyStart = kr.pos;
        kr.skipValue();
        this.one.reset(frame, keyStart, kr.pos);
        readRoutingFields(this.one, kr.pos, kf, true);
        if (kf.other !== null || (kf.seen & ~KEY_FIELDS) !== 0) return 0;
        const nsIndex = kf.ns === null ? undefined : this.parts.nsIndexes.get(kf.ns);
        if (nsIndex === undefined) return 0;
        this.nsOf[i] = nsIndex;
        this.keyStarts[i] = keyStart;
        this.keyEnds[i] = kr.pos;
        this.partitions[i] = partitionOf(kf.digest);
        this.digests.set(kf.digest, i * DIGEST_BYTES);
      }
      return count;
    } catch {
      // Malformed: the primary answers it with the code a bad batch gets.
      return 0;
    }
  }
}
