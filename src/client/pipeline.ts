// Request tracking: the queue of calls not yet sent, the table of calls in flight by id, packing
// of calls into frames, per-call deadlines, and what happens to each call when its connection is
// lost. It knows nothing of sockets: a Transport is anything with send(frame), so tests drive it
// with a fake one and hand-made response frames. A client routing by partition has one pipeline
// per connection (the front and each worker endpoint); calls left on a pipeline whose connection
// is gone move to another (handOver), and one QueueCount bounds what they all queue.

import { AerieError, Status } from '../errors';
import { Op, PUSH_ID, type OpCode } from '../protocol/ops';
import { decodeResponses, encodeFrame, FrameBuilder } from './codec';
import { lossError, serverError } from './outcome';
import { progressRequestOf, tellProgress, type ProgressCallback } from './progress';

export interface Transport {
  send(frame: Uint8Array): void;
}

export interface RequestSpec {
  op: OpCode;
  /** The msgpack-encoded body (codec.encodeBody). */
  body: Uint8Array;
  /** Writes are never re-sent; once sent, losing their answer leaves them in doubt. */
  write: boolean;
  /** Total time from the call to its answer, including time queued and re-sends. */
  timeoutMs: number;
  /** Re-sends allowed after a lost connection (reads only). */
  maxRetries: number;
  /** A result code other than OK that answers the call instead of failing it (KEY_NOT_FOUND for exists). */
  acceptCode?: number;
  /** Told the progress pushes naming this call while it is in flight (the body asked with `progress: true`). */
  onProgress?: ProgressCallback;
}

export interface Reply {
  code: number;
  body: unknown;
}

export interface PipelineLimits {
  /** Requests sent and not yet answered, timed-out ones included (the server still holds them). */
  maxInFlight: number;
  /** Calls waiting to be sent, before new calls fail CLIENT_QUEUE_FULL. */
  maxQueued: number;
}

export interface PipelineHooks {
  /**
   * Half the in-flight slots are held by requests that timed out and were never answered: the
   * connection is stuck, and only dropping it frees them.
   */
  onStalled(): void;
  /** A message the server pushed (id PUSH_ID), e.g. {event: 'goaway'}. */
  onPush(code: number, body: unknown): void;
}

const enum CallState {
  Queued,
  Sent,
  /** A read the node refused as unavailable, waiting to be sent again. */
  Waiting,
  Done,
}

/** A read refused with PARTITION_UNAVAILABLE (a worker restarting) is sent again after this
 *  delay, doubling each time, at most UNAVAILABLE_RETRIES_MAX times within its timeout. */
export const UNAVAILABLE_RETRY_DELAY_MS = 20;
export const UNAVAILABLE_RETRIES_MAX = 7;

/** Calls queued over every pipeline of one client: `maxQueued` bounds their sum. */
export class QueueCount {
  value = 0;
}

class Call {
  state = CallState.Queued;
  id = 0;
  sendCount = 0;
  unavailableCount = 0;
  timer: ReturnType<typeof setTimeout> | null = null;
  retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    /** The pipeline the call is queued on or was sent by; it changes when the call is handed over. */
    public owner: Pipeline,
    readonly spec: RequestSpec,
    readonly resolve: (reply: Reply) => void,
    readonly reject: (error: AerieError) => void,
  ) {}
}

/** Queued calls dropped by a timeout are compacted away once they exceed both of these. */
const DEAD_QUEUE_ENTRIES_COMPACT_MIN = 1024;

export class Pipeline {
  private readonly limits: PipelineLimits;
  private readonly hooks: PipelineHooks;
  /** In flight by id; null marks a request that timed out but whose id the server may still answer. */
  private readonly inFlight = new Map<number, Call | null>();
  private abandonedCount = 0;
  /** Calls in send order; entries before queueHead are taken, Done entries are skipped. */
  private queue: Call[] = [];
  private queueHead = 0;
  private queuedCount = 0;
  private transport: Transport | null = null;
  private closed = false;
  private flushScheduled = false;
  private readonly flushTask = (): void => {
    this.flushScheduled = false;
    this.flush();
  };
  private lastId = 0;
  private readonly frame = new FrameBuilder();
  /** Set by drain() until the next attach(): the node is shutting down. */
  private draining = false;
  /** Calls the draining node refused in the frame being read, in order, to send again. */
  private refused: Call[] = [];
  /** Reads waiting out a short delay after the node said their partition was unavailable. */
  private readonly waiting = new Set<Call>();
  private readonly queuedTotal: QueueCount;

