// The keyed requests a worker endpoint serves itself (issue 12, item 3), on the request's own
// socket without the hop through the primary: GET, EXISTS, PUT, REMOVE, TOUCH and OPERATE of a
// partition this worker masters, in every namespace. Two paths:
//  - answered at once: a read of a memory namespace, and a write of a memory namespace that keeps
//    one copy (nothing to replicate, no log to wait for);
//  - queued for the worker's loop (src/worker/local-writes.ts): everything else, whose answer
//    waits for the group commit (file namespaces) and for the replicas in sync (two copies).
// Forwarded instead (src/worker/endpoint-router.ts): a write naming a set not registered yet (the
// primary registers sets), a body past the namespace's record limit (the primary answers it with
// its code), a partition the primary is moving (held: src/partition/holds.ts) or that another
// worker masters, and any request while a restore holds this worker's stores. A request that
// kills the worker here is quarantined as on the front (src/primary/quarantine.ts): its connection
// dies with the thread (a write's outcome in doubt, a read sent again by the SDK), and sent again,
// here or anywhere, it is refused with FAIL_FORBIDDEN.

import { copyRange } from '../bytes';
import { REQUEST_BODY_OVERHEAD_BYTES, RING_MESSAGE_BYTES_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import type { NamespaceConfig } from '../config';
import type { Session } from '../endpoint/session';
import { refuseQuarantined } from '../endpoint/quarantined';
import type { QuarantineTable } from '../shm/quarantine-table';
import { RoutingFields, readRoutingFields } from '../endpoint/routing-fields';
import { partitionOf } from '../partition/digest';
import type { PartitionHolds } from '../partition/holds';
import { EndpointRoute, endpointRoute } from '../partition/ownership';
import type { PartitionMap } from '../partition/map';
import { REQ_HEADER_BYTES, writeRequestHeader } from '../protocol/internal';
import { Op } from '../protocol/ops';
import type { Reader } from '../protocol/reader';
import { Writer } from '../protocol/writer';
import type { SetRegistry } from '../shm/set-registry';
import type { LocalWrites } from './local-writes';
import { LocalBatches } from './local-batches';
import type { ForwardPart } from './batch-collector';

export interface LocalRequestParts {
  workerIndex: number;
  namespaces: NamespaceConfig[];
  sets: SetRegistry[];
  map: PartitionMap;
  holds: PartitionHolds;
  /** Applies one request message (the ring's layout) into `out` and returns its code (Engine.handle). */
  apply(bytes: Uint8Array, view: DataView, start: number, end: number, out: Writer): number;
  /** True while a restore holds this worker's stores (src/worker/store-control.ts). */
  paused(): boolean;
  /** Counts one request served here (INFO `endpoints`). */
  served(): void;
  /**
   * One request (or batch element) answered here, in the thread's request counters and latency
   * buckets (/metrics, as the ring's requests are).
   */
  record(op: number, code: number, micros: number, batchElement: boolean): void;
  /** Where requests that answer after the loop's commit wait. */
  queue: LocalWrites;
  /** service.frameBytesMax. */
  frameBytesMax: number;
  /**
   * The buffer a request message is built in (RING_MESSAGE_BYTES_MAX bytes, made by the primary,
   * which reads the request a dead thread was applying there).
   */
  message: SharedArrayBuffer;
  /** The requests refused as on the front. */
  quarantine: QuarantineTable;
  /** Sends a part of a batch served here to the primary (WorkerEndpoint.forwardPart). */
  forwardPart: ForwardPart;
}

export class LocalRequests {
  private readonly fields = new RoutingFields();
  private readonly nsIndexes: Map<string, number>;
  /** The request as the ring would carry it: header, then the body as it arrived. */
  private readonly message: Buffer;
  private readonly view: DataView;
  private readonly out = new Writer(RING_MESSAGE_BYTES_MAX);
  private readonly batches: LocalBatches;
  constructor(private readonly parts: LocalRequestParts) {
    this.message = Buffer.from(parts.message);
    this.view = new DataView(parts.message);
    this.nsIndexes = new Map(parts.namespaces.map((ns, i) => [ns.name, i]));
    this.batches = new LocalBatches({ ...parts, nsIndexes: this.nsIndexes });
  }

  /**
   * Answers the request here and returns true, or returns false (nothing done, the reader left
   * anywhere) for the caller to forward it. Throws the coded error the primary would answer for
   * a request that cannot be routed.
   */
  serve(session: Session, id: number, op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number, r: Reader): boolean {
    if (op === Op.BATCH_GET || op === Op.BATCH_EXISTS) {
      readRoutingFields(r, bodyEnd, this.fields, false);
      return this.batches.serve(session, id, op, frame, this.fields);
    }
    const read = op === Op.GET || op === Op.EXISTS;
    if (!read && op !== Op.PUT && op !== Op.REMOVE && op !== Op.TOUCH && op !== Op.OPERATE) return false;
    const { workerIndex, holds, map } = this.parts;
    const f = this.fields;
    readRoutingFields(r, bodyEnd, f, true);
    const nsIndex = f.ns === null ? undefined : this.nsIndexes.get(f.ns);
    if (nsIndex === undefined) throw new AerieError(Status.INVALID_NAMESPACE, `namespace '${f.ns}' is not configured`);
    const ns = this.parts.namespaces[nsIndex];
    const known = f.set === null ? 0 : this.parts.sets[nsIndex].idOf(f.set);
    // A PUT or OPERATE of a new set registers it, which the primary does (src/primary/router.ts).
    if (known < 0 && (op === Op.PUT || op === Op.OPERATE)) return false;
    if (this.parts.quarantine.size > 0) refuseQuarantined(this.parts.quarantine, session, op, nsIndex, f.digest, frame, bodyStart, bodyEnd);
    const partitionId = partitionOf(f.digest);
    const bodyBytes = bodyEnd - bodyStart;
    if (bodyBytes > ns.recordBytesMax + REQUEST_BODY_OVERHEAD_BYTES || REQ_HEADER_BYTES + bodyBytes > this.message.length) return false;
    const setId = Math.max(0, known);
    if (ns.storage !== 'memory' || (!read && map.copies[nsIndex] !== 1)) {
      // Looked at again when the loop applies it (the move may begin in between).
      if (endpointRoute(map, holds, nsIndex, partitionId, workerIndex, this.parts.paused()) === EndpointRoute.FORWARD) return false;
      this.parts.queue.enqueue(session, id, op, nsIndex, setId, f.digest, frame, bodyStart, bodyEnd, f.commitMaster);
      return true;
    }
    // Busy first, then the hold and the master: a move the primary starts after this look waits
    // for endLocal (src/partition/holds.ts).
    holds.beginLocal(workerIndex);
    try {
      if (endpointRoute(map, holds, nsIndex, partitionId, workerIndex, this.parts.paused()) === EndpointRoute.FORWARD) return false;
      const length = this.writeMessage(op, nsIndex, setId, f.digest, frame, bodyStart, bodyEnd);
      const out = this.out;
      out.reset();
      const startedMs = performance.now();
      const code = this.parts.apply(this.message, this.view, 0, length, out);
      this.parts.record(op, code, (performance.now() - startedMs) * 1000, false);
      this.parts.served();
      session.respondRaw(id, code, out.buffer, 0, out.length, session.routeReserve);
      return true;
    } finally {
      holds.endLocal(workerIndex);
    }
  }

  private writeMessage(op: number, nsIndex: number, setId: number, digest: Uint8Array, frame: Uint8Array, bodyStart: number, bodyEnd: number): number {
    const m = this.message;
    writeRequestHeader(m, this.view, 0, 0, op, nsIndex, 0, 0, setId, digest);
    copyRange(frame, bodyStart, bodyEnd, m, REQ_HEADER_BYTES);
    return REQ_HEADER_BYTES + (bodyEnd - bodyStart);
  }
}
