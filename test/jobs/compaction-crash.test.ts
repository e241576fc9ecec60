// Proves a compaction job can crash after any of its file steps (temporary file written, synced,
// renamed over the run's last segment, directory synced, each input unlinked and the directory
// synced) and recovery still reads the log without corruption or a torn tail, replays exactly the
// state the log gave before the job, resumes a writer, and a later job finishes the work (removing
// what the crashed one left). The states a machine crash could leave by losing an unsynced rename
// or unlink are the states of an earlier step, so they are covered too.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { compactLog } from '../../src/jobs/compaction';
import type { CompactionStep } from '../../src/storage/compaction-files';
import { recoverLog } from '../../src/storage/recovery';
import { SegmentWriter } from '../../src/storage/segment-writer';
import { Random, testSeed } from '../helpers/values';
import { WorkerStandIn, copyDirectory, firstDifference, makeDataDir, randomWorkload, replayState } from './helpers/log-harness';

class SimulatedCrash extends Error {}

t.test('a crash after any step of a job replays to the same state', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED replays it)`);
  const random = new Random(seed);
  const dataDir = makeDataDir(t, 'crash');
  const w = new WorkerStandIn(dataDir);
  t.teardown(() => w.close());
  // Whatever the seed, the first segments hold only versions overwritten later, so the job always
  // has a segment to delete (seed 4032578723 left none and so no unlink step to crash after).
  for (let i = 0; i < 60; i++) w.put(1000 + i, { setId: 1, binsBytes: 200 });
  await w.flush();
  await randomWorkload(w, random, 600, 30);
  // And whatever the timing, segments that stay a third live, so the job always rewrites some: the
  // random workload's truncates cut by the millisecond, and whether its segments end up worth
  // rewriting varied from run to run with the same seed (seed 3276743076: 0 or 2 rewritten).
  for (let i = 0; i < 40; i++) {
    w.put(2000 + i, { setId: 1, binsBytes: 200 });
    w.put(2500 + i, { setId: 1, binsBytes: 200 });
    w.put(3000 + i, { setId: 1, binsBytes: 200 });
  }
  await w.flush();
  for (let i = 0; i < 60; i++) w.put(1000 + i, { setId: 1, binsBytes: 20 });
  for (let i = 0; i < 40; i++) {
    w.put(2000 + i, { setId: 1, binsBytes: 20 });
    w.put(2500 + i, { setId: 1, binsBytes: 20 });
  }
  await w.flush();
  const expected = replayState(w.directory);
  const pristine = path.join(dataDir, 'pristine');
  copyDirectory(w.directory, pristine);
  const work = path.join(dataDir, 'work');
  // A small per-run budget splits the job into several runs, so crashes land between runs too.
  const input = () => w.jobInput({ directory: work, segmentBytes: 1536 });

  // A full job on a copy, to list its steps.
  copyDirectory(pristine, work);
  const steps: CompactionStep[] = [];
  const full = await compactLog(input(), { onStep: (s) => steps.push(s) });
  t.equal(full.outcome, 'compacted');
  t.ok(full.segmentsRewritten >= 2 && full.segmentsDeleted >= 1, `${full.segmentsRewritten} rewritten, ${full.segmentsDeleted} deleted in ${steps.length} steps`);
  for (const kind of ['tmp-written', 'tmp-synced', 'renamed', 'unlinked', 'directory-synced']) {
    t.ok(
      steps.some((s) => s.kind === kind),
      `the job has a ${kind} step`,
    );
  }

  const problems: string[] = [];
  for (let crashAt = 0; crashAt < steps.length; crashAt++) {
    const label = `crash after step ${crashAt} (${steps[crashAt].kind} ${steps[crashAt].segmentNumber})`;
    copyDirectory(pristine, work);
    let count = 0;
    const crashed = await compactLog(input(), {
      onStep: () => {
        if (count++ === crashAt) throw new SimulatedCrash(label);
      },
    }).then(
      () => false,
      (err) => err instanceof SimulatedCrash,
    );
    if (!crashed) problems.push(`${label}: the job did not stop there`);
    const report = recoverLog({ directory: work, onRecord: () => undefined });
    if (report.tornTail !== null || report.skippedRegionCount !== 0) problems.push(`${label}: recovery found damage`);
    const difference = firstDifference(replayState(work), expected);
    if (difference !== null) problems.push(`${label}: ${difference}`);
    const writer = SegmentWriter.open({ directory: work, segmentBytes: 4096, recordDataBytesMax: 1024, resume: report.resume });
    await writer.close();
    const next = await compactLog(input());
    if (!['compacted', 'nothing-to-do'].includes(next.outcome)) problems.push(`${label}: the next job ${next.outcome} ${next.reason}`);
    const after = firstDifference(replayState(work), expected);
    if (after !== null) problems.push(`${label}, then a full job: ${after}`);
    if (fs.readdirSync(work).some((n) => n.endsWith('.tmp'))) problems.push(`${label}: a temporary file outlived the next job`);
  }
  t.same(problems.slice(0, 10), [], `${steps.length} crash points (seed ${seed})`);
});

t.test('a temporary file left by a job that died while writing it is ignored, then removed', async (t) => {
  const w = new WorkerStandIn(makeDataDir(t, 'leftover'));
  t.teardown(() => w.close());
  for (let i = 0; i < 100; i++) w.put(i % 5, { binsBytes: 150 });
  await w.flush();
  const expected = replayState(w.directory);
  fs.writeFileSync(path.join(w.directory, 'compact-000000000002.tmp'), Buffer.alloc(1000, 0xab));
  t.equal(firstDifference(replayState(w.directory), expected), null, 'recovery ignores it');
  const report = await compactLog(w.jobInput());
  t.equal(report.outcome, 'compacted');
  t.same(
    fs.readdirSync(w.directory).filter((n) => n.endsWith('.tmp')),
    [],
  );
  t.equal(firstDifference(replayState(w.directory), expected), null);
});