  /** `queued` is shared by the pipelines of one client, so their queues together hold at most maxQueued. */
  constructor(limits: PipelineLimits, hooks: PipelineHooks, queued: QueueCount = new QueueCount()) {
    if (!(limits.maxInFlight >= 1 && limits.maxQueued >= 0)) throw new Error('pipeline limits out of range');
    this.limits = limits;
    this.hooks = hooks;
    this.queuedTotal = queued;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get queueLength(): number {
    return this.queuedCount;
  }

  get connected(): boolean {
    return this.transport !== null;
  }

  /** Lowers or raises the in-flight cap, e.g. to the server's limit learnt from HELLO. */
  setMaxInFlight(maxInFlight: number): void {
    if (!(maxInFlight >= 1)) throw new Error('maxInFlight must be at least 1');
    this.limits.maxInFlight = maxInFlight;
  }

  request(spec: RequestSpec): Promise<Reply> {
    if (this.closed) return Promise.reject(new AerieError(Status.SERVER_NOT_AVAILABLE, 'client closed'));
    if (this.queuedTotal.value >= this.limits.maxQueued) {
      return Promise.reject(new AerieError(Status.CLIENT_QUEUE_FULL, `more than ${this.limits.maxQueued} calls queued`));
    }
    return new Promise<Reply>((resolve, reject) => {
      const call = new Call(this, spec, resolve, reject);
      call.timer = setTimeout(() => call.owner.expire(call), spec.timeoutMs);
      this.queue.push(call);
      this.addQueued(1);
      this.scheduleFlush();
    });
  }

  /** A connection is ready: send what waits. */
  attach(transport: Transport): void {
    this.transport = transport;
    this.draining = false;
    this.scheduleFlush();
  }

  /**
   * The node asked us to go away: send nothing more on this connection, but keep waiting for the
   * answers in flight, which the node sends before it closes. Returns the DRAINED request that
   * tells the node we have stopped, for the caller to send on that connection.
   */
  drain(): Uint8Array {
    this.transport = null;
    this.draining = true;
    const id = this.allocateId();
    // Nobody waits for DRAINED's answer: the slot is held like a timed-out request's until it comes.
    this.inFlight.set(id, null);
    this.abandonedCount++;
    return encodeFrame([[id, Op.DRAINED, null]]);
  }

  /** The connection is gone: fail or requeue what was in flight on it. */
  detach(): void {
    this.transport = null;
    const requeued: Call[] = [];
    for (const call of this.inFlight.values()) {
      if (call === null) continue;
      const error = lossError('disconnect', this.facts(call, true));
      if (error === null) requeued.push(call);
      else this.finishWithError(call, error);
    }
    this.inFlight.clear();
    this.abandonedCount = 0;
    this.requeueFirst(requeued);
  }

  /** Puts calls back at the head of the queue, in their order: they were called before the rest. */
  private requeueFirst(calls: Call[]): void {
    if (calls.length === 0) return;
    for (const call of calls) call.state = CallState.Queued;
    this.queue = calls.concat(this.queue.slice(this.queueHead));
    this.queueHead = 0;
    this.addQueued(calls.length);
  }

  /**
   * This pipeline's connection is gone (call detach() first): its queued calls, and the reads
   * waiting out a PARTITION_UNAVAILABLE delay, join the end of `target`'s queue, in order, with
   * their deadlines unchanged. Nothing here was in flight, so nothing becomes in doubt.
   */
  handOver(target: Pipeline): void {
    const moved: Call[] = [];
    for (let index = this.queueHead; index < this.queue.length; index++) {
      const call = this.queue[index];
      if (call.state === CallState.Queued) moved.push(call);
    }
    this.addQueued(-this.queuedCount);
    this.queue = [];
    this.queueHead = 0;
    for (const call of this.waiting) {
      if (call.retryTimer !== null) clearTimeout(call.retryTimer);
      call.retryTimer = null;
      call.state = CallState.Queued;
      moved.push(call);
    }
    this.waiting.clear();
    if (moved.length === 0) return;
    for (const call of moved) {
      call.owner = target;
      target.queue.push(call);
    }
    target.addQueued(moved.length);
    target.scheduleFlush();
  }

  /** Queued calls on this pipeline change by `delta`, and so does the client's total. */
  private addQueued(delta: number): void {
    this.queuedCount += delta;
    this.queuedTotal.value += delta;
  }

  /**
   * The client is closing: every call ends now. `lost`: because its only connection dropped
   * (no reconnection), which the errors say instead of "client closed".
   */
  close(lost = false): void {
    this.closed = true;
    this.transport = null;
    const described = lost ? 'disconnect' : 'close';
    for (const call of this.waiting) this.finishWithError(call, lossError('close', this.facts(call, false), described)!);
    this.waiting.clear();
    for (const call of this.inFlight.values()) {
      if (call !== null) this.finishWithError(call, lossError('close', this.facts(call, true), described)!);
    }
    this.inFlight.clear();
    this.abandonedCount = 0;
    for (let index = this.queueHead; index < this.queue.length; index++) {
      const call = this.queue[index];
      if (call.state === CallState.Queued) this.finishWithError(call, lossError('close', this.facts(call, false), described)!);
    }
    this.queue = [];
    this.queueHead = 0;
    this.addQueued(-this.queuedCount);
  }

  /** Dispatches a response frame. Throws AerieError(PARAMETER) if it is malformed. */
  receive(frame: Uint8Array): void {
    try {
      decodeResponses(frame, (id, code, body) => this.answer(id, code, body));
    } finally {
      this.requeueFirst(this.refused);
      this.refused = [];
    }
    if (this.queuedCount > 0) this.flush();
  }

  private answer(id: number, code: number, body: unknown): void {
    if (id === PUSH_ID) {
      const request = progressRequestOf(body);
      if (request < 0) this.hooks.onPush(code, body);
      else this.progressPushed(request, body);
      return;
    }
    const call = this.inFlight.get(id);
    if (call === undefined) return; // not ours, or from before a reconnect: nothing waits for it
    this.inFlight.delete(id);
    if (call === null) {
      this.abandonedCount--;
      return;
    }
    if (code === Status.PARTITION_UNAVAILABLE && this.draining && !call.spec.write && call.sendCount <= Math.max(1, call.spec.maxRetries)) {
      // A read refused by a node that is shutting down is sent again on the next connection.
      // A refused write is not: it definitely did not happen, and the application decides
      // whether to write again (writes are never retried behind its back).
      this.refused.push(call);
      return;
    }
    if (code === Status.PARTITION_UNAVAILABLE && !call.spec.write && !this.draining && call.unavailableCount < UNAVAILABLE_RETRIES_MAX) {
      // The partition's worker is restarting: a read is safe to send again shortly.
      call.state = CallState.Waiting;
      this.waiting.add(call);
      const delayMs = UNAVAILABLE_RETRY_DELAY_MS * 2 ** call.unavailableCount++;
      call.retryTimer = setTimeout(() => {
        call.retryTimer = null;
        const owner = call.owner;
        owner.waiting.delete(call);
        if (call.state !== CallState.Waiting || owner.closed) return;
        owner.requeueFirst([call]);
        owner.scheduleFlush();
      }, delayMs);
      return;
    }
    call.state = CallState.Done;
    if (call.timer !== null) clearTimeout(call.timer);
    if (code === Status.OK || code === call.spec.acceptCode) call.resolve({ code, body });
    else call.reject(serverError(code, body, call.spec.write));
  }

  /** A progress push goes to the call it names while that call waits for its answer; otherwise nowhere. */
  private progressPushed(request: number, body: unknown): void {
    const call = this.inFlight.get(request);
    if (call === undefined || call === null || call.state !== CallState.Sent || call.spec.onProgress === undefined) return;
    tellProgress(call.spec.onProgress, body);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.transport === null) return;
    this.flushScheduled = true;
    // A microtask runs once the code that made this call has run to its end, so every call made
    // in the same stretch of code (a loop, or the continuations one answer frame resumes, which
    // run one after another) joins one frame. It exists in every runtime, unlike setImmediate.
    queueMicrotask(this.flushTask);
  }

