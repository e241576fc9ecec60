// Watches the workers and brings failed ones back. A worker is failed when its thread exits or
// errors, when its heartbeat (a time it writes to shared memory on every loop) goes stale, or
// when its heap nears its limit. A failed worker is restarted after a short, growing delay, and
// the new thread adopts the old one's stores from shared memory. A worker that fails too often
// within a window is given up on, loudly, and tried again after a longer back-off
// (`giveUpRetryMs`, doubling with each give-up in a row): a crash loop must never be an outage
// for good. An operator can restart any worker at once (`aerie worker restart N`).
//
// A crash loop is one episode in the log: from its first give-up until the worker has stayed up a
// whole crash-loop window, its failures are logged at debug only, and the give-ups and the
// episode's end carry the count (docs/operations.md, Logs).

import { WORKER_RESTART_TIMEOUT_MS } from '../constants';
import type { NodeConfig } from '../config';
import { AerieError, Status } from '../errors';
import type { NodeLog } from '../log';
import { type StatsBlock, WorkerStat } from '../shm/stats';
import type { WorkerHandle } from './worker-handle';

export interface SupervisorHooks {
  /** Answer what the dead thread held (its backlog stays for the next thread). */
  onWorkerDown(h: WorkerHandle): void;
  /** The worker will not be restarted before its back-off: answer its backlog and refuse its partitions. */
  onWorkerFailed(h: WorkerHandle): void;
  /** Just before a new thread starts in the slot. */
  beforeRestart?(h: WorkerHandle): void;
  /**
   * The thread died applying this request message (not stopped by an operator); `blamed`: the
   * death lies with the request (see WorkerHandle.kill).
   */
  onDiedApplying?(h: WorkerHandle, message: Buffer, blamed: boolean): void;
  log: NodeLog;
}

/** A crash loop under way: from its first give-up until the worker stays up a window. */
interface CrashLoop {
  startedMs: number;
  failures: number;
  giveUps: number;
}

/** What `aerie worker restart` answers. */
export interface RestartReport {
  worker: number;
  state: string;
  restarts: number;
  elapsedMs: number;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

export class Supervisor {
  /** Failure times per worker index, pruned to the crash-loop window. */
  private readonly failures = new Map<number, number[]>();
  /** Give-ups in a row per worker (the back-off doubles with each), until it stays up a window. */
  private readonly giveUps = new Map<number, number>();
  /** When each worker was last ready. */
  private readonly readyAtMs = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  /** The restart due for each worker (after a failure, or a give-up's back-off). */
  private readonly pendingRestarts = new Map<number, NodeJS.Timeout>();
  /** Workers an operator asked to restart: their exit is not a failure. */
  private readonly requested = new Set<number>();
  /** Operators waiting for a worker to be up. */
  private readonly waiters = new Map<number, Waiter[]>();
  /** Crash loops under way, per worker. */
  private readonly loops = new Map<number, CrashLoop>();
  private stopped = false;

  constructor(
    private readonly workers: WorkerHandle[],
    private readonly stats: StatsBlock[],
    private readonly config: NodeConfig,
    private readonly hooks: SupervisorHooks,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), this.config.supervisor.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    for (const t of this.pendingRestarts.values()) clearTimeout(t);
    this.pendingRestarts.clear();
    for (const [index, list] of this.waiters) for (const w of list) w.reject(new AerieError(Status.PARTITION_UNAVAILABLE, `worker ${index}: the node is stopping`));
    this.waiters.clear();
  }

