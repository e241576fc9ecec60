// Proves the compaction planner groups sealed segments under the live ratio into runs of
// consecutive segments (never across a segment it keeps, never the active one), splits runs at
// the byte budget, respects the segment budget, and rejects bad counts.
import t from 'tap';
import { planCompaction, type SegmentUsage } from '../../src/storage/compaction-plan';

const usage: SegmentUsage[] = [
  { segmentNumber: 1, totalBytes: 1000, liveBytes: 0 },
  { segmentNumber: 2, totalBytes: 1000, liveBytes: 400 },
  { segmentNumber: 3, totalBytes: 1000, liveBytes: 100 },
  { segmentNumber: 5, totalBytes: 1000, liveBytes: 900 },
  { segmentNumber: 6, totalBytes: 1000, liveBytes: 200 },
  { segmentNumber: 7, totalBytes: 1000, liveBytes: 10 },
];
const runs = (plan: ReturnType<typeof planCompaction>) => plan.runs.map((r) => r.segments);

t.test('consecutive candidates form runs; a full segment or the active one ends them', async (t) => {
  const plan = planCompaction(usage, { activeSegmentNumber: 7, liveBytesPerRunMax: 10_000 });
  t.same(runs(plan), [[1, 2, 3], [6]], 'segment 4 is a gap in the numbers, not a segment; 5 is too full; 7 is active');
  t.equal(plan.liveBytes, 700);
  t.equal(plan.reclaimedBytes, 3000 - 500 + 800);
  t.equal(plan.segmentCount, 4);
});

t.test('a run stops at the byte budget and at the segment budget', async (t) => {
  const plan = planCompaction(usage, { activeSegmentNumber: 8, liveBytesPerRunMax: 450 });
  t.same(runs(plan), [[1, 2], [3], [6, 7]]);
  t.same(runs(planCompaction(usage, { activeSegmentNumber: 8, liveBytesPerRunMax: 10_000, segmentsPerJobMax: 2 })), [[1, 2]]);
  t.same(runs(planCompaction(usage, { activeSegmentNumber: 8, liveBytesPerRunMax: 10_000, liveRatioMax: 0.05 })), [[1], [7]]);
  t.same(runs(planCompaction([{ segmentNumber: 3, totalBytes: 0, liveBytes: 0 }], { activeSegmentNumber: 4, liveBytesPerRunMax: 1 })), [[3]], 'an empty file is deleted');
});

t.test('rejects impossible counts and options', async (t) => {
  t.throws(() => planCompaction([{ segmentNumber: 1, totalBytes: 10, liveBytes: 11 }], { activeSegmentNumber: 2, liveBytesPerRunMax: 1 }), RangeError);
  t.throws(() => planCompaction([usage[1], usage[0]], { activeSegmentNumber: 9, liveBytesPerRunMax: 1 }), RangeError, 'not ascending');
  t.throws(() => planCompaction(usage, { activeSegmentNumber: 2, liveBytesPerRunMax: 0 }), RangeError);
  t.throws(() => planCompaction(usage, { activeSegmentNumber: 2, liveBytesPerRunMax: 1, liveRatioMax: 0 }), RangeError);
});
