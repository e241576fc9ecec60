// One batch a worker's endpoint serves in parts (issue 12, item 3: batches split per owner). The
// keys of partitions this worker masters are read here: a memory namespace's at once, a file
// namespace's through the endpoint's queue (src/worker/local-writes.ts), answered after the group
// commit of the writes before them. The other keys go to the primary as one smaller batch of the
// same op, which it splits per owner as it does every batch, and so does a queued key whose
// partition moved before the loop reached it. The answer is sent when the last part is in, the
// elements in the client's key order, with the codes the primary gives a batch it assembles
// (src/primary/batch-route.ts): an element it could not read carries its own code; an answer past
// the client's frame is RECORD_TOO_BIG; a part the primary refused whole fails the batch with
// that code, as the whole batch would have been refused. Reads only: nothing here is in doubt.

import { AerieError, Status } from '../errors';
import { LIST_ANSWER_OVERHEAD_BYTES, elementError } from '../endpoint/answer-bodies';
import type { Session } from '../endpoint/session';
import { Op } from '../protocol/ops';
import { Reader } from '../protocol/reader';
import { Writer } from '../protocol/writer';

/** Sends a part of a batch to the primary (ForwardingRouter.forward); throws its coded refusal. */
export type ForwardPart = (collector: BatchCollector, id: number, op: number, body: Uint8Array, start: number, end: number) => void;

const RECORDS = 'records';

export class BatchCollector {
  /** Its parts reserve nothing of the session's answer budget: the batch reserved it whole. */
  readonly routeReserve = 0;
  private elements: (Buffer | null)[];
  private pending: number;
  private bytes = LIST_ANSWER_OVERHEAD_BYTES;
  private done = false;
  /** Parts sent to the primary, by their id here (ids from `count` up; elements are 0..count-1). */
  private readonly parts = new Map<number, number[]>();
  private nextPart: number;

  constructor(
    /** The client's session the batch came on. */
    readonly session: Session,
    /** The batch's id on that session. */
    readonly id: number,
    private readonly op: number,
    private readonly count: number,
    /** Answer bytes the session reserved for the batch. */
    private readonly reserved: number,
    private readonly forwardPart: ForwardPart,
  ) {
    this.elements = new Array(count).fill(null);
    this.pending = count;
    this.nextPart = count;
  }

  get answerFrameBytesMax(): number {
    return this.session.answerFrameBytesMax;
  }

  /**
   * Sends the keys at `indexes` (each `frame[starts[i], ends[i])`, one complete key map; `starts`
   * and `ends` are indexed by element) to the primary as one batch of this op. A refusal (the
   * endpoint's forwarding bound) fails the batch.
   */
  forwardKeys(indexes: number[], frame: Uint8Array, starts: Int32Array, ends: Int32Array): void {
    let bytes = 0;
    for (const i of indexes) bytes += ends[i] - starts[i];
    const w = partWriter(bytes, indexes.length);
    for (const i of indexes) w.writeRaw(frame, starts[i], ends[i]);
    this.sendPart(indexes, w);
  }

  /** A queued element whose partition moved before it was read: the primary reads it (`key[start, end)`: its key map). */
  forwardElement(index: number, key: Uint8Array, start: number, end: number): void {
    const w = partWriter(end - start, 1);
    w.writeRaw(key, start, end);
    this.sendPart([index], w);
  }

  private sendPart(indexes: number[], w: Writer): void {
    const id = this.nextPart++;
    this.parts.set(id, indexes);
    try {
      this.forwardPart(this, id, this.op, w.buffer, 0, w.length);
    } catch (err) {
      this.parts.delete(id);
      const e = err instanceof AerieError ? err : new AerieError(Status.SERVER_ERROR, String(err));
      this.fail(e.code, e.message);
    }
  }

  /** Element `index`'s answer: with code 0, `bytes[start, end)` is the element; otherwise one of that code. */
  element(index: number, code: number, bytes: Uint8Array, start: number, end: number): void {
    if (this.done || this.elements[index] !== null) return;
    const element = code === 0 && end > start ? Buffer.from(bytes.subarray(start, end)) : elementError(code === 0 ? Status.SERVER_ERROR : code, this.op === Op.BATCH_GET);
    this.bytes += element.length;
    if (this.bytes > this.answerFrameBytesMax) {
      // The answer cannot be sent: as the primary does, nothing more is kept.
      this.fail(Status.RECORD_TOO_BIG, `the batch's answer exceeds the connection's ${this.answerFrameBytesMax}-byte frame limit`);
      return;
    }
    this.elements[index] = element;
    if (--this.pending === 0) this.finish();
  }

  /** An answer to an element queued here (id < count) or to a part sent to the primary. */
  respondRaw(id: number, code: number, bytes: Uint8Array, start: number, end: number, _reserved: number): void {
    if (id < this.count) {
      this.element(id, code, bytes, start, end);
      return;
    }
    const indexes = this.parts.get(id);
    if (indexes === undefined) return;
    this.parts.delete(id);
    if (code !== 0) {
      this.fail(code, messageOf(bytes, start, end));
      return;
    }
    // {records: [element…]}, in the order the part's keys were sent.
    const r = new Reader(bytes);
    try {
      r.reset(bytes, start, end);
      const fields = r.readMapHeader();
      for (let f = 0; f < fields; f++) {
        if (r.readString() !== RECORDS) {
          r.skipValue();
          continue;
        }
        const n = r.readArrayHeader();
        if (n !== indexes.length) throw new Error(`${n} records for ${indexes.length} keys`);
        for (let k = 0; k < n && !this.done; k++) {
          const at = r.pos;
          r.skipValue();
          this.element(indexes[k], 0, bytes, at, r.pos);
        }
        return;
      }
      throw new Error('no records');
    } catch (err) {
      this.fail(Status.SERVER_ERROR, `a part of the batch came back malformed: ${(err as Error).message}`);
    }
  }

  /** A coded refusal of an element or part before it was read (DEVICE_OVERLOAD, say). */
  respondAnswer(id: number, code: number, value: unknown, _reserved: number): void {
    if (id < this.count) {
      this.element(id, code, EMPTY, 0, 0);
      return;
    }
    if (!this.parts.delete(id)) return;
    this.fail(code, String((value as { message?: unknown } | null)?.message ?? ''));
  }

  private fail(code: number, message: string): void {
    if (this.done) return;
    this.done = true;
    this.elements = [];
    this.session.respondAnswer(this.id, code, { message }, this.reserved);
  }

  private finish(): void {
    this.done = true;
    this.session.respondBatch(this.id, this.elements as Buffer[], this.reserved);
  }
}

const EMPTY = new Uint8Array(0);

/** The message of an error answer's body ({message}), or ''. */
function messageOf(bytes: Uint8Array, start: number, end: number): string {
  if (end <= start) return '';
  try {
    const r = new Reader(bytes);
    r.reset(bytes, start, end);
    const v = r.readValue() as { message?: unknown } | null;
    return typeof v?.message === 'string' ? v.message : '';
  } catch {
    return '';
  }
}

/** A part's body, {keys: [...]}, with room for `keyBytes` of key maps; the caller writes the keys. */
function partWriter(keyBytes: number, keyCount: number): Writer {
  const w = new Writer(32 + keyBytes);
  w.writeMapHeader(1);
  w.writeString('keys');
  w.writeArrayHeader(keyCount);
  return w;
}