  /** Sends queued calls, as many as the in-flight cap allows, packed into as few frames as fit. */
  private flush(): void {
    const transport = this.transport;
    if (transport === null) return;
    while (this.queuedCount > 0 && this.inFlight.size < this.limits.maxInFlight) {
      const call = this.queue[this.queueHead++];
      if (call.state !== CallState.Queued) continue;
      this.addQueued(-1);
      if (this.frame.isFullFor(call.spec.body.length)) transport.send(this.frame.finish());
      call.id = this.allocateId();
      call.state = CallState.Sent;
      call.sendCount++;
      this.inFlight.set(call.id, call);
      this.frame.add(call.id, call.spec.op, call.spec.body);
    }
    if (this.frame.count > 0) transport.send(this.frame.finish());
    this.compactQueue();
  }

  /**
   * The next uint32 id not in flight. Id 0 is left to HELLO, which precedes every other request,
   * and PUSH_ID (2^32 - 1) to the server's pushes.
   */
  private allocateId(): number {
    // Bounded: at most maxInFlight + 1 ids are taken (DRAINED's included), so a free one is found
    // within maxInFlight + 4 steps.
    for (let step = 0; step <= this.limits.maxInFlight + 3; step++) {
      this.lastId = (this.lastId + 1) >>> 0;
      if (this.lastId !== 0 && this.lastId !== PUSH_ID && !this.inFlight.has(this.lastId)) return this.lastId;
    }
    throw new Error('pipeline: no free request id (in-flight table larger than its cap)');
  }