  /** Heartbeat and heap checks for every worker that is up. */
  private check(): void {
    const now = Date.now();
    const sv = this.config.supervisor;
    const heapLimitBytes = this.config.workers.heapMbMax * 1024 * 1024;
    for (const h of this.workers) {
      if (h.state !== 'up') continue;
      this.endLoopIfSteady(h, now);
      const st = this.stats[h.index];
      const beat = st.get(WorkerStat.HEARTBEAT_MS);
      const heapBytes = st.get(WorkerStat.HEAP_USED_BYTES);
      // The heap first: a thread collecting garbage near its limit may miss its heartbeat too.
      if (heapBytes > (heapLimitBytes * sv.heapRestartPct) / 100) {
        h.kill(`out of memory: heap at ${Math.round(heapBytes / 1048576)} MiB of ${this.config.workers.heapMbMax} (heapRestartPct ${sv.heapRestartPct})`);
      } else if (beat > 0 && now - beat > sv.heartbeatTimeoutMs) {
        h.kill(`hung: no heartbeat for ${now - beat} ms (heap ${Math.round(heapBytes / 1048576)} MiB of ${this.config.workers.heapMbMax} when last reported)`);
      } else if (sv.lagRestartMs > 0 && st.get(WorkerStat.EVENT_LOOP_LAG_MS) > sv.lagRestartMs) {
        h.kill(`event loop blocked for ${st.get(WorkerStat.EVENT_LOOP_LAG_MS)} ms (lagRestartMs ${sv.lagRestartMs})`);
      }
    }
  }

  /** A worker's thread is ready: operators waiting for it are answered. */
  onReady(h: WorkerHandle): void {
    this.readyAtMs.set(h.index, Date.now());
    const list = this.waiters.get(h.index);
    this.waiters.delete(h.index);
    for (const w of list ?? []) w.resolve();
  }

  /** A crash loop ends once its worker has stayed up a whole window: one line with its count. */
  private endLoopIfSteady(h: WorkerHandle, now: number): void {
    const loop = this.loops.get(h.index);
    if (loop === undefined || now - (this.readyAtMs.get(h.index) ?? now) < this.config.supervisor.crashLoopWindowMs) return;
    this.loops.delete(h.index);
    this.hooks.log.event('warn', 'crash-loop-end', `worker ${h.index}: crash loop over after ${loop.failures} failures and ${loop.giveUps} give-ups`, {
      worker: h.index,
      count: loop.failures,
      giveUps: loop.giveUps,
      durationMs: now - loop.startedMs,
    });
  }

  /** A worker's thread died: answer what it held, then restart it or give up on it for a while. */
  onExit(h: WorkerHandle, why: string): void {
    h.state = 'down';
    h.lastFailure = why;
    h.lastDownAtMs = Date.now();
    const requested = this.requested.has(h.index);
    const loop = this.loops.get(h.index);
    if (loop !== undefined && !requested) loop.failures++;
    // In a crash loop each failure is shown at debug only: the loop's lines count them.
    const level = requested ? 'info' : loop !== undefined ? 'debug' : 'error';
    this.hooks.log.event(level, 'worker-down', `worker ${h.index} ${requested ? 'stopped' : 'failed'} (${why})`, { worker: h.index, reason: why, requested, restarts: h.restarts });
    if (h.diedApplying !== null && !this.requested.has(h.index)) this.hooks.onDiedApplying?.(h, h.diedApplying, h.diedBlamingRequest);
    this.hooks.onWorkerDown(h);
    if (this.stopped) return;
    if (this.requested.delete(h.index)) {
      // An operator's restart is not a failure: no back-off, nothing counted.
      this.restartAfter(h, 0);
      return;
    }
    const sv = this.config.supervisor;
    const now = Date.now();
    if (now - (this.readyAtMs.get(h.index) ?? 0) >= sv.crashLoopWindowMs) this.giveUps.delete(h.index);
    const recent = (this.failures.get(h.index) ?? []).filter((t) => now - t < sv.crashLoopWindowMs);
    recent.push(now);
    this.failures.set(h.index, recent);
    if (recent.length >= sv.crashLoopMax) {
      this.giveUp(h, recent.length);
      return;
    }
    this.restartAfter(h, Math.min(sv.restartDelayMsMax, sv.restartDelayMsMin * 2 ** (recent.length - 1)));
  }

