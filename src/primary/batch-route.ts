// A batch read through the router: every key validated before any is sent, the elements of
// memory namespaces read straight from shared memory when they can be, the others fanned out as
// per-key messages (flag BATCH_ELEMENT) to their masters, and the answer sent when the last
// element returns, or refused whole once it outgrows the client's frame.

import { BATCH_KEYS_MAX } from '../constants';
import { assert } from '../assert';
import { AerieError, Status } from '../errors';
import { partitionOf } from '../partition/digest';
import { HOLD_HERE, primaryTarget } from '../partition/ownership';
import { ReqFlag } from '../protocol/internal';
import { Op } from '../protocol/ops';
import { Reader } from '../protocol/reader';
import { Writer } from '../protocol/writer';
import { RoutingField as Field } from '../protocol/body-fields';
import { RoutingFields, onlyFields, readRoutingFields } from '../endpoint/routing-fields';
import { RequestFields, parseBody } from '../protocol/request-body';
import type { Answerer } from '../endpoint/session';
import { NOT_HERE } from './direct-reads';
import { SlotKind, type BatchState } from './requests';
import { elementError } from '../endpoint/answer-bodies';
import type { RouterCore } from './router-core';
import type { WorkerHandle } from './worker-handle';

export class BatchRoute {
  private readonly keyReader = new Reader(new Uint8Array(0));
  /** For one key of a batch, reused across keys and batches. */
  private readonly batchKeyReader = new Reader(new Uint8Array(0));
  private readonly batchKeyFields = new RoutingFields();
  /** Checks a batch's sub-request body as the worker will read it. */
  private readonly subReader = new Reader(new Uint8Array(0));
  private readonly subFields = new RequestFields();
  private readonly scratch = new Writer(1 << 20);

  constructor(private readonly r: RouterCore) {}

  route(session: Answerer, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void {
    const f = this.r.fields;
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
      const nsIndex = this.r.nsIndex(kf.ns);
      const partitionId = partitionOf(kf.digest);
      const target = primaryTarget(this.r.map, this.r.failover?.held ?? null, nsIndex, partitionId);
      if (target === HOLD_HERE) {
        // A key's partition is changing master: the batch waits whole, as a single request would.
        this.r.hold(session, id, op, frame, bodyStart, bodyEnd);
        return;
      }
      const worker = this.r.workers[target];
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
    const direct = op === Op.BATCH_EXISTS || f.binsStart < 0 ? this.r.direct : null;
    for (let i = 0; i < count; i++) {
      const t = targets[i];
      if (batch.tooBig) {
        // The answer has outgrown the client's frame: the keys left are not read at all.
        batch.remaining--;
        continue;
      }
      const timed = direct !== null && this.r.timeDirectRead();
      const readStartMs = timed ? performance.now() : 0;
      const directCode = direct === null ? NOT_HERE : direct.readElement(t.worker, t.nsIndex, t.digest, op === Op.BATCH_GET);
      if (direct !== null && directCode !== NOT_HERE) {
        this.r.countDirectRead(op, directCode, timed, readStartMs);
        this.setElement(batch, i, Buffer.from(direct.out.bytes()));
        batch.remaining--;
        continue;
      }
      if (!t.worker.accepting) {
        this.setElement(batch, i, elementError(Status.PARTITION_UNAVAILABLE, op === Op.BATCH_GET));
        batch.remaining--;
        continue;
      }
      const slot = this.r.table.acquire(session, id, SlotKind.BATCH_ELEMENT, t.worker.index);
      const sent = slot >= 0 && t.worker.send(slot, subOp, t.nsIndex, ReqFlag.BATCH_ELEMENT, 0, t.digest, body, 0, body.length);
      if (!sent) {
        if (slot >= 0) this.r.table.release(slot);
        // Reads only: an element that could not be queued answers DEVICE_OVERLOAD in place.
        this.setElement(batch, i, elementError(Status.DEVICE_OVERLOAD, op === Op.BATCH_GET));
        batch.remaining--;
        continue;
      }
      this.r.table.extras[slot] = batch;
      this.r.table.batchIndexes[slot] = i;
      this.r.markDirty(t.worker);
    }
    if (batch.remaining === 0) this.finishBatch(batch);
  }

  /** A worker's answer for one element of a batch (a code other than 0: it wrote no element). */
  element(batch: BatchState, index: number, code: number, bytes: Uint8Array, start: number, end: number): void {
    this.setElement(batch, index, code === 0 && end > start ? Buffer.from(bytes.subarray(start, end)) : elementError(code === 0 ? Status.SERVER_ERROR : code, batch.withBins));
    if (--batch.remaining === 0) this.finishBatch(batch);
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
}
