// GET and EXISTS of a memory namespace answered by the primary straight from the owning worker's
// shared memory, under the store's seqlock, instead of a round trip through the worker's rings.
// The round trip is most of a read's cost: the primary wakes the worker, the worker wakes the
// primary back, and on one core each wake is a context switch.
//
// Why it is correct:
//   - every store mutation (write, remove, metadata update, defragmentation move) makes the
//     seqlock word odd, then even again; a read that saw the same even word before and after
//     read a consistent record (the approach of the verify job);
//   - a write is acknowledged only after the worker applied it, so a read sent after that sees
//     it; a read racing a write in flight may see either version, as with the rings;
//   - file namespaces are never read here: a read must not return a write before its group
//     commit, and only the worker's batch knows when that is.
// Anything this reader cannot judge — a worker not up, an index replaced by a rehash it has not
// heard of yet, a block not yet reported, a record that kept changing, bin selection — answers
// NOT_HERE and the request takes the rings as before.

import { DIRECT_READ_ATTEMPTS, RECORD_BYTES_CEILING } from '../constants';
import type { NamespaceConfig } from '../config';
import { Status } from '../errors';
import { Op } from '../protocol/ops';
import type { Reader } from '../protocol/reader';
import { Writer } from '../protocol/writer';
import { Arena } from '../shm/arena';
import { IndexTable } from '../shm/index-table';
import { RECORD_HEADER_BYTES } from '../shm/record-store';
import { hasExpired, nowVoidSec, ttlOf } from '../shm/void-time';
import { RequestFields, parseBody } from '../protocol/request-body';
import type { WorkerHandle } from './worker-handle';

/** The request must go to the worker. */
export const NOT_HERE = -1;

/** What a read answers: a GET or EXISTS body, or a batch element with or without bins. */
const Shape = { GET: 0, EXISTS: 1, ELEMENT_GET: 2, ELEMENT_EXISTS: 3 } as const;

/** The index attached for one worker's namespace, and the buffer it was attached from. */
interface Attached {
  sab: SharedArrayBuffer;
  index: IndexTable;
  control: Int32Array;
}

export class DirectReader {
  /**
   * One answer: any record a namespace accepts (up to the ceiling) plus its envelope, so a read
   * of an acknowledged record never fails for want of room here.
   */
  readonly out = new Writer(RECORD_BYTES_CEILING + 64 * 1024);
  /** Reads answered here (INFO adds them to the workers' counts). */
  readonly served: Float64Array;
  private readonly attached: (Attached | null)[][];
  private readonly fields = new RequestFields();
  private readonly eligible: boolean[];
  private readonly blockViews = new WeakMap<SharedArrayBuffer, { view: DataView; bytes: Uint8Array }>();

  constructor(namespaces: NamespaceConfig[], workerCount: number) {
    this.eligible = namespaces.map((ns) => ns.storage === 'memory');
    this.attached = Array.from({ length: workerCount }, () => namespaces.map(() => null));
    this.served = new Float64Array(workerCount);
  }

  /**
   * Answers a GET or EXISTS into `out` (reset first) and returns its code, or NOT_HERE. `r` is
   * positioned at the body, which ends at `bodyEnd`.
   */
  read(op: number, worker: WorkerHandle, nsIndex: number, digest: Uint8Array, r: Reader, bodyEnd: number): number {
    if (!this.eligible[nsIndex] || worker.state !== 'up') return NOT_HERE;
    const f = this.fields;
    try {
      parseBody(r, bodyEnd, f, false);
    } catch {
      return NOT_HERE; // the worker answers with the precise error
    }
    if (f.binNames !== null) return NOT_HERE;
    return this.underSeqlock(worker, nsIndex, digest, op === Op.GET ? Shape.GET : Shape.EXISTS);
  }

  /**
   * One element of a BATCH_GET (withBins) or BATCH_EXISTS into `out` (reset first), as the worker
   * writes it: [code, gen, ttl, bins?]. Returns the element's code, or NOT_HERE.
   */
  readElement(worker: WorkerHandle, nsIndex: number, digest: Uint8Array, withBins: boolean): number {
    if (!this.eligible[nsIndex] || worker.state !== 'up') return NOT_HERE;
    return this.underSeqlock(worker, nsIndex, digest, withBins ? Shape.ELEMENT_GET : Shape.ELEMENT_EXISTS);
  }

