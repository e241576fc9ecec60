// Proves the log watermarks a worker publishes for compaction: exact sequences up to 2^53 - 1,
// a drain epoch that is odd inside a drain, an incarnation per thread that opens the log, and the
// store-ahead flag — set, for good, when a thread adopts a store whose predecessor died inside a
// drain or before the records it appended were written, and only then.
import t from 'tap';
import { LogWatermarks, NamespaceStat, StatsBlock } from '../../src/shm/stats';

t.test('sequences, epoch and incarnation', async (t) => {
  const stats = StatsBlock.create(2);
  const worker = new LogWatermarks(stats, 1);
  const reader = new LogWatermarks(StatsBlock.attach(stats.sab, 2), 1);
  t.same([reader.activeSegment, reader.incarnation], [0, 0], 'nothing before the log opens');
  worker.opened(false, 41, 3);
  t.same([reader.appendedSequence, reader.durableSequence, reader.activeSegment, reader.incarnation, reader.storeAhead], [41, 41, 3, 1, false]);
  worker.beginDrain();
  t.equal(reader.drainEpoch & 1, 1, 'odd inside a drain');
  worker.endDrain(Number.MAX_SAFE_INTEGER);
  t.equal(reader.drainEpoch & 1, 0);
  t.equal(reader.appendedSequence, Number.MAX_SAFE_INTEGER, 'exact to 2^53 - 1');
  worker.synced(Number.MAX_SAFE_INTEGER - 1, 4);
  t.same([reader.durableSequence, reader.activeSegment], [Number.MAX_SAFE_INTEGER - 1, 4]);
  worker.failed();
  t.equal(reader.isFailed, true);
  stats.set(stats.nsSlot(1, NamespaceStat.RECORDS), 7.5);
  t.equal(stats.get(stats.nsSlot(1, NamespaceStat.RECORDS)), 7.5, 'the other slots are untouched');
  t.equal(new LogWatermarks(stats, 0).incarnation, 0, 'namespaces have their own slots');
});

t.test('store ahead of the log: only after a death the log could not cover', async (t) => {
  const stats = StatsBlock.create(1);
  const first = new LogWatermarks(stats, 0);
  first.opened(false, 10, 1);
  first.beginDrain();
  first.endDrain(12);
  // Died between drains with everything written: the next thread recovers sequence 12.
  new LogWatermarks(stats, 0).opened(true, 12, 1);
  t.equal(first.storeAhead, false, 'clean death');
  t.equal(first.incarnation, 2);
  // Died after a drain whose records were still in the writer's buffer.
  first.beginDrain();
  first.endDrain(15);
  const third = new LogWatermarks(stats, 0);
  third.opened(true, 13, 1);
  t.equal(third.storeAhead, true, 'appended 15, recovered 13');

  const stats2 = StatsBlock.create(1);
  const a = new LogWatermarks(stats2, 0);
  a.opened(false, 5, 1);
  a.beginDrain(); // dies inside the drain
  const b = new LogWatermarks(stats2, 0);
  b.opened(true, 5, 1);
  t.equal(b.storeAhead, true, 'died inside a drain');
  t.equal(b.drainEpoch & 1, 0, 'the successor closes the epoch');
  b.opened(true, 5, 1);
  t.equal(b.storeAhead, true, 'stays set across later adoptions');
  const cold = new LogWatermarks(StatsBlock.create(1), 0);
  cold.beginDrain();
  cold.opened(false, 5, 1);
  t.equal(cold.storeAhead, false, 'a cold start replays the store from the log');
});
