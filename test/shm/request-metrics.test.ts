// Proves the shared request counters' layout: a latency lands in the first bucket whose bound it
// does not pass (powers of two from 16 µs, past the last bound in +Inf), codes outside the table
// share the "other" slot, batch elements count under their batch's op, and a stats block keeps
// its named slots apart from the counters that follow them.
import t from 'tap';
import { LATENCY_BUCKETS_FINITE, REQUEST_METRICS_CODE_OTHER, RequestMetrics, countedOp, isDataOp, latencyBucket, latencyBucketBoundSec } from '../../src/shm/request-metrics';
import { StatsBlock, WorkerStat } from '../../src/shm/stats';
import { Op } from '../../src/protocol/ops';

t.test('latency buckets: bounds are inclusive powers of two, the last is +Inf', async (t) => {
  t.equal(latencyBucket(0), 0);
  t.equal(latencyBucket(16), 0, '16 µs: at the first bound');
  t.equal(latencyBucket(16.2), 1, 'just past it');
  t.equal(latencyBucket(32), 1);
  t.equal(latencyBucket(33), 2);
  t.equal(latencyBucket(1000), 6, '1 ms is under 1024 µs');
  for (let i = 0; i < LATENCY_BUCKETS_FINITE; i++) {
    const boundUs = latencyBucketBoundSec(i) * 1e6;
    t.equal(latencyBucket(boundUs), i, `bound of bucket ${i} (${boundUs} µs) is in it`);
    t.equal(latencyBucket(boundUs + 1), i + 1, `one µs more is in the next`);
  }
  t.equal(latencyBucket(10 * 1e6), LATENCY_BUCKETS_FINITE, '10 s: +Inf');
  t.equal(latencyBucket(1e12), LATENCY_BUCKETS_FINITE, 'past 2^31 µs: +Inf');
});

t.test('record and count keep op, code and latency apart', async (t) => {
  const m = RequestMetrics.create();
  m.record(Op.PUT, 0, 20);
  m.record(Op.PUT, 0, 20);
  m.record(Op.PUT, 8, 5000);
  m.record(Op.GET, 2, 1);
  m.record(Op.GET, 500, 1);
  m.record(Op.GET, -1, 1);
  m.count(Op.PUT, 18);
  m.record(200, 0, 1); // an op past the table: not counted, nothing overwritten
  t.equal(m.requests(Op.PUT, 0), 2);
  t.equal(m.requests(Op.PUT, 8), 1);
  t.equal(m.requests(Op.PUT, 18), 1, 'a refusal is counted');
  t.equal(m.requests(Op.GET, 2), 1);
  t.equal(m.requests(Op.GET, REQUEST_METRICS_CODE_OTHER), 2, 'codes outside the table share the last slot');
  t.equal(m.bucket(Op.PUT, 1), 2);
  t.equal(m.bucket(Op.PUT, latencyBucket(5000)), 1);
  t.equal(m.latencySumMicros(Op.PUT), 5040, 'a refusal is not timed');
  let total = 0;
  for (let i = 0; i <= LATENCY_BUCKETS_FINITE; i++) total += m.bucket(Op.PUT, i);
  t.equal(total, 3);
});

t.test('a sampled request counts once by code and `weight` times in the histogram', async (t) => {
  const m = RequestMetrics.create();
  m.recordSampled(Op.GET, 0, 40, 8);
  m.count(Op.GET, 0);
  t.equal(m.requests(Op.GET, 0), 2);
  t.equal(m.bucket(Op.GET, latencyBucket(40)), 8);
  t.equal(m.latencySumMicros(Op.GET), 320);
});

t.test('batch elements count under their batch; only data ops are counted', async (t) => {
  t.equal(countedOp(Op.GET, true), Op.BATCH_GET);
  t.equal(countedOp(Op.EXISTS, true), Op.BATCH_EXISTS);
  t.equal(countedOp(Op.GET, false), Op.GET);
  t.ok(isDataOp(Op.PUT) && isDataOp(Op.SCAN) && isDataOp(Op.TRUNCATE));
  t.notOk(isDataOp(Op.INFO) || isDataOp(Op.HELLO) || isDataOp(Op.FAULT) || isDataOp(255));
});

t.test('a stats block holds the request counters after its named slots', async (t) => {
  const stats = StatsBlock.create(3);
  stats.requests.record(Op.PUT, 0, 10);
  for (let slot = 0; slot < stats.values.length; slot++) t.equal(stats.values[slot], 0, `slot ${slot} untouched`);
  stats.set(WorkerStat.REQUESTS, 7);
  stats.set(stats.nsSlot(2, 23), 9);
  const again = StatsBlock.attach(stats.sab, 3);
  t.equal(again.requests.requests(Op.PUT, 0), 1, 'another thread attached to the block sees the count');
  t.equal(again.get(WorkerStat.REQUESTS), 7);
});
