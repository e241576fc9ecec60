// Watches the workers and brings failed ones back. A worker is failed when its thread exits or
// errors, when its heartbeat (a time it writes to shared memory on every loop) goes stale, or
// when its heap nears its limit. A failed worker is restarted after a short, growing delay, and
// the new thread adopts the old one's stores from shared memory; a worker that fails too often
// within a window is given up on, loudly, and its partitions stay unavailable.

import type { NodeConfig } from '../config';
import { StatsBlock, WorkerStat } from '../shm/stats';
import type { WorkerHandle } from './worker-handle';

export interface SupervisorHooks {
  /** Answer what the dead thread held (its backlog stays for the next thread). */
  onWorkerDown(h: WorkerHandle): void;
  /** The worker will not be restarted: answer its backlog and refuse its partitions. */
  onWorkerFailed(h: WorkerHandle): void;
  /** Just before a new thread starts in the slot. */
  beforeRestart?(h: WorkerHandle): void;
  log(message: string): void;
}

export class Supervisor {
  /** Failure times per worker index, pruned to the crash-loop window. */
  private readonly failures = new Map<number, number[]>();
  private timer: NodeJS.Timeout | null = null;
  private readonly pendingRestarts = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly workers: WorkerHandle[],
    private readonly stats: StatsBlock[],
    private readonly config: NodeConfig,
    private readonly hooks: SupervisorHooks,
  ) {
  }

  start(): void {
    this.timer = setInterval(() => this.check(), this.config.supervisor.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    for (const t of this.pendingRestarts) clearTimeout(t);
    this.pendingRestarts.clear();
  }

  /** Heartbeat and heap checks for every worker that is up. */
  private check(): void {
    const now = Date.now();
    const sv = this.config.supervisor;
    const heapLimitBytes = this.config.workers.heapMbMax * 1024 * 1024;
    for (const h of this.workers) {
      if (h.state !== 'up') continue;
      const st = this.stats[h.index];
      const beat = st.get(WorkerStat.HEARTBEAT_MS);
      if (beat > 0 && now - beat > sv.heartbeatTimeoutMs) {
        h.kill(`hung: no heartbeat for ${now - beat} ms`);
      } else if (st.get(WorkerStat.HEAP_USED_BYTES) > (heapLimitBytes * sv.heapRestartPct) / 100) {
        h.kill(`heap at ${Math.round(st.get(WorkerStat.HEAP_USED_BYTES) / 1048576)} MiB of ${this.config.workers.heapMbMax}`);
      } else if (sv.lagRestartMs > 0 && st.get(WorkerStat.EVENT_LOOP_LAG_MS) > sv.lagRestartMs) {
        h.kill(`event loop blocked for ${st.get(WorkerStat.EVENT_LOOP_LAG_MS)} ms (lagRestartMs ${sv.lagRestartMs})`);
      }
    }
  }

  /** A worker's thread died: answer what it held, then restart it or give up on it. */
  onExit(h: WorkerHandle, why: string): void {
    h.state = 'down';
    h.lastFailure = why;
    h.lastDownAtMs = Date.now();
    this.hooks.log(`worker ${h.index} failed (${why})`);
    this.hooks.onWorkerDown(h);
    if (this.stopped) return;
    const sv = this.config.supervisor;
    const now = Date.now();
    const recent = (this.failures.get(h.index) ?? []).filter((t) => now - t < sv.crashLoopWindowMs);
    recent.push(now);
    this.failures.set(h.index, recent);
    if (recent.length >= sv.crashLoopMax) {
      this.hooks.log(`worker ${h.index} failed ${recent.length} times within ${sv.crashLoopWindowMs} ms: NOT restarting it; its partitions are unavailable`);
      h.giveUp();
      this.hooks.onWorkerFailed(h);
      return;
    }
    const delayMs = Math.min(sv.restartDelayMsMax, sv.restartDelayMsMin * 2 ** (recent.length - 1));
    const timer = setTimeout(() => {
      this.pendingRestarts.delete(timer);
      if (this.stopped) return;
      h.restarts++;
      // The new thread adopts the stores from shared memory: no acknowledged write is lost. If
      // the last one died taking them over, file namespaces are rebuilt from disk instead.
      const fromDisk = h.adoptionFailed;
      if (fromDisk) this.hooks.log(`worker ${h.index} died adopting its stores: rebuilding its file namespaces from their snapshot and log, and copying its replicated ones`);
      this.hooks.beforeRestart?.(h);
      h.start(true, fromDisk).catch(() => undefined);
    }, delayMs);
    this.pendingRestarts.add(timer);
  }
}