  /** Writes the answer of `shape` into `out`, retried until the store's seqlock shows it whole. */
  private underSeqlock(worker: WorkerHandle, nsIndex: number, digest: Uint8Array, shape: number): number {
    const a = this.attach(worker, nsIndex);
    if (a === null) return NOT_HERE;
    const blocks = worker.stores[nsIndex].blocks;
    const nowMs = Date.now();
    const nowVoid = nowVoidSec(nowMs);
    for (let attempt = 0; attempt < DIRECT_READ_ATTEMPTS; attempt++) {
      const before = Atomics.load(a.control, 0);
      if ((before & 1) !== 0) continue;
      // A rehash replaced the index: the new buffer's message has not arrived yet.
      if (a.index.retired) return NOT_HERE;
      this.out.reset();
      const code =
        shape === Shape.GET || shape === Shape.EXISTS
          ? this.readOnce(shape === Shape.GET ? Op.GET : Op.EXISTS, a.index, blocks, digest, nowVoid, nowMs)
          : this.elementOnce(a.index, blocks, digest, nowVoid, nowMs, shape === Shape.ELEMENT_GET);
      if (code === NOT_HERE) return NOT_HERE;
      if (Atomics.load(a.control, 0) === before) {
        this.served[worker.index]++;
        return code;
      }
    }
    return NOT_HERE;
  }

  private elementOnce(index: IndexTable, blocks: SharedArrayBuffer[], digest: Uint8Array, nowVoid: number, nowMs: number, withBins: boolean): number {
    const out = this.out;
    const slot = index.find(digest, 0);
    const voidTime = slot < 0 ? 0 : index.voidTime(slot);
    out.writeArrayHeader(withBins ? 4 : 3);
    if (slot < 0 || hasExpired(voidTime, nowVoid)) {
      out.writeInt(Status.KEY_NOT_FOUND);
      out.writeUint(0);
      out.writeInt(0);
      if (withBins) out.writeNil();
      return Status.KEY_NOT_FOUND;
    }
    out.writeInt(0);
    out.writeUint(index.generation(slot));
    out.writeInt(ttlOf(voidTime, nowMs));
    if (!withBins) return 0;
    const bins = this.binsOf(index, blocks, slot);
    if (bins === null) return NOT_HERE;
    out.writeRaw(bins.bytes, bins.start, bins.end);
    return 0;
  }

  /** Where the stored bins of `slot` are, or null when this reader cannot tell. */
  private binsOf(index: IndexTable, blocks: SharedArrayBuffer[], slot: number): { bytes: Uint8Array; start: number; end: number } | null {
    const location = index.location(slot);
    const block = blocks[Arena.blockIndexOf(location)];
    if (block === undefined || block === null) return null; // made moments ago, not reported yet
    const offset = Arena.offsetInBlock(location);
    if (offset + RECORD_HEADER_BYTES > block.byteLength) return null;
    const { view, bytes } = this.views(block);
    const keyBytes = view.getUint32(offset + 40, true);
    const binsBytes = view.getUint32(offset + 44, true);
    const start = offset + RECORD_HEADER_BYTES + keyBytes;
    // Torn by a concurrent mutation: the seqlock check rejects this read; just stay in bounds.
    if (start + binsBytes > block.byteLength || binsBytes === 0) return null;
    return { bytes, start, end: start + binsBytes };
  }

  private readOnce(op: number, index: IndexTable, blocks: SharedArrayBuffer[], digest: Uint8Array, nowVoid: number, nowMs: number): number {
    const slot = index.find(digest, 0);
    if (slot < 0) return Status.KEY_NOT_FOUND;
    const voidTime = index.voidTime(slot);
    // Expired: invisible at once, as on the worker (which also removes it on sight).
    if (hasExpired(voidTime, nowVoid)) return Status.KEY_NOT_FOUND;
    const out = this.out;
    const generation = index.generation(slot);
    out.writeMapHeader(op === Op.GET ? 3 : 2);
    out.writeString('gen');
    out.writeUint(generation);
    out.writeString('ttl');
    out.writeInt(ttlOf(voidTime, nowMs));
    if (op !== Op.GET) return 0;
    const bins = this.binsOf(index, blocks, slot);
    if (bins === null) return NOT_HERE;
    out.writeString('bins');
    out.writeRaw(bins.bytes, bins.start, bins.end);
    return 0;
  }

  /** Views of a block, made once per block rather than per read. */
  private views(block: SharedArrayBuffer): { view: DataView; bytes: Uint8Array } {
    let v = this.blockViews.get(block);
    if (v === undefined) {
      v = { view: new DataView(block), bytes: new Uint8Array(block) };
      this.blockViews.set(block, v);
    }
    return v;
  }

  private attach(worker: WorkerHandle, nsIndex: number): Attached | null {
    const mem = worker.stores[nsIndex];
    if (mem.indexSab === null || mem.controlSab === null) return null;
    let a = this.attached[worker.index][nsIndex];
    if (a === null || a.sab !== mem.indexSab) {
      let index: IndexTable;
      try {
        index = IndexTable.attach(mem.indexSab);
      } catch {
        return null; // a damaged header: the worker decides what to answer
      }
      a = { sab: mem.indexSab, index, control: new Int32Array(mem.controlSab) };
      this.attached[worker.index][nsIndex] = a;
    }
    return a;
  }
}