  private expire(call: Call): void {
    call.timer = null;
    if (call.state === CallState.Done) return;
    if (call.state === CallState.Waiting) {
      if (call.retryTimer !== null) clearTimeout(call.retryTimer);
      this.waiting.delete(call);
      call.state = CallState.Done;
      call.reject(lossError('timeout', this.facts(call, false))!);
      return;
    }
    const sent = call.state === CallState.Sent;
    if (sent) {
      // Keep the id taken until the server answers it or the connection goes: the server still
      // holds the request, and its late answer must not be mistaken for a newer call's.
      this.inFlight.set(call.id, null);
      this.abandonedCount++;
    } else {
      this.addQueued(-1);
    }
    call.state = CallState.Done;
    if (!sent) this.compactQueue();
    call.reject(lossError('timeout', this.facts(call, sent))!);
    if (sent && this.abandonedCount * 2 >= this.limits.maxInFlight) this.hooks.onStalled();
  }

  private finishWithError(call: Call, error: AerieError): void {
    call.state = CallState.Done;
    if (call.timer !== null) clearTimeout(call.timer);
    if (call.retryTimer !== null) clearTimeout(call.retryTimer);
    call.reject(error);
  }

  private facts(call: Call, sent: boolean) {
    return {
      sent,
      write: call.spec.write,
      sendCount: call.sendCount,
      maxRetries: call.spec.maxRetries,
      connected: this.transport !== null,
    };
  }

  /** Drops taken and timed-out entries once they outnumber the live ones. */
  private compactQueue(): void {
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
      return;
    }
    const deadCount = this.queue.length - this.queuedCount;
    if (deadCount < DEAD_QUEUE_ENTRIES_COMPACT_MIN || deadCount < this.queuedCount) return;
    this.queue = this.queue.slice(this.queueHead).filter((call) => call.state === CallState.Queued);
    this.queueHead = 0;
  }
}
