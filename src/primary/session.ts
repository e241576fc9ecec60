// One client connection: decodes each binary frame (one msgpack array of requests), enforces the
// connection's limits, answers HELLO/INFO/PING itself and hands the rest to the router. Responses
// are coalesced into one frame per connection per event-loop turn.

import type WebSocket from 'ws';
import { REQUESTS_PER_FRAME_MAX, VALUE_DEPTH_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import { Op, PROTOCOL_VERSION, PUSH_ID } from '../protocol/ops';
import { Reader } from '../protocol/reader';
import { Writer } from '../protocol/writer';
import type { Router } from './router';
import { sendBinary } from './ws-frame';

/** WebSocket close codes the node uses (docs/protocol.md). */
export const CloseCode = {
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY: 1008,
  TRY_AGAIN_LATER: 1013,
} as const;

export interface SessionHost {
  router: Router;
  inFlightMax: number;
  sendBufferBytesMax: number;
  /** A session that has not sent HELLO this long after opening is closed. */
  helloTimeoutMs: number;
  helloBody(): unknown;
  /** Runs the verify job over one namespace (or all) and resolves with its report. */
  verify(ns: string | null, repair: boolean): Promise<unknown>;
  infoBody(): unknown;
  /** Called when a session has output to send this turn. */
  scheduleFlush(s: Session): void;
  closed(s: Session): void;
  /** True while the node drains for shutdown: new requests are refused. */
  draining(): boolean;
  /** The worker a FAULT request targets; throws FAIL_FORBIDDEN when fault injection is off. */
  fault(worker: number, kind: string): import('./worker-handle').WorkerHandle;
  /** SNAPSHOT: create, list, restore or delete a namespace's snapshots. */
  snapshot(action: string, ns: string, id: string | null): Promise<unknown>;
  /** WORKER_RESTART {worker}: restarts a worker (even one given up on); resolves once it is up. */
  restartWorker(body: unknown): Promise<unknown>;
}

const reader = new Reader(new Uint8Array(0));
/** Decodes the bodies of the rare requests the primary answers itself (HELLO, VERIFY, FAULT). */
const bodyReader = new Reader(new Uint8Array(0));
/** A body map holds bins or ops, which hold values up to VALUE_DEPTH_MAX deep. */
const BODY_DEPTH_MAX = VALUE_DEPTH_MAX + 3;

export class Session {
  readonly ws: WebSocket;
  private readonly host: SessionHost;
  private out = new Writer(1 << 30);
  private outCount = 0;
  private outArrayAt = -1;
  private hello = false;
  private helloTimer: NodeJS.Timeout | null;
  inFlight = 0;
  /** Id of the client's DRAINED request once it arrives (it is answered last, then we close). */
  private drainedId = -1;
  private goawaySent = false;
  closed = false;
  readonly remote: string;

  constructor(ws: WebSocket, host: SessionHost, remote: string) {
    this.ws = ws;
    this.host = host;
    this.remote = remote;
    this.helloTimer = setTimeout(() => this.close(CloseCode.POLICY, 'no hello'), host.helloTimeoutMs);
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary));
    ws.on('close', () => this.onClose());
    ws.on('error', () => this.onClose());
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) return this.close(CloseCode.UNSUPPORTED_DATA, 'binary frames only');
    const r = reader;
    r.reset(data, 0, data.length);
    let count: number;
    try {
      count = r.readArrayHeader();
    } catch {
      return this.close(CloseCode.INVALID_PAYLOAD, 'a frame is a msgpack array of messages');
    }
    if (count > REQUESTS_PER_FRAME_MAX) return this.close(CloseCode.POLICY, `at most ${REQUESTS_PER_FRAME_MAX} requests per frame`);
    for (let i = 0; i < count && !this.closed; i++) {
      if (!this.onMessage(r, data)) return this.close(CloseCode.INVALID_PAYLOAD, 'malformed message');
    }
    if (!this.closed && r.pos !== data.length) this.close(CloseCode.INVALID_PAYLOAD, 'trailing bytes after the messages');
  }

  /** Handles one [id, op, body] message. Returns false when the frame cannot be parsed further. */
  private onMessage(r: Reader, frame: Buffer): boolean {
    let id: number;
    let op: number;
    let bodyStart: number;
    let bodyEnd: number;
    try {
      if (r.readArrayHeader() !== 3) return false;
      id = r.readUint32();
      op = r.readUint32();
    } catch {
      return false;
    }
    try {
      bodyStart = r.pos;
      r.skipValue(BODY_DEPTH_MAX);
      bodyEnd = r.pos;
    } catch (err) {
      // The message has an id but its body cannot be walked (too deep, truncated, an extension):
      // answer that id, then close, since the rest of the frame cannot be located.
      this.respondError(id, Status.PARAMETER, err instanceof AerieError ? err.message : 'malformed body');
      return false;
    }
    try {
      this.dispatch(id, op, frame, bodyStart, bodyEnd, r);
    } catch (err) {
      const e = err instanceof AerieError ? err : new AerieError(Status.SERVER_ERROR, String(err));
      if (!(err instanceof AerieError)) console.error('aerie: request failed', err);
      this.respondError(id, e.code, e.message);
    }
    r.pos = bodyEnd;
    return true;
  }

  private dispatch(id: number, op: number, frame: Buffer, bodyStart: number, bodyEnd: number, r: Reader): void {
    if (op === Op.HELLO) return this.onHello(id, frame, bodyStart, bodyEnd);
    if (!this.hello) throw new AerieError(Status.NOT_AUTHENTICATED, 'send HELLO first');
    if (op === Op.DRAINED) {
      this.drainedId = id;
      return this.maybeFinishDrain();
    }
    if (this.host.draining()) throw new AerieError(Status.PARTITION_UNAVAILABLE, 'the node is shutting down');
    if (op === Op.PING) return this.respondValue(id, 0, null);
    if (op === Op.INFO) return this.respondValue(id, 0, this.host.infoBody());
    if (op === Op.VERIFY) return this.onVerify(id, frame, bodyStart, bodyEnd);
    if (op === Op.FAULT) return this.onFault(id, frame, bodyStart, bodyEnd);
    if (op === Op.SNAPSHOT) return this.onSnapshot(id, frame, bodyStart, bodyEnd);
    if (op === Op.WORKER_RESTART) return this.answerLater(id, this.host.restartWorker(readBody(frame, bodyStart, bodyEnd)));
    if (this.inFlight >= this.host.inFlightMax) {
      throw new AerieError(Status.QUOTA_EXCEEDED, `at most ${this.host.inFlightMax} requests in flight per connection`);
    }
    r.pos = bodyStart;
    this.host.router.route(this, id, op, frame, bodyStart, bodyEnd, r);
    this.inFlight++;
  }

  private onHello(id: number, frame: Buffer, bodyStart: number, bodyEnd: number): void {
    const body = readBody(frame, bodyStart, bodyEnd) as Record<string, unknown> | null;
    if (body === null || typeof body !== 'object' || body.protocol !== PROTOCOL_VERSION) {
      throw new AerieError(Status.PARAMETER, `HELLO must name protocol ${PROTOCOL_VERSION}`);
    }
    // Authentication arrives with security: until then any user is accepted.
    this.hello = true;
    if (this.helloTimer !== null) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    this.respondValue(id, 0, this.host.helloBody());
  }

  private onVerify(id: number, frame: Buffer, bodyStart: number, bodyEnd: number): void {
    const body = readBody(frame, bodyStart, bodyEnd);
    const fields = (body !== null && typeof body === 'object' ? body : {}) as { ns?: unknown; repair?: unknown };
    const ns = fields.ns ?? null;
    if (ns !== null && typeof ns !== 'string') throw new AerieError(Status.PARAMETER, 'ns must be a string');
    const repair = fields.repair ?? false;
    if (typeof repair !== 'boolean') throw new AerieError(Status.PARAMETER, 'repair must be a boolean');
    this.answerLater(id, this.host.verify(ns, repair));
  }

  private onSnapshot(id: number, frame: Buffer, bodyStart: number, bodyEnd: number): void {
    const body = readBody(frame, bodyStart, bodyEnd) as { action?: unknown; ns?: unknown; id?: unknown } | null;
    if (body === null || typeof body !== 'object' || typeof body.action !== 'string' || typeof body.ns !== 'string') {
      throw new AerieError(Status.PARAMETER, 'SNAPSHOT needs {action, ns, id?}');
    }
    if (body.id !== undefined && body.id !== null && typeof body.id !== 'string') throw new AerieError(Status.PARAMETER, 'id must be a string');
    const unknown = Object.keys(body).find((k) => k !== 'action' && k !== 'ns' && k !== 'id');
    if (unknown !== undefined) throw new AerieError(Status.PARAMETER, `unknown field '${unknown}'`);
    this.answerLater(id, this.host.snapshot(body.action, body.ns, (body.id as string | undefined) ?? null));
  }

  /** Answers `id` when an admin operation of the primary settles. */
  private answerLater(id: number, work: Promise<unknown>): void {
    this.inFlight++;
    work.then(
      (value) => {
        this.inFlight--;
        this.respondValue(id, 0, value);
      },
      (err: unknown) => {
        this.inFlight--;
        const e = err instanceof AerieError ? err : new AerieError(Status.SERVER_ERROR, String((err as Error)?.message ?? err));
        this.respondValue(id, e.code, { message: e.message });
      },
    );
  }

  private onFault(id: number, frame: Buffer, bodyStart: number, bodyEnd: number): void {
    const body = readBody(frame, bodyStart, bodyEnd) as { worker?: unknown; kind?: unknown } | null;
    if (body === null || typeof body !== 'object' || typeof body.kind !== 'string') {
      throw new AerieError(Status.PARAMETER, 'FAULT needs {worker, kind}');
    }
    const worker = this.host.fault(body.worker as number, body.kind);
    this.host.router.sendFault(this, id, worker, body.kind);
    this.inFlight++;
  }

  // ---- shutdown ----

  /** Tells the client the node is going away; it answers DRAINED once it has stopped sending. */
  goAway(reason: string): void {
    if (this.closed || this.goawaySent) return;
    this.goawaySent = true;
    if (!this.hello) return this.close(CloseCode.GOING_AWAY, reason);
    this.respondValue(PUSH_ID, 0, { event: 'goaway', reason });
  }

  /** Closes once the client said DRAINED and everything before it is answered. */
  maybeFinishDrain(): void {
    if (this.drainedId < 0 || this.inFlight > 0 || this.closed) return;
    this.respondValue(this.drainedId, 0, null);
    this.close(CloseCode.GOING_AWAY, 'node shutting down');
  }

  // ---- responses ----

  private begin(id: number, code: number): Writer {
    const w = this.out;
    if (this.outArrayAt < 0) {
      w.reset();
      this.outArrayAt = w.beginArray32();
      this.host.scheduleFlush(this);
    }
    w.writeArrayHeader(3);
    w.writeUint(id);
    w.writeInt(code);
    this.outCount++;
    return w;
  }

  /** A worker's answer: body bytes as the worker encoded them (empty = nil). */
  respondRaw(id: number, code: number, bytes: Uint8Array, start: number, end: number): void {
    this.inFlight--;
    if (this.closed) return;
    const w = this.begin(id, code);
    if (end > start) w.writeRaw(bytes, start, end);
    else w.writeNil();
    if (this.drainedId >= 0) this.maybeFinishDrain();
  }

  respondBatch(id: number, elements: Buffer[]): void {
    this.inFlight--;
    if (this.closed) return;
    const w = this.begin(id, 0);
    w.writeMapHeader(1);
    w.writeString('records');
    w.writeArrayHeader(elements.length);
    for (const e of elements) w.writeRaw(e, 0, e.length);
    if (this.drainedId >= 0) this.maybeFinishDrain();
  }

  respondScan(id: number, bytes: Uint8Array | null, start: number, end: number, cursor: Buffer | null): void {
    this.inFlight--;
    if (this.closed) return;
    const w = this.begin(id, 0);
    w.writeMapHeader(2);
    w.writeString('records');
    if (bytes === null) w.writeArrayHeader(0);
    else w.writeRaw(bytes, start, end);
    w.writeString('cursor');
    if (cursor === null) w.writeNil();
    else w.writeBin(cursor);
    if (this.drainedId >= 0) this.maybeFinishDrain();
  }

  /** The primary's own answer to a routed request (a broadcast's summary, say). */
  respondAnswer(id: number, code: number, value: unknown): void {
    this.inFlight--;
    this.respondValue(id, code, value);
    if (this.drainedId >= 0) this.maybeFinishDrain();
  }

  private respondValue(id: number, code: number, value: unknown): void {
    if (this.closed) return;
    this.begin(id, code).writeValue(value as never);
  }

  private respondError(id: number, code: number, message: string): void {
    this.respondValue(id, code, { message });
  }

  /** Sends everything answered this turn as one frame. */
  flush(): void {
    if (this.outArrayAt < 0 || this.closed) return;
    this.out.patchArray32(this.outArrayAt, this.outCount);
    this.outArrayAt = -1;
    this.outCount = 0;
    if (this.ws.bufferedAmount > this.host.sendBufferBytesMax) {
      return this.close(CloseCode.TRY_AGAIN_LATER, 'client is not reading its responses');
    }
    sendBinary(this.ws, this.out.bytes());
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.flush(); // answers already given go out before the close frame
    this.ws.close(code, reason);
    this.onClose();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.helloTimer !== null) clearTimeout(this.helloTimer);
    this.host.router.forget(this);
    this.host.closed(this);
  }
}

function readBody(frame: Buffer, start: number, end: number): unknown {
  bodyReader.reset(frame, start, end);
  return bodyReader.readValue();
}
