// Runs log compaction (src/jobs/compaction.ts) for every file namespace with a compaction
// interval: each namespace's worker logs one after another, one job at a time on the background
// pool, a worker that is not up skipped until the next interval. Results are kept per namespace
// for INFO and logged; a failure is logged loudly and simply retried at the next interval.
//
// Snapshot creation and restore run inside exclusive(): they swap a worker's store or release log
// segments, and a job must not judge records against a store being swapped or race a release.

import type { NodeConfig } from '../config';
import type { NodeLog } from '../log';
import { COMPACTION_DURABLE_WAIT_MS, COMPACTION_INTERVAL_MS_MIN } from '../constants';
import { failedReport, type CompactionReport } from '../jobs/compaction';
import type { JobPool } from '../jobs/pool';
import type { StatsBlock } from '../shm/stats';
import { logDirectory } from '../storage/segment-files';
import type { WorkerHandle } from './worker-handle';

/** What INFO shows per file namespace (totals since the node started). */
export interface CompactionInfo {
  intervalMs: number;
  liveRatioMax: number;
  /** Passes over the namespace's worker logs. */
  runs: number;
  lastRunAtMs: number;
  lastDurationMs: number;
  segmentsRewritten: number;
  segmentsDeleted: number;
  bytesReclaimed: number;
  recordsDropped: number;
  /** Jobs that stopped without changing anything (log failed, worker restarted, no durability in time…). */
  aborted: number;
  /** Workers passed over: not up, or a log the job may not touch (reason in lastSkip). */
  skipped: number;
  lastSkip: string | null;
  failures: number;
  lastFailure: { atMs: number; worker: number; code: number; message: string } | null;
}

export interface SchedulerDeps {
  config: NodeConfig;
  workers: ReadonlyArray<WorkerHandle>;
  stats: ReadonlyArray<StatsBlock>;
  jobs: JobPool;
  /** Each run's outcome is one `compaction` event (docs/operations.md, Logs). */
  log: NodeLog;
}

export class CompactionScheduler {
  private readonly info: (CompactionInfo | null)[];
  private readonly dueAtMs: number[];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private exclusiveCount = 0;
  private stopped = false;

  constructor(private readonly deps: SchedulerDeps) {
    const now = Date.now();
    this.info = deps.config.namespaces.map((ns) =>
      ns.storage === 'file' && ns.compactionIntervalMs > 0
        ? {
            intervalMs: ns.compactionIntervalMs,
            liveRatioMax: ns.compactionLiveRatioMax,
            runs: 0,
            lastRunAtMs: 0,
            lastDurationMs: 0,
            segmentsRewritten: 0,
            segmentsDeleted: 0,
            bytesReclaimed: 0,
            recordsDropped: 0,
            aborted: 0,
            skipped: 0,
            lastSkip: null,
            failures: 0,
            lastFailure: null,
          }
        : null,
    );
    this.dueAtMs = deps.config.namespaces.map((ns) => now + ns.compactionIntervalMs);
  }

  start(): void {
    this.schedule();
  }

  /** Stops scheduling; a job under way ends when the pool is closed (a crash point it survives). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The namespace's compaction figures, or null when it is not compacted. */
  infoFor(nsIndex: number): CompactionInfo | null {
    const info = this.info[nsIndex];
    return info === null ? null : { ...info, lastFailure: info.lastFailure === null ? null : { ...info.lastFailure } };
  }

