// VERIFY and VERIFY with repair. Verify runs the verify job (src/jobs/verify.ts) over every live
// worker's store from the background pool. Repair then fixes what verify found, worker by worker:
//   1. the worker starts noting every digest it writes or deletes (repair-watch);
//   2. the pool reads the newest durable version of each damaged digest — the worker's part of
//      the base snapshot, then its log after it (src/jobs/repair.ts). Everything acknowledged
//      before step 1 is in the log (responses wait for the group commit);
//   3. the worker replaces each damaged record with that version, unless the record is sound now
//      or was written since step 1 (then the log may hold an older version than memory).
// A memory namespace has no durable copy: its damaged records are reported, not changed.

import type { NodeConfig } from '../config';
import { PARTITION_COUNT, REPAIR_PROBLEMS_MAX, SNAPSHOT_STEP_TIMEOUT_MS, VERIFY_PROBLEMS_LISTED_MAX } from '../constants';
import type { PartitionMap } from '../partition/map';
import { AerieError, Status } from '../errors';
import type { JobPool } from '../jobs/pool';
import type { VerifyProblem, VerifyReport } from '../jobs/verify';
import { partDirectory, readBase, snapshotDirectory } from '../snapshot/files';
import { logDirectory } from '../storage/segment-files';
import type { WorkerHandle } from './worker-handle';
import type { ProgressSink } from '../endpoint/session';
import { IndexTable } from '../shm/index-table';
import { progressTicker, type ProgressTicker } from './progress-ticker';

interface RepairOutcome {
  digest: string;
  outcome: 'repaired' | 'removed' | 'skipped' | 'unrepairable';
  detail: string;
}

export class Verifier {
  constructor(
    private readonly config: NodeConfig,
    private readonly workers: WorkerHandle[],
    private readonly jobs: JobPool,
    private readonly map: PartitionMap,
  ) {}

  /** `onProgress`: told the index entries walked, of those the indexes held at the start (docs/protocol.md, "Progress"). */
  async run(ns: string | null, repair: boolean, onProgress?: ProgressSink): Promise<Record<string, unknown>> {
    const targets = this.config.namespaces.map((n, index) => ({ name: n.name, index })).filter((n) => ns === null || n.name === ns);
    if (targets.length === 0) throw new AerieError(Status.INVALID_NAMESPACE, `namespace '${ns}' is not configured`);
    const progress = progressTicker(onProgress);
    try {
      // Each namespace() expects its jobs before its first await, so the total is whole here.
      const running = targets.map((t) => this.namespace(t.index, t.name, repair, progress));
      progress?.start();
      return { namespaces: await Promise.all(running) };
    } finally {
      progress?.stop();
    }
  }

  private async namespace(nsIndex: number, name: string, repair: boolean, progress: ProgressTicker | null): Promise<Record<string, unknown>> {
    const live = this.workers.filter((w) => w.alive && w.stores[nsIndex].indexSab !== null);
    const reports = await Promise.all(
      live.map((w) => {
        const m = w.stores[nsIndex];
        // RECORDS counts each record once, on its master; COPIES every entry (masters and replicas).
        const masters = new Uint8Array(PARTITION_COUNT);
        for (let p = 0; p < PARTITION_COUNT; p++) masters[p] = this.map.master(nsIndex, p) === w.index ? 1 : 0;
        const progressSab = progress?.expect(IndexTable.liveCountOf(m.indexSab!));
        return this.jobs.verify({ indexSab: m.indexSab!, controlSab: m.controlSab!, blocks: m.blocks, masters, progressSab });
      }),
    );
    const sum = (f: (r: VerifyReport) => number) => reports.reduce((a, r) => a + f(r), 0);
    const result: Record<string, unknown> = {
      name,
      records: sum((r) => r.records),
      copies: sum((r) => r.copies),
      checked: sum((r) => r.checked),
      changing: sum((r) => r.changing),
      problemCount: sum((r) => r.problemCount),
      problems: reports.flatMap((r) => r.problems).slice(0, VERIFY_PROBLEMS_LISTED_MAX),
      stale: reports.some((r) => r.stale),
    };
    if (!repair) return result;
    const outcomes: RepairOutcome[] = [];
    for (let i = 0; i < live.length; i++) {
      if (reports[i].problems.length > 0) outcomes.push(...(await this.repairWorker(live[i], nsIndex, reports[i].problems.slice(0, REPAIR_PROBLEMS_MAX))));
    }
    const count = (what: RepairOutcome['outcome']) => outcomes.filter((o) => o.outcome === what).length;
    result.repair = {
      repaired: count('repaired'),
      removed: count('removed'),
      skipped: count('skipped'),
      unrepairable: count('unrepairable'),
      // Problems past the listed ones were not attempted: run again.
      notAttempted: sum((r) => r.problemCount) - outcomes.length,
      outcomes: outcomes.slice(0, VERIFY_PROBLEMS_LISTED_MAX),
    };
    return result;
  }

  private async repairWorker(w: WorkerHandle, nsIndex: number, problems: VerifyProblem[]): Promise<RepairOutcome[]> {
    const config = this.config.namespaces[nsIndex];
    if (config.storage !== 'file') {
      return problems.map((p) => ({ digest: p.digest, outcome: 'unrepairable', detail: 'memory namespace: no durable copy to repair from' }));
    }
    try {
      await w.control({ type: 'repair-watch', nsIndex }, SNAPSHOT_STEP_TIMEOUT_MS);
      const base = readBase(config.dataDir, config.name);
      const digests = [...new Set(problems.flatMap((p) => (p.headerDigest === undefined ? [p.digest] : [p.digest, p.headerDigest])))];
      const versions = await this.jobs.repairCollect({
        logDirectory: logDirectory(config.dataDir, config.name, w.index),
        base: base === null ? null : { directory: partDirectory(snapshotDirectory(config.dataDir, config.name, base.snapshot), w.index), sequence: base.sequences[w.index] },
        digests,
      });
      return (await w.control({ type: 'repair-apply', nsIndex, problems, versions }, SNAPSHOT_STEP_TIMEOUT_MS)) as RepairOutcome[];
    } catch (err) {
      w.control({ type: 'repair-cancel', nsIndex }, SNAPSHOT_STEP_TIMEOUT_MS).catch(() => undefined);
      const detail = `repair failed: ${String((err as Error)?.message ?? err)}`;
      return problems.map((p) => ({ digest: p.digest, outcome: 'skipped', detail }));
    }
  }
}
