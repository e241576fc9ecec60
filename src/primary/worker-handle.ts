// The primary's side of one worker thread: its rings, its backlog for when the request ring is
// full, and the pump that drains its responses. Requests are written into the ring as they are
// routed; the worker is woken once per frame, and only if it sleeps.

import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { RING_BYTES, WORKER_BACKLOG_MAX } from '../constants';
import { REQ_HEADER_BYTES, RES_HEADER_BYTES, ReqOffset, type ControlFromWorker, type WorkerInit } from '../protocol/internal';
import { Ring } from '../shm/ring';

export type ResponseHandler = (slot: number, code: number, bytes: Uint8Array, start: number, end: number) => void;

const WORKER_ENTRY = path.join(__dirname, '..', 'worker', 'main.js');

export class WorkerHandle {
  readonly index: number;
  readonly requests: Ring;
  readonly responses: Ring;
  readonly thread: Worker;
  /** Shared memory the worker created (index tables, arena blocks), kept so it outlives the thread. */
  readonly indexSabs: (SharedArrayBuffer | null)[];
  readonly controlSabs: (SharedArrayBuffer | null)[];
  readonly blockSabs: SharedArrayBuffer[][];
  private readonly backlog: Buffer[] = [];
  private readonly onResponse: ResponseHandler;
  private closed = false;
  alive = true;
  ready: Promise<void>;

  constructor(init: Omit<WorkerInit, 'requestRing' | 'responseRing'>, onResponse: ResponseHandler, onExit: (h: WorkerHandle, why: string) => void) {
    this.index = init.workerIndex;
    this.onResponse = onResponse;
    this.requests = Ring.create(RING_BYTES);
    this.responses = Ring.create(RING_BYTES);
    this.indexSabs = init.namespaces.map(() => null);
    this.controlSabs = init.namespaces.map(() => null);
    this.blockSabs = init.namespaces.map(() => []);
    const full: WorkerInit = { ...init, requestRing: this.requests.sab, responseRing: this.responses.sab };
    this.thread = new Worker(WORKER_ENTRY, { workerData: full, name: `aerie-worker-${init.workerIndex}` });
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.thread.on('message', (m: ControlFromWorker) => {
      if (m.type === 'ready') readyResolve();
      else if (m.type === 'store') {
        this.indexSabs[m.nsIndex] = m.indexSab;
        this.controlSabs[m.nsIndex] = m.controlSab;
      } else if (m.type === 'index-resized') this.indexSabs[m.nsIndex] = m.sab;
      else if (m.type === 'block') this.blockSabs[m.nsIndex][m.blockIndex] = m.sab;
      else if (m.type === 'fatal') console.error(`aerie: worker ${this.index} failed: ${m.message}`);
    });
    this.thread.on('error', (err) => {
      readyReject(err);
      console.error(`aerie: worker ${this.index} error:`, err);
    });
    this.thread.on('exit', (code) => {
      this.alive = false;
      readyReject(new Error(`worker ${this.index} exited with ${code}`));
      if (!this.closed) onExit(this, `exit code ${code}`);
    });
    void this.pumpLoop();
  }

  /**
   * Writes one request: the 32-byte header from the arguments (for SCAN, `digest` holds the scan
   * fields) and the body bytes. Returns false when both the ring and the backlog are full.
   */
  send(
    slot: number, op: number, nsIndex: number, flags: number, setId: number, digest: Uint8Array,
    body: Uint8Array, bodyStart: number, bodyEnd: number,
  ): boolean {
    const length = REQ_HEADER_BYTES + (bodyEnd - bodyStart);
    if (this.backlog.length === 0) {
      const at = this.requests.reserve(length);
      if (at >= 0) {
        writeHeader(this.requests.view, this.requests.bytes, at, slot, op, nsIndex, flags, setId, digest);
        this.requests.bytes.set(body.subarray(bodyStart, bodyEnd), at + REQ_HEADER_BYTES);
        return true;
      }
    }
    if (this.backlog.length >= WORKER_BACKLOG_MAX) return false;
    const copy = Buffer.allocUnsafe(length);
    writeHeader(new DataView(copy.buffer, copy.byteOffset, copy.length), copy, 0, slot, op, nsIndex, flags, setId, digest);
    copy.set(body.subarray(bodyStart, bodyEnd), REQ_HEADER_BYTES);
    this.backlog.push(copy);
    return true;
  }

  /** Publishes what was written and wakes the worker if it sleeps. */
  commit(): void {
    this.requests.commit();
  }

  private drainBacklog(): void {
    let moved = 0;
    while (moved < this.backlog.length) {
      const msg = this.backlog[moved];
      const at = this.requests.reserve(msg.length);
      if (at < 0) break;
      this.requests.bytes.set(msg, at);
      moved++;
    }
    if (moved > 0) {
      this.backlog.splice(0, moved);
      this.requests.commit();
    }
  }

  /** Drains all responses now in the ring. Returns how many. */
  pump(): number {
    const ring = this.responses;
    let count = 0;
    for (let at = ring.next(); at >= 0; at = ring.next()) {
      const end = at + ring.length;
      this.onResponse(ring.view.getUint32(at, true), ring.view.getInt32(at + 4, true), ring.bytes, at + RES_HEADER_BYTES, end);
      count++;
    }
    if (count > 0) ring.release();
    if (this.backlog.length > 0) this.drainBacklog();
    return count;
  }

  private async pumpLoop(): Promise<void> {
    while (!this.closed) {
      if (this.pump() > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      const wait = this.responses.waitAsync(this.backlog.length > 0 ? 1 : 1000);
      if (wait !== null) await wait;
    }
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (!this.alive) return;
    this.thread.postMessage({ type: 'stop' });
    this.requests.commit(); // wake it so it sees the stop
    const exited = new Promise<void>((resolve) => this.thread.once('exit', () => resolve()));
    const timer = setTimeout(() => void this.thread.terminate(), 2000);
    await exited;
    clearTimeout(timer);
  }
}

function writeHeader(
  view: DataView, bytes: Uint8Array, at: number, slot: number, op: number, nsIndex: number, flags: number,
  setId: number, digest: Uint8Array,
): void {
  view.setUint32(at + ReqOffset.SLOT, slot, true);
  bytes[at + ReqOffset.OP] = op;
  bytes[at + ReqOffset.NS] = nsIndex;
  bytes[at + ReqOffset.FLAGS] = flags;
  bytes[at + 7] = 0;
  view.setUint16(at + ReqOffset.SET_ID, setId, true);
  view.setUint16(at + 10, 0, true);
  bytes.set(digest, at + ReqOffset.DIGEST);
}