  /** Runs `fn` with no compaction job under way or starting. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.exclusiveCount++;
    try {
      while (this.running !== null) await this.running;
      return await fn();
    } finally {
      this.exclusiveCount--;
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    const next = Math.min(...this.dueAtMs.filter((_, i) => this.info[i] !== null));
    if (!Number.isFinite(next)) return;
    const delayMs = Math.max(COMPACTION_INTERVAL_MS_MIN / 10, next - Date.now());
    this.timer = setTimeout(() => this.tick(), delayMs);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped) return;
    const now = Date.now();
    const due = this.dueAtMs.findIndex((at, i) => this.info[i] !== null && at <= now);
    if (due < 0 || this.running !== null || this.exclusiveCount > 0) {
      this.schedule();
      return;
    }
    this.running = this.runNamespace(due).finally(() => {
      this.running = null;
      this.schedule();
    });
  }

  /** One pass over the namespace's worker logs, one job at a time. Never rejects. */
  private async runNamespace(nsIndex: number): Promise<void> {
    const { config, workers, stats, jobs } = this.deps;
    const ns = config.namespaces[nsIndex];
    const info = this.info[nsIndex]!;
    const started = Date.now();
    this.dueAtMs[nsIndex] = started + ns.compactionIntervalMs;
    for (const w of workers) {
      if (this.stopped || this.exclusiveCount > 0) break;
      const memory = w.stores[nsIndex];
      const directory = logDirectory(ns.dataDir, ns.name, w.index);
      if (!w.alive || memory.indexSab === null || memory.controlSab === null) {
        this.skip(info, `worker ${w.index} is ${w.state}`);
        continue;
      }
      let report: CompactionReport;
      try {
        report = await jobs.compact({
          directory,
          indexSab: memory.indexSab,
          controlSab: memory.controlSab,
          blocks: memory.blocks,
          statsSab: stats[w.index].sab,
          namespaceCount: config.namespaces.length,
          nsIndex,
          liveRatioMax: ns.compactionLiveRatioMax,
          segmentBytes: ns.segmentBytes,
          durableWaitMsMax: COMPACTION_DURABLE_WAIT_MS + (ns.commit === 'flush-ms' ? ns.flushMs : 0),
        });
      } catch (err) {
        if (this.stopped) return; // the pool was closed under the job
        report = failedReport(directory, err);
      }
      this.record(info, ns.name, w.index, report);
    }
    info.runs++;
    info.lastRunAtMs = started;
    info.lastDurationMs = Date.now() - started;
  }

  private record(info: CompactionInfo, ns: string, worker: number, r: CompactionReport): void {
    const where = `compaction of namespace ${ns} worker ${worker}`;
    const fields = {
      worker,
      namespace: ns,
      outcome: r.outcome,
      records: r.recordsDropped,
      segments: r.segmentsRewritten + r.segmentsDeleted,
      bytesReclaimed: r.bytesReclaimed,
      durationMs: Math.round(r.elapsedMs),
      reason: r.reason,
      code: r.error?.code ?? null,
    };
    const { log } = this.deps;
    switch (r.outcome) {
      case 'compacted':
        info.segmentsRewritten += r.segmentsRewritten;
        info.segmentsDeleted += r.segmentsDeleted;
        info.bytesReclaimed += r.bytesReclaimed;
        info.recordsDropped += r.recordsDropped;
        log.event(
          'info',
          'compaction',
          `${where}: ${r.segmentsRewritten + r.segmentsDeleted} of ${r.segmentsScanned} sealed segments rewritten or removed, ` +
            `${r.bytesReclaimed} of ${r.logBytesBefore} bytes reclaimed, ${r.recordsDropped} records dropped, in ${Math.round(r.elapsedMs)} ms`,
          fields,
        );
        return;
      case 'nothing-to-do':
        return;
      case 'skipped':
        this.skip(info, `worker ${worker}: ${r.reason}`);
        if (r.reason === 'store-ahead-of-log')
          log.event('error', 'compaction', `${where} skipped: the worker adopted a store its log may lack writes of; compaction resumes after a cold start`, fields);
        return;
      case 'aborted':
        info.aborted++;
        log.event('info', 'compaction', `${where} stopped without changing anything: ${r.reason}; retrying at the next interval`, fields);
        return;
      case 'failed':
        info.failures++;
        info.lastFailure = { atMs: Date.now(), worker, code: r.error?.code ?? 0, message: r.error?.message ?? 'unknown' };
        log.event('error', 'compaction', `COMPACTION FAILED: ${where}: ${r.error?.message}; retrying at the next interval`, { ...fields, reason: r.error?.message ?? null });
        return;
    }
  }

  private skip(info: CompactionInfo, why: string): void {
    info.skipped++;
    info.lastSkip = why;
  }
}
