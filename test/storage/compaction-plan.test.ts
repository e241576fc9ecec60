// Proves the compaction planner picks only sealed segments under the live ratio, emptiest first,
// within a job's byte and segment budget, lists dead segments for deletion, and rejects bad counts.
import t from 'tap';
import { planCompaction } from '../../src/storage/compaction-plan';

const usage = [
  { segmentNumber: 1, totalBytes: 1000, liveBytes: 0 },
  { segmentNumber: 2, totalBytes: 1000, liveBytes: 400 },
  { segmentNumber: 3, totalBytes: 1000, liveBytes: 100 },
  { segmentNumber: 4, totalBytes: 1000, liveBytes: 900 },
  { segmentNumber: 5, totalBytes: 1000, liveBytes: 200 },
  { segmentNumber: 6, totalBytes: 1000, liveBytes: 10 },
];

t.test('picks sealed segments under the ratio, emptiest first, returned in segment order', async (t) => {
  const plan = planCompaction(usage, { activeSegmentNumber: 6, liveBytesPerJobMax: 10_000 });
  t.same(plan.deletable, [1]);
  t.same(plan.compact, [2, 3, 5], 'segment 4 is too full, 6 is active');
  t.equal(plan.liveBytes, 700);
  t.equal(plan.reclaimedBytes, 1000 + 600 + 900 + 800);
});

t.test('respects the byte and segment budgets', async (t) => {
  t.same(planCompaction(usage, { activeSegmentNumber: 7, liveBytesPerJobMax: 320 }).compact, [3, 5, 6], 'emptiest that fit: 10 + 100 + 200');
  t.same(planCompaction(usage, { activeSegmentNumber: 7, liveBytesPerJobMax: 10_000, segmentsPerJobMax: 2 }).compact, [3, 6]);
  t.same(planCompaction(usage, { activeSegmentNumber: 7, liveBytesPerJobMax: 10_000, liveRatioMax: 0.05 }).compact, [6]);
});

t.test('rejects impossible counts and options', async (t) => {
  t.throws(() => planCompaction([{ segmentNumber: 1, totalBytes: 10, liveBytes: 11 }], { activeSegmentNumber: 2, liveBytesPerJobMax: 1 }), RangeError);
  t.throws(() => planCompaction(usage, { activeSegmentNumber: 2, liveBytesPerJobMax: 0 }), RangeError);
  t.throws(() => planCompaction(usage, { activeSegmentNumber: 2, liveBytesPerJobMax: 1, liveRatioMax: 0 }), RangeError);
});
