// The background job pool (piscina). Jobs read worker memory directly from SharedArrayBuffers,
// so they take CPU from no request path but the one they share a core with: one thread, started
// on demand and stopped when idle.

import * as path from 'node:path';
import { Piscina } from 'piscina';
import type { VerifyInput, VerifyReport } from './verify';

const JOB_THREADS_MAX = 1;
const JOB_QUEUE_MAX = 64;
const JOB_IDLE_TIMEOUT_MS = 30_000;

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

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