  /** Too many failures: no restart before the back-off (if any); the node says what still serves. */
  private giveUp(h: WorkerHandle, failures: number): void {
    const sv = this.config.supervisor;
    const count = (this.giveUps.get(h.index) ?? 0) + 1;
    this.giveUps.set(h.index, count);
    const retryMs = sv.giveUpRetryMs === 0 ? 0 : Math.min(sv.giveUpRetryMsMax, sv.giveUpRetryMs * 2 ** (count - 1));
    h.giveUp();
    const retry = retryMs === 0 ? 'not retried until `aerie worker restart`' : `retried in ${retryMs} ms`;
    let loop = this.loops.get(h.index);
    if (loop === undefined) this.loops.set(h.index, (loop = { startedMs: Date.now(), failures, giveUps: 0 }));
    loop.giveUps++;
    this.hooks.log.event('error', 'worker-given-up', `worker ${h.index} failed ${failures} times within ${sv.crashLoopWindowMs} ms: given up on (${retry})`, {
      worker: h.index,
      count: loop.failures,
      giveUps: loop.giveUps,
      windowMs: sv.crashLoopWindowMs,
      retryMs,
      reason: h.lastFailure,
      durationMs: Date.now() - loop.startedMs,
    });
    this.hooks.onWorkerFailed(h);
    for (const w of this.waiters.get(h.index) ?? []) w.reject(new AerieError(Status.PARTITION_UNAVAILABLE, `worker ${h.index} was given up on: ${h.lastFailure}`));
    this.waiters.delete(h.index);
    if (retryMs > 0) this.restartAfter(h, retryMs);
  }

  private restartAfter(h: WorkerHandle, delayMs: number): void {
    const previous = this.pendingRestarts.get(h.index);
    if (previous !== undefined) clearTimeout(previous);
    const timer = setTimeout(() => {
      this.pendingRestarts.delete(h.index);
      if (!this.stopped) this.restart(h);
    }, delayMs);
    this.pendingRestarts.set(h.index, timer);
  }

  private restart(h: WorkerHandle): void {
    h.restarts++;
    // The new thread adopts the stores from shared memory: no acknowledged write is lost. If
    // the last one died taking them over, file namespaces are rebuilt from disk instead.
    const fromDisk = h.adoptionFailed;
    if (fromDisk) this.hooks.log.warn(`worker ${h.index} died adopting its stores: rebuilding its file namespaces from their snapshot and log, and copying its replicated ones`, { worker: h.index });
    this.hooks.beforeRestart?.(h);
    h.start(true, fromDisk).catch(() => undefined);
  }

  /**
   * An operator's restart: a worker that is up is stopped and started again; one given up on, or
   * waiting for its restart, is started now (its failure count starts afresh). Resolves once the
   * worker is up; rejects with PARTITION_UNAVAILABLE if it is given up on again first, TIMEOUT
   * after WORKER_RESTART_TIMEOUT_MS.
   */
  restartNow(index: number): Promise<RestartReport> {
    const h = this.workers[index];
    if (h === undefined) return Promise.reject(new AerieError(Status.PARAMETER, `worker must be 0..${this.workers.length - 1}`));
    if (this.stopped) return Promise.reject(new AerieError(Status.PARTITION_UNAVAILABLE, 'the node is stopping'));
    const startedMs = Date.now();
    const up = new Promise<void>((resolve, reject) => {
      const list = this.waiters.get(index) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(index, list);
    });
    this.failures.delete(index);
    this.giveUps.delete(index);
    this.loops.delete(index);
    if (h.state === 'up') {
      this.requested.add(index);
      h.kill('restart requested by an operator');
    } else if (h.state === 'failed' || h.state === 'down') {
      this.hooks.log.info(`worker ${index}: restart requested by an operator (was ${h.state})`, { worker: index, state: h.state });
      const pending = this.pendingRestarts.get(index);
      if (pending !== undefined) clearTimeout(pending);
      this.pendingRestarts.delete(index);
      this.restart(h);
    }
    // 'starting': the thread on its way up answers.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AerieError(Status.TIMEOUT, `worker ${index} was not up within ${WORKER_RESTART_TIMEOUT_MS} ms`, true)), WORKER_RESTART_TIMEOUT_MS);
    });
    return Promise.race([up, timeout])
      .then(() => ({ worker: index, state: h.state, restarts: h.restarts, elapsedMs: Date.now() - startedMs }))
      .finally(() => clearTimeout(timer));
  }
}
