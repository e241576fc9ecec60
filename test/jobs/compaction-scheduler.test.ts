// Proves the primary's compaction scheduler runs one job at a time over each file namespace's
// workers at its interval, skips a worker that is not up, records results and failures for INFO
// (a failing or throwing job never stops it; the next interval retries), lets exclusive() work run
// only between jobs, and that the namespace settings are validated like the others.
import t from 'tap';
import { parseConfig } from '../../src/config';
import { Status } from '../../src/errors';
import type { CompactionInput, CompactionReport } from '../../src/jobs/compaction';
import type { JobPool } from '../../src/jobs/pool';
import { createLog, type LoggedEvent } from '../../src/log';
import { CompactionScheduler } from '../../src/primary/compaction-scheduler';
import type { WorkerHandle } from '../../src/primary/worker-handle';
import { StatsBlock } from '../../src/shm/stats';
import { sleep } from '../helpers/node';
import { waitFor } from '../helpers/wait';

/** A log that writes nothing; its events still reach a listener. */
const SILENT_LOG = { level: 'silent' as const, file: null, fd: 1, format: 'json' as const };

function report(input: CompactionInput, outcome: CompactionReport['outcome'], bytesReclaimed = 0): CompactionReport {
  return {
    directory: input.directory,
    outcome,
    reason: null,
    error: null,
    segmentsScanned: 3,
    segmentsRewritten: 1,
    segmentsDeleted: 2,
    recordsKept: 1,
    recordsDropped: 9,
    logBytesBefore: 100,
    bytesReclaimed,
    durableWaitMs: 0,
    elapsedMs: 1,
  };
}

function fakeWorker(index: number, alive: boolean): WorkerHandle {
  const sab = new SharedArrayBuffer(64);
  return { index, alive, state: alive ? 'up' : 'down', stores: [{ indexSab: sab, controlSab: sab, arenaStatsSab: sab, blocks: [] }] } as unknown as WorkerHandle;
}

t.test('one job at a time, down workers skipped, failures recorded and retried', async (t) => {
  const config = parseConfig({ namespaces: [{ name: 'ns', storage: 'file', dataDir: '/tmp/aerie-scheduler', compactionIntervalMs: 100 }] });
  let running = 0;
  let most = 0;
  const calls: number[] = [];
  const jobs = {
    compact: async (input: CompactionInput): Promise<CompactionReport> => {
      running++;
      most = Math.max(most, running);
      calls.push(calls.length);
      await sleep(20);
      running--;
      if (calls.length === 1) throw new Error('pool thread died');
      return calls.length === 2 ? { ...report(input, 'failed'), error: { code: Status.SERVER_ERROR, message: 'disk', failure: null } } : report(input, 'compacted', 1000);
    },
  } as unknown as JobPool;
  const events: LoggedEvent[] = [];
  const scheduler = new CompactionScheduler({
    config,
    workers: [fakeWorker(0, true), fakeWorker(1, false), fakeWorker(2, true)],
    stats: [0, 1, 2].map(() => StatsBlock.create(1)),
    jobs,
    log: createLog(SILENT_LOG, 'primary', (e) => events.push(e)),
  });
  scheduler.start();
  t.teardown(() => scheduler.stop());
  await waitFor(() => (scheduler.infoFor(0)?.runs ?? 0) >= 3, { what: 'three compaction runs', timeoutMs: 10_000, intervalMs: 20 });
  scheduler.stop();
  const info = scheduler.infoFor(0)!;
  t.ok(info.runs >= 3, `${info.runs} runs`);
  t.equal(most, 1, 'never two jobs at once');
  t.equal(info.failures, 2, 'a throwing job and a failed report are both failures');
  t.same([info.lastFailure?.worker, info.lastFailure?.code], [2, Status.SERVER_ERROR]);
  const failed = events.filter((e) => e.event === 'compaction' && e.fields.outcome === 'failed');
  t.ok(failed.length >= 2 && failed.every((e) => e.level === 'error'), 'failures are logged loudly');
  t.ok(
    failed.some((e) => e.fields.code === Status.SERVER_ERROR && e.fields.worker === 2),
    'with the worker and the code',
  );
  t.ok(info.skipped >= 3 && info.lastSkip === 'worker 1 is down', 'the down worker is skipped every run');
  t.ok(info.bytesReclaimed >= 1000 && info.segmentsDeleted >= 2, 'later runs succeed');
});

t.test('exclusive work waits for the job under way and holds the next one', async (t) => {
  const config = parseConfig({ namespaces: [{ name: 'ns', storage: 'file', dataDir: '/tmp/aerie-scheduler', compactionIntervalMs: 100 }] });
  const events: string[] = [];
  const jobs = {
    compact: async (input: CompactionInput) => {
      events.push('job start');
      await sleep(150);
      events.push('job end');
      return report(input, 'nothing-to-do');
    },
  } as unknown as JobPool;
  const scheduler = new CompactionScheduler({ config, workers: [fakeWorker(0, true)], stats: [StatsBlock.create(1)], jobs, log: createLog(SILENT_LOG, 'primary') });
  scheduler.start();
  t.teardown(() => scheduler.stop());
  await waitFor(() => events.includes('job start'), { what: 'the first job to start', intervalMs: 5 });
  await scheduler.exclusive(async () => {
    events.push('exclusive start');
    await sleep(300);
    events.push('exclusive end');
  });
  t.same(events.slice(0, 4), ['job start', 'job end', 'exclusive start', 'exclusive end']);
});

t.test('namespace settings are validated', async (t) => {
  const ns = (o: Record<string, unknown>) => parseConfig({ namespaces: [{ name: 'ns', ...o }] }).namespaces[0];
  t.same([ns({}).compactionIntervalMs, ns({}).compactionLiveRatioMax, ns({}).segmentBytes], [60_000, 0.5, 64 * 1024 * 1024]);
  t.equal(ns({ compactionIntervalMs: 0 }).compactionIntervalMs, 0, '0 turns it off');
  for (const bad of [
    { compactionIntervalMs: 50 },
    { compactionLiveRatioMax: 0 },
    { compactionLiveRatioMax: 1.5 },
    { compactionLiveRatioMax: '0.5' },
    { segmentBytes: 4100 },
    { segmentBytes: 8192, recordBytesMax: 16384 },
    { segmentBytes: 1024 },
  ]) {
    t.equal((t.throws(() => ns(bad)) as unknown as { code: number }).code, Status.PARAMETER, JSON.stringify(bad));
  }
  t.same(
    new CompactionScheduler({ config: parseConfig({}), workers: [], stats: [], jobs: {} as JobPool, log: createLog(SILENT_LOG, 'primary') }).infoFor(0),
    null,
    'a memory namespace has no compaction',
  );
});
