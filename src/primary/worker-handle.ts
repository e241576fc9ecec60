// The primary's side of one worker slot across the lives of its thread: the current thread and
// its rings, the backlog that holds requests while the ring is full or the thread is restarting,
// the pump that drains responses, and the shared memory the thread's stores live in, which
// outlives each thread so that a replacement can adopt it.

import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { FORWARD_PIPE_BYTES, RING_BYTES, RING_MESSAGE_BYTES_MAX, WORKER_BACKLOG_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import { ACK_SLOT, REQ_HEADER_BYTES, RES_HEADER_BYTES, ReqOffset } from '../protocol/internal';
import { Op } from '../protocol/ops';
import { partitionOf } from '../partition/digest';
import type { ControlFromWorker, ControlToWorker, EndpointFromWorker, StoreControlMessage, StoreMemory, WorkerInit } from '../worker/thread-messages';

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
import { PIPE_HEADER_BYTES, PipeReader, PipeWriter, createPipe, type PipeHandler } from '../shm/pipe';
import { Ring } from '../shm/ring';
import { ApplyingSource, StatsBlock, WorkerStat } from '../shm/stats';
import type { NodeLog } from '../log';

export type ResponseHandler = (slot: number, code: number, bytes: Uint8Array, start: number, end: number) => void;

/** starting: a thread is booting; up: serving; down: dead, a restart is due; failed: given up. */
export type WorkerState = 'starting' | 'up' | 'down' | 'failed' | 'stopped';

export interface WorkerEvents {
  onResponse: ResponseHandler;
  /** The thread died (not during stop()); `why` says how. */
  onExit(h: WorkerHandle, why: string): void;
  onReady(h: WorkerHandle): void;
  /** The thread released replication channels: writes waiting for it may be answered. */
  onAck(h: WorkerHandle): void;
  /** A message from the thread's client endpoint (src/worker/endpoint.ts). */
  onEndpoint(h: WorkerHandle, m: EndpointFromWorker): void;
  /** A message of the endpoint's forward pipe (ForwardKind); its body is valid during the call only. */
  onForwarded(h: WorkerHandle, kind: number, a: number, b: number, c: number, d: number, bytes: Uint8Array, start: number, end: number): void;
  /** The primary's log: the thread's recovery, repairs and fatal errors are logged there. */
  log: NodeLog;
}

const WORKER_ENTRY = path.join(__dirname, '..', 'worker', 'main.js');
/** The forward loop's longest sleep: the endpoint's publish wakes it sooner (this is a safety net). */
const FORWARD_WAIT_MS = 1000;

/** One thread's life: its rings and the pump reading its responses. */
interface Incarnation {
  thread: Worker;
  requests: Ring;
  responses: Ring;
  /** Its endpoint's queue and message buffer (WorkerInit.localQueue, localMessage). */
  localQueue: Ring;
  localMessage: Uint8Array;
  /** Its endpoint's pipes: what it forwards, read by forwardLoop; the answers, written by the router's side. */
  forwards: PipeReader;
  answers: PipeWriter;
  alive: boolean;
  /** Why it died, when the primary knows better than the exit code (hang, fault). */
  killedFor: string | null;
  /** Ended by the primary (kill()), not failed by itself: the request it was applying is only suspected. */
  killedInnocent: boolean;
  /** Whether it took over any store from shared memory, and whether it got as far as ready. */
  adopted: boolean;
  ready: boolean;
}

export type WorkerBase = Omit<WorkerInit, 'requestRing' | 'responseRing' | 'localQueue' | 'localMessage' | 'forwardPipe' | 'answerPipe' | 'adopt'>;

export class WorkerHandle {
  readonly index: number;
  state: WorkerState = 'starting';
  /** Threads started after the first. */
  restarts = 0;
  lastFailure: string | null = null;
  /** When the last thread died, and how long its replacement took to be ready (ms). */
  lastDownAtMs = 0;
  lastRestartMs = -1;
  /** Per namespace, the shared memory of the store the current thread uses. */
  readonly stores: StoreMemory[];
  private life: Incarnation | null = null;
  private readonly backlog: Buffer[] = [];
  /** Store control requests awaiting the thread's reply, by request id. */
  private readonly pendingControl = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private nextControlId = 1;
  /** Set by the thread's last message at a stop: it closed every log without error. */
  private stoppedClean = false;
  private readonly base: WorkerBase;
  private readonly events: WorkerEvents;
  private readonly resourceLimits: { maxOldGenerationSizeMb: number };
  ready: Promise<void> = Promise.resolve();
  /** The current thread's endpoint: the port it bound, or why it could not (null until it says). */
  endpoint: { port: number; error: string | null } | null = null;
  /** Settles once the current thread's endpoint reported (bound or not), or the thread died first. */
  endpointReported: Promise<void> = Promise.resolve();
  private endpointSettle: (() => void) | null = null;
  /** Requests handed to threads or the backlog, and responses received, over all lives (handoffs wait on them). */
  sent = 0;
  answered = 0;
  /** Per namespace: whether the current thread took its store over from shared memory. */
  adoptedNamespaces: boolean[] = [];
  /** [ns]: this start's recovery skipped damaged log regions (recoverySkipCorrupt): records were lost. */
  damagedNamespaces: boolean[] = [];
  /** The request message the last thread was applying when it died (a copy), or null. */
  diedApplying: Buffer | null = null;
  /** Whether that death blames the request: the thread failed by itself (an exception, an exit, its heap limit). */
  diedBlamingRequest = false;
  private readonly stats: StatsBlock;

  constructor(base: WorkerBase, events: WorkerEvents, heapMbMax: number) {
    this.index = base.workerIndex;
    this.base = base;
    this.events = events;
    this.resourceLimits = { maxOldGenerationSizeMb: heapMbMax };
    this.stores = base.namespaces.map(() => ({ indexSab: null, controlSab: null, arenaStatsSab: null, blocks: [] }));
    this.stats = StatsBlock.attach(base.stats, base.namespaces.length);
  }

  /**
   * The request message a dead thread was applying, copied from its request ring or from its
   * endpoint's queue or message buffer (null: none).
   */
  private applyingWhenDied(life: Incarnation): Buffer | null {
    const at = this.stats.get(WorkerStat.APPLYING_OFFSET) - 1;
    const length = this.stats.get(WorkerStat.APPLYING_LENGTH);
    const source = this.stats.get(WorkerStat.APPLYING_SOURCE);
    this.stats.set(WorkerStat.APPLYING_OFFSET, 0);
    this.stats.set(WorkerStat.APPLYING_SOURCE, ApplyingSource.RING);
    const bytes = source === ApplyingSource.LOCAL_QUEUE ? life.localQueue.bytes : source === ApplyingSource.LOCAL_MESSAGE ? life.localMessage : life.requests.bytes;
    if (at < 0 || length < REQ_HEADER_BYTES || at + length > bytes.length) return null;
    return Buffer.from(bytes.subarray(at, at + length));
  }

  get alive(): boolean {
    return this.state === 'up';
  }

  /** True while requests for this worker should wait rather than fail. */
  get accepting(): boolean {
    return this.state === 'up' || this.state === 'starting' || this.state === 'down';
  }

  /** The current thread's request ring (peers ring its doorbell after writing its channels). */
  get requestRingSab(): SharedArrayBuffer | null {
    return this.life?.requests.sab ?? null;
  }

  /** The current thread's answer pipe (its endpoint's forwarded requests are answered there); null when it is dead. */
  get answerPipe(): PipeWriter | null {
    const life = this.life;
    return life?.alive ? life.answers : null;
  }

  /** Posts a message that needs no reply to the current thread, if it lives. */
  post(message: ControlToWorker): void {
    const life = this.life;
    if (life === null || !life.alive) return;
    life.thread.postMessage(message);
    life.requests.wake();
  }

  get thread(): Worker | null {
    return this.life?.thread ?? null;
  }

  /**
   * True when the last thread died before it was ready while taking over stores from shared
   * memory: that memory may be what kills it, so the next start should not adopt it again where
   * a durable copy exists.
   */
  get adoptionFailed(): boolean {
    const life = this.life;
    return life !== null && !life.alive && life.adopted && !life.ready;
  }

  /**
   * Starts a thread; with `adopt`, it takes over the stores the previous thread left. With
   * `distrustMemory` too (the last thread died taking that memory over), file namespaces are
   * rebuilt from their base snapshot and log instead (everything acknowledged is there), and
   * replicated memory namespaces start empty and are copied from the other holders; a memory
   * namespace with one copy still adopts, having no other.
   */
  start(adopt: boolean, distrustMemory = false): Promise<void> {
    const requests = Ring.create(RING_BYTES);
    const responses = Ring.create(RING_BYTES);
    const localQueue = Ring.create(RING_BYTES);
    const localMessage = new SharedArrayBuffer(RING_MESSAGE_BYTES_MAX);
    const forwardPipe = createPipe(FORWARD_PIPE_BYTES);
    const answerPipe = createPipe(FORWARD_PIPE_BYTES);
    // The thread reads its answers in its loop, which sleeps on its request ring: ring that one.
    const requestWords = Ring.wordsOf(requests.sab);
    const adoptable = this.stores.map((s, i) => {
      if (!adopt || s.indexSab === null) return null;
      if (distrustMemory && (this.base.namespaces[i].storage === 'file' || this.base.copies[i] > 1)) {
        // The new thread builds a new store and reports it: forget the old memory.
        this.stores[i] = { indexSab: null, controlSab: null, arenaStatsSab: null, blocks: [] };
        return null;
      }
      return s;
    });
    const init: WorkerInit = {
      ...this.base,
      peerRequestRings: this.base.peerRequestRings.map((sab, i) => (i === this.index ? requests.sab : sab)),
      requestRing: requests.sab,
      responseRing: responses.sab,
      localQueue: localQueue.sab,
      localMessage,
      forwardPipe,
      answerPipe,
      adopt: adopt ? adoptable : null,
    };
    const thread = new Worker(WORKER_ENTRY, {
      workerData: init,
      name: `aerie-worker-${this.index}`,
      resourceLimits: this.resourceLimits,
    });
    const life: Incarnation = {
      thread,
      requests,
      responses,
      localQueue,
      localMessage: new Uint8Array(localMessage),
      forwards: new PipeReader(forwardPipe, PIPE_HEADER_BYTES + this.base.endpoint.config.service.frameBytesMax),
      answers: new PipeWriter(answerPipe, () => Ring.ringDoorbell(requestWords)),
      alive: true,
      killedFor: null,
      killedInnocent: false,
      adopted: adoptable.some((a) => a !== null),
      ready: false,
    };
    this.adoptedNamespaces = adoptable.map((a) => a !== null);
    this.damagedNamespaces = adoptable.map(() => false);
    this.life = life;
    this.state = 'starting';
    this.endpoint = null;
    this.endpointReported = new Promise((resolve) => {
      this.endpointSettle = resolve;
    });
    this.ready = new Promise<void>((resolve, reject) => {
      thread.on('message', (m: ControlFromWorker) => this.onControl(life, m, resolve));
      thread.on('error', (err) => {
        life.killedFor ??= `error: ${err.message}`;
        reject(err);
      });
      thread.on('exit', (code) => {
        life.alive = false;
        life.answers.close();
        life.forwards.wake();
        if (this.life === life) {
          this.diedApplying = this.applyingWhenDied(life);
          this.diedBlamingRequest = !life.killedInnocent;
        }
        this.failControl(new Error(`worker ${this.index} exited before answering`));
        if (this.life === life) this.endpointSettle?.();
        reject(new Error(`worker ${this.index} exited with ${code}`));
        if (this.life === life && this.state !== 'stopped') this.events.onExit(this, life.killedFor ?? `exit code ${code}`);
      });
    });
    this.ready.catch(() => undefined);
    void this.pumpLoop(life);
    void this.forwardLoop(life);
    return this.ready;
  }

  private onControl(life: Incarnation, m: ControlFromWorker, resolve: () => void): void {
    const s = m.type === 'store' || m.type === 'index-resized' || m.type === 'block' ? this.stores[m.nsIndex] : null;
    switch (m.type) {
      case 'ready':
        if (this.life !== life) return;
        life.ready = true;
        this.state = 'up';
        if (this.lastDownAtMs > 0) this.lastRestartMs = Date.now() - this.lastDownAtMs;
        this.drainBacklog();
        resolve();
        this.events.onReady(this);
        return;
      case 'store':
        s!.indexSab = m.indexSab;
        s!.controlSab = m.controlSab;
        s!.arenaStatsSab = m.arenaStatsSab;
        return;
      case 'index-resized':
        s!.indexSab = m.sab;
        return;
      case 'block':
        s!.blocks[m.blockIndex] = m.sab;
        return;
      case 'repaired': {
        const namespace = this.base.namespaces[m.nsIndex].name;
        this.events.log.event('warn', 'adopt-repair', `worker ${this.index}: adopted namespace ${namespace} after repair (${m.checked} checked, ${m.fixed} fixed, ${m.dropped} dropped)`, {
          worker: this.index,
          namespace,
          records: m.checked,
          fixed: m.fixed,
          dropped: m.dropped,
        });
        return;
      }
      case 'recovered':
        if (m.skippedRegions > 0) this.damagedNamespaces[m.nsIndex] = true;
        if (!m.adopted || m.skippedRegions > 0) this.logRecovery(m);
        return;
      case 'reply': {
        const pending = this.pendingControl.get(m.requestId);
        if (pending === undefined) return;
        this.pendingControl.delete(m.requestId);
        clearTimeout(pending.timer);
        if (m.error === null) pending.resolve(m.value);
        else pending.reject(new AerieError(m.error.code, `worker ${this.index}: ${m.error.message}`));
        return;
      }
      case 'stopped':
        if (this.life === life) this.stoppedClean = m.logsClosed;
        return;
      case 'endpoint':
        if (this.life !== life) return;
        this.endpoint = { port: m.port, error: m.error };
        this.events.onEndpoint(this, m);
        this.endpointSettle?.();
        return;
      case 'admin':
      case 'audit':
        if (this.life === life) this.events.onEndpoint(this, m);
        return;
      case 'fatal':
        life.killedFor ??= m.message.split('\n')[0];
        this.events.log.error(`worker ${this.index} failed: ${m.message}`, { worker: this.index });
        return;
    }
  }

  /**
   * One line per recovered namespace: its records and time, and what it skipped. A recovery that
   * skipped damaged regions (recoverySkipCorrupt) lost the records in them: an error.
   */
  private logRecovery(m: Extract<ControlFromWorker, { type: 'recovered' }>): void {
    const namespace = this.base.namespaces[m.nsIndex].name;
    const skipped =
      m.skippedRegions > 0
        ? `; SKIPPED ${m.skippedRegions} damaged log regions (${m.skippedBytes} bytes, records in them are lost; first at ${m.firstSkipped}) because recoverySkipCorrupt is set`
        : '';
    this.events.log.event(
      m.skippedRegions > 0 ? 'error' : 'info',
      'recovery',
      `worker ${this.index}: namespace ${namespace} recovered ${m.records} log records in ${Math.round(m.elapsedMs)} ms ` +
        `(${Math.round(m.recordsPerSecond)} records/s${m.tornBytes > 0 ? `, torn tail of ${m.tornBytes} bytes cut` : ''})${skipped}`,
      {
        worker: this.index,
        namespace,
        records: m.records,
        durationMs: Math.round(m.elapsedMs),
        adopted: m.adopted,
        tornBytes: m.tornBytes,
        skippedRegions: m.skippedRegions,
        skippedBytes: m.skippedBytes,
        firstSkipped: m.firstSkipped,
      },
    );
  }

  /**
   * Sends a snapshot or restore step to the current thread and resolves with its reply; rejects if
   * the thread is not up, dies first, or does not answer within `timeoutMs`.
   */
  control(message: DistributiveOmit<StoreControlMessage, 'requestId'>, timeoutMs: number): Promise<unknown> {
    const life = this.life;
    if (life === null || !life.alive || this.state !== 'up') {
      return Promise.reject(new AerieError(Status.PARTITION_UNAVAILABLE, `worker ${this.index} is not up`));
    }
    const requestId = this.nextControlId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingControl.delete(requestId);
        reject(new AerieError(Status.TIMEOUT, `worker ${this.index} did not answer ${message.type} within ${timeoutMs} ms`, true));
      }, timeoutMs);
      this.pendingControl.set(requestId, { resolve, reject, timer });
      life.thread.postMessage({ ...message, requestId } as StoreControlMessage);
      life.requests.wake();
    });
  }

  private failControl(error: Error): void {
    for (const [id, pending] of this.pendingControl) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.pendingControl.delete(id);
    }
  }

  /**
   * Ends the current thread now (hang, heap, proactive restart); the exit handler takes it from
   * there. Such a death does not blame the request being applied by itself (a healthy thread on a
   * starved core misses its heartbeat too; a heap may be full of another request's garbage): that
   * request is quarantined only if it is in flight at a second death (src/primary/quarantine.ts).
   */
  kill(why: string): void {
    const life = this.life;
    if (life === null || !life.alive) return;
    life.killedFor = why;
    life.killedInnocent = true;
    void life.thread.terminate();
  }

  /** Marks the slot as given up: nothing will be sent to it again. Returns its backlog's slots. */
  giveUp(): number[] {
    this.state = 'failed';
    return this.takeBacklog();
  }

  /** Slots waiting in the backlog (never sent to any thread), removed from it. */
  takeBacklog(): number[] {
    const slots = this.backlog.map((b) => b.readUInt32LE(ReqOffset.SLOT));
    this.backlog.length = 0;
    return slots;
  }

  /** The thread died and its requests were answered for it: count them as answered. */
  settleCounts(): void {
    this.answered = this.sent - this.backlog.length;
  }

  /**
   * Takes out of the backlog the keyed requests (and batch elements) of these partitions of `ns`,
   * never sent to any thread, and returns their slots. A partition moving off a thread that is not
   * up must not leave them for its next thread, which would apply them on a copy it no longer
   * masters, after writes its new master acknowledged (src/primary/moves.ts).
   */
  takeBacklogOf(ns: number, partitions: Uint8Array): number[] {
    const slots: number[] = [];
    let kept = 0;
    for (const msg of this.backlog) {
      if (isKeyed(msg[ReqOffset.OP]) && msg[ReqOffset.NS] === ns && partitions[partitionOf(msg, ReqOffset.DIGEST)] === 1) {
        slots.push(msg.readUInt32LE(ReqOffset.SLOT));
      } else {
        this.backlog[kept++] = msg;
      }
    }
    this.backlog.length = kept;
    // Answered (refused) for it, as settleCounts counts a dead thread's requests.
    this.answered += slots.length;
    return slots;
  }

  /** Slots waiting in the backlog, left in place. */
  backlogSlots(): Set<number> {
    return new Set(this.backlog.map((b) => b.readUInt32LE(ReqOffset.SLOT)));
  }

  /**
   * Writes one request: the 32-byte header from the arguments (for SCAN, `digest` holds the scan
   * fields) and the body bytes. Returns false when both the ring and the backlog are full.
   */
  send(slot: number, op: number, nsIndex: number, flags: number, setId: number, digest: Uint8Array, body: Uint8Array, bodyStart: number, bodyEnd: number): boolean {
    const length = REQ_HEADER_BYTES + (bodyEnd - bodyStart);
    const life = this.life;
    if (this.backlog.length === 0 && this.state === 'up' && life !== null) {
      const at = life.requests.reserve(length);
      if (at >= 0) {
        this.sent++;
        writeHeader(life.requests.view, life.requests.bytes, at, slot, op, nsIndex, flags, setId, digest);
        life.requests.bytes.set(body.subarray(bodyStart, bodyEnd), at + REQ_HEADER_BYTES);
        return true;
      }
    }
    if (this.backlog.length >= WORKER_BACKLOG_MAX) return false;
    const copy = Buffer.allocUnsafe(length);
    writeHeader(new DataView(copy.buffer, copy.byteOffset, copy.length), copy, 0, slot, op, nsIndex, flags, setId, digest);
    copy.set(body.subarray(bodyStart, bodyEnd), REQ_HEADER_BYTES);
    this.backlog.push(copy);
    this.sent++;
    return true;
  }

  /** Publishes what was written and wakes the worker if it sleeps. */
  commit(): void {
    if (this.state === 'up') this.life?.requests.commit();
  }

  private drainBacklog(): void {
    const life = this.life;
    if (life === null || this.state !== 'up') return;
    let moved = 0;
    while (moved < this.backlog.length) {
      const msg = this.backlog[moved];
      const at = life.requests.reserve(msg.length);
      if (at < 0) break;
      life.requests.bytes.set(msg, at);
      moved++;
    }
    if (moved > 0) {
      this.backlog.splice(0, moved);
      life.requests.commit();
    }
  }

  /** Drains all responses the current thread has published. Returns how many. */
  pump(): number {
    const life = this.life;
    if (life === null) return 0;
    const ring = life.responses;
    let count = 0;
    let acked = false;
    for (let at = ring.next(); at >= 0; at = ring.next()) {
      const slot = ring.view.getUint32(at, true);
      if (slot === ACK_SLOT) {
        acked = true;
        continue;
      }
      this.answered++;
      this.events.onResponse(slot, ring.view.getInt32(at + 4, true), ring.bytes, at + RES_HEADER_BYTES, at + ring.length);
      count++;
    }
    if (acked) this.events.onAck(this);
    if (count > 0 || acked) ring.release();
    if (this.backlog.length > 0) this.drainBacklog();
    return count;
  }

  private async pumpLoop(life: Incarnation): Promise<void> {
    while (life.alive && this.life === life) {
      if (this.pump() > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      const wait = life.responses.waitAsync(this.backlog.length > 0 ? 1 : 100);
      if (wait !== null) await wait;
    }
  }

  /**
   * Reads what the thread's endpoint forwards, as the pump reads its responses: drains, lets the
   * event loop turn, and sleeps on the pipe when it is empty (the endpoint's publish wakes it).
   */
  private async forwardLoop(life: Incarnation): Promise<void> {
    const handle: PipeHandler = (kind, a, b, c, d, bytes, start, end) => this.events.onForwarded(this, kind, a, b, c, d, bytes, start, end);
    while (life.alive && this.life === life) {
      let count: number;
      try {
        count = life.forwards.drain(handle);
      } catch (err) {
        // A torn or corrupt pipe: the thread that wrote it is not to be trusted with clients.
        this.events.log.error(`worker ${this.index}: its forward pipe is corrupt (${(err as Error).message}); restarting it`, { worker: this.index });
        if (this.life === life && life.alive) this.kill('corrupt forward pipe');
        return;
      }
      if (count > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      const wait = life.forwards.waitAsync(FORWARD_WAIT_MS);
      if (wait !== null) await wait;
    }
  }

  /** Stops the thread for good (node shutdown): it finishes its batch and exits. */
  /**
   * Stops the thread; true when it was up and stopped cleanly (ended its loop and closed every log
   * without error), false when it was down, failed, or had to be terminated.
   */
  async stop(): Promise<boolean> {
    const life = this.life;
    const wasUp = this.state === 'up';
    this.state = 'stopped';
    if (life === null || !life.alive) return false;
    life.thread.postMessage({ type: 'stop' });
    life.requests.wake();
    const exited = new Promise<void>((resolve) => life.thread.once('exit', () => resolve()));
    const timer = setTimeout(() => void life.thread.terminate(), 2000);
    await exited;
    clearTimeout(timer);
    life.responses.wake();
    return wasUp && this.stoppedClean;
  }
}

function writeHeader(view: DataView, bytes: Uint8Array, at: number, slot: number, op: number, nsIndex: number, flags: number, setId: number, digest: Uint8Array): void {
  view.setUint32(at + ReqOffset.SLOT, slot, true);
  bytes[at + ReqOffset.OP] = op;
  bytes[at + ReqOffset.NS] = nsIndex;
  bytes[at + ReqOffset.FLAGS] = flags;
  bytes[at + 7] = 0;
  view.setUint16(at + ReqOffset.SET_ID, setId, true);
  view.setUint16(at + 10, 0, true);
  bytes.set(digest, at + ReqOffset.DIGEST);
}

/** A request of one key (batch elements are sent as GET or EXISTS): its digest names its partition. */
function isKeyed(op: number): boolean {
  return op === Op.GET || op === Op.EXISTS || op === Op.PUT || op === Op.REMOVE || op === Op.TOUCH || op === Op.OPERATE;
}
