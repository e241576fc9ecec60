// Proves the progress ticker and the job's shared word: a job's count reaches the primary once per
// stride and at its end; the ticker tells the sum when the total is known, again when it moved
// (and only then), raises the total rather than report past it, tells a last time at the end, and
// never after.
import t from 'tap';
import { JOB_PROGRESS_STRIDE_RECORDS } from '../../src/constants';
import { ProgressTicker, PROGRESS_UNIT } from '../../src/primary/progress-ticker';
import { attachProgressWord, finishProgress, noteProgress, readProgress } from '../../src/shm/job-progress';
import { waitFor } from '../helpers/wait';

t.test("a job's word: stored once per stride and at the end", async (t) => {
  const ticker = new ProgressTicker(() => undefined);
  const word = attachProgressWord(ticker.expect(10))!;
  noteProgress(word, JOB_PROGRESS_STRIDE_RECORDS - 1);
  t.equal(readProgress(word), 0, 'mid-stride: not stored');
  noteProgress(word, JOB_PROGRESS_STRIDE_RECORDS);
  t.equal(readProgress(word), JOB_PROGRESS_STRIDE_RECORDS, 'a stride ends: stored');
  finishProgress(word, JOB_PROGRESS_STRIDE_RECORDS + 3);
  t.equal(readProgress(word), JOB_PROGRESS_STRIDE_RECORDS + 3, 'the end: stored whatever the stride');
  noteProgress(null, JOB_PROGRESS_STRIDE_RECORDS);
  finishProgress(null, 1);
  t.equal(attachProgressWord(undefined), null, 'nobody asked: no word, and noting into none is a no-op');
  ticker.stop();
});

t.test('the ticker: first report, reports when moved, a raised total, the last report', async (t) => {
  const told: [number, number, string][] = [];
  const ticker = new ProgressTicker((done, total, unit) => told.push([done, total, unit]));
  const a = attachProgressWord(ticker.expect(3000))!;
  const b = attachProgressWord(ticker.expect(1000))!;
  ticker.start();
  t.same(told, [[0, 4000, PROGRESS_UNIT]], 'the total, as soon as it is known');

  finishProgress(a, 2500);
  await waitFor(() => told.length === 2, { what: 'a report after the count moved' });
  t.same(told[1], [2500, 4000, PROGRESS_UNIT]);

  // A verify walks records written while it runs: the total is raised, never passed.
  finishProgress(b, 1700);
  await waitFor(() => told.length === 3, { what: 'a report past the expected total' });
  t.same(told[2], [4200, 4200, PROGRESS_UNIT]);

  ticker.stop();
  t.equal(told.length, 3, 'nothing moved since the last report: no other at the end');
  finishProgress(a, 3000);
  ticker.stop();
  ticker.start();
  t.equal(told.length, 3, 'nothing after stop()');
  t.throws(() => ticker.expect(1), 'no job expected after stop()');
});

t.test('stop() tells the end when it moved since the last report', async (t) => {
  const told: number[] = [];
  const ticker = new ProgressTicker((done) => told.push(done));
  const word = attachProgressWord(ticker.expect(5))!;
  ticker.start();
  finishProgress(word, 5);
  ticker.stop();
  t.same(told, [0, 5]);
});
