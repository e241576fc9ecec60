// A BATCH_GET (of all bins) or BATCH_EXISTS on a worker's endpoint whose every key is in a memory
// namespace's partition this worker masters: its elements are applied here, each as the ring's
// BATCH_ELEMENT message through Engine.handle, and the batch is answered at once. Any other batch
// (a key mastered elsewhere or moving, a file namespace, bin selection, anything malformed or
// oversized) is forwarded whole: the primary splits it per owner (src/primary/batch-route.ts) and
// answers the codes a bad batch gets, so both paths answer alike.

import { BATCH_KEYS_MAX, DIGEST_BYTES, RECORD_BYTES_CEILING } from '../constants';
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
}

const KEY_FIELDS = Field.ns | Field.set | Field.key | Field.digest;

export class LocalBatches {
  private readonly keys = new Reader(new Uint8Array(0));
  private readonly one = new Reader(new Uint8Array(0));
  private readonly keyFields = new RoutingFields();
  private readonly digests = new Uint8Array(BATCH_KEYS_MAX * DIGEST_BYTES);
  private readonly nsOf = new Uint8Array(BATCH_KEYS_MAX);
  private readonly partitions = new Uint16Array(BATCH_KEYS_MAX);
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
    const { holds, map, workerIndex } = this.parts;
    holds.beginLocal(workerIndex);
    try {
      const paused = this.parts.paused();
      for (let i = 0; i < count; i++) if (endpointRoute(map, holds, this.nsOf[i], this.partitions[i], workerIndex, paused) === EndpointRoute.FORWARD) return false;
      const out = this.out;
      out.reset();
      const m = this.message;
      // The buffer is shared with single requests: clear what they left in the header.
      m.fill(0);
      m[ReqOffset.OP] = op === Op.BATCH_GET ? Op.GET : Op.EXISTS;
      m[ReqOffset.FLAGS] = ReqFlag.BATCH_ELEMENT;
      for (let i = 0; i < count; i++) {
        m[ReqOffset.NS] = this.nsOf[i];
        m.set(this.digests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES), ReqOffset.DIGEST);
        const mark = out.length;
        const startedMs = performance.now();
        const code = this.parts.apply(m, this.view, 0, REQ_HEADER_BYTES, out);
        this.parts.record(m[ReqOffset.OP], code, (performance.now() - startedMs) * 1000, true);
        if (code !== 0) {
          // As the primary answers an element its worker refused: [code, 0, 0(, nil)] in place.
          out.truncate(mark);
          out.writeArrayHeader(op === Op.BATCH_GET ? 4 : 3);
          out.writeInt(code);
          out.writeUint(0);
          out.writeInt(0);
          if (op === Op.BATCH_GET) out.writeNil();
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
    } finally {
      holds.endLocal(workerIndex);
    }
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
        if (nsIndex === undefined || this.parts.namespaces[nsIndex].storage !== 'memory') return 0;
        this.nsOf[i] = nsIndex;
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
