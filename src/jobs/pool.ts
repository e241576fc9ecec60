// The background job pool (piscina). Jobs read worker memory directly from SharedArrayBuffers,
// so they take CPU from no request path but the one they share a core with: one thread, started
// on demand and stopped when idle.

import { JOB_IDLE_TIMEOUT_MS, JOB_QUEUE_MAX, JOB_THREADS_MAX } from '../constants';
import * as path from 'node:path';
import { Piscina } from 'piscina';
import type { CompactionInput, CompactionReport } from './compaction';
import type { VerifyInput, VerifyReport } from './verify';
import type { BuildStoreInput, WritePartInput, buildStore } from '../snapshot/parts';
import type { CollectInput, CollectedVersion } from './repair';

export class JobPool {
  private readonly pool = new Piscina({
    filename: path.join(__dirname, 'tasks.js'),
    minThreads: 0,
    maxThreads: JOB_THREADS_MAX,
    maxQueue: JOB_QUEUE_MAX,
    idleTimeout: JOB_IDLE_TIMEOUT_MS,
  });

  verify(input: VerifyInput): Promise<VerifyReport> {
    return this.pool.run(input, { name: 'verify' }) as Promise<VerifyReport>;
  }

  snapshotWrite(input: WritePartInput): Promise<{ records: number; bytes: number }> {
    return this.pool.run(input, { name: 'snapshotWrite' }) as Promise<{ records: number; bytes: number }>;
  }

  snapshotBuild(input: BuildStoreInput): Promise<ReturnType<typeof buildStore>> {
    return this.pool.run(input, { name: 'snapshotBuild' }) as Promise<ReturnType<typeof buildStore>>;
  }

  /** Compacts one worker's log of one namespace; resolves with a report, failures included. */
  compact(input: CompactionInput): Promise<CompactionReport> {
    return this.pool.run(input, { name: 'compact' }) as Promise<CompactionReport>;
  }

  repairCollect(input: CollectInput): Promise<CollectedVersion[]> {
    return this.pool.run(input, { name: 'repairCollect' }) as Promise<CollectedVersion[]>;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
