// A scan through the router: worker by worker, one page per request, with a cursor the client
// holds ([version, worker, 0, 0, u32 slot, u32 map version, u32 index id]). The map version is the
// one the scan started under: a partition that changed master since may have been walked on
// neither worker, so a page under another version is refused (SCAN_ABORT) and the scan restarts.

import { DIGEST_BYTES, SCAN_PAGE_BYTES_MAX, SCAN_PAGE_RECORDS_DEFAULT, SCAN_PAGE_RECORDS_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import { ReqOffset, SCAN_ALL_SETS, SCAN_DONE } from '../protocol/internal';
import { Op } from '../protocol/ops';
import type { Answerer } from '../endpoint/session';
import { SlotKind, type ScanState } from './requests';
import type { RouterCore } from './router-core';

const CURSOR_VERSION = 2;
const CURSOR_BYTES = 16;

export class ScanRoute {
  constructor(private readonly r: RouterCore) {}

  route(session: Answerer, id: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void {
    const f = this.r.fields;
    const nsIndex = this.r.nsIndex(f.ns);
    let workerIndex = 0;
    let startSlot = 0;
    let indexId = 0;
    const mapVersion = this.r.map.version >>> 0;
    if (f.cursor !== null) {
      const c = f.cursor;
      if (c.length !== CURSOR_BYTES || c[0] !== CURSOR_VERSION || c[1] >= this.r.workers.length) {
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
    const setId = f.set === null ? SCAN_ALL_SETS : this.r.setId(nsIndex, f.set, false);
    if (setId < 0) {
      // A set nobody has written to holds no records.
      session.respondScan(id, null, 0, 0, null, session.routeReserve);
      return;
    }
    // A worker that is away and masters nothing now (its partitions failed over) has nothing to scan.
    while (workerIndex < this.r.workers.length && this.r.workers[workerIndex].state !== 'up' && this.r.mastersNothing(nsIndex, workerIndex)) {
      workerIndex++;
      startSlot = 0;
      indexId = 0;
    }
    if (workerIndex >= this.r.workers.length) {
      session.respondScan(id, null, 0, 0, null, session.routeReserve);
      return;
    }
    const worker = this.r.workers[workerIndex];
    this.r.checkBodyBytes(nsIndex, bodyEnd - bodyStart);
    if (!worker.accepting) throw new AerieError(Status.PARTITION_UNAVAILABLE, `worker ${workerIndex} is down`);
    const slot = this.r.table.acquire(session, id, SlotKind.SCAN, workerIndex);
    if (slot < 0) throw new AerieError(Status.DEVICE_OVERLOAD, 'too many requests in flight on the node');
    const state: ScanState = { session, clientId: id, workerIndex, mapVersion, reserved: session.routeReserve };
    this.r.table.extras[slot] = state;
    // The digest field of a SCAN carries the page bounds.
    const fields = Buffer.alloc(DIGEST_BYTES);
    fields.writeUInt32LE(startSlot, ReqOffset.SCAN_START_SLOT - ReqOffset.DIGEST);
    fields.writeUInt32LE(pageSize, ReqOffset.SCAN_RECORDS_MAX - ReqOffset.DIGEST);
    fields.writeUInt32LE(SCAN_PAGE_BYTES_MAX, ReqOffset.SCAN_BYTES_MAX - ReqOffset.DIGEST);
    fields.writeUInt32LE(indexId, ReqOffset.SCAN_INDEX_ID - ReqOffset.DIGEST);
    const sent = worker.send(slot, Op.SCAN, nsIndex, 0, setId, fields, frame, bodyStart, bodyEnd);
    if (!sent) {
      this.r.table.release(slot);
      throw new AerieError(Status.DEVICE_OVERLOAD, `worker ${workerIndex} queue is full`);
    }
    this.r.markDirty(worker);
  }

  page(scan: ScanState, code: number, bytes: Uint8Array, start: number, end: number): void {
    // A page walked while partitions changed master may have skipped the ones that moved.
    if (code === Status.SCAN_ABORT || (code === 0 && this.r.map.version >>> 0 !== scan.mapVersion)) {
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
    if (next !== SCAN_DONE || scan.workerIndex + 1 < this.r.workers.length) {
      cursor = Buffer.alloc(CURSOR_BYTES);
      cursor[0] = CURSOR_VERSION;
      cursor[1] = next === SCAN_DONE ? scan.workerIndex + 1 : scan.workerIndex;
      cursor.writeUInt32LE(next === SCAN_DONE ? 0 : next, 4);
      cursor.writeUInt32LE(scan.mapVersion, 8);
      cursor.writeUInt32LE(next === SCAN_DONE ? 0 : view.getUint32(start + 4, true), 12);
    }
    scan.session.respondScan(scan.clientId, bytes, start + 8, end, cursor, scan.reserved);
  }
}

/** Partitions moved or an index was replaced since the scan's cursor was made. */
function scanAborted(): AerieError {
  return new AerieError(Status.SCAN_ABORT, 'the scan was overtaken by a partition move, an index rehash or a restore; restart it without a cursor');
}
