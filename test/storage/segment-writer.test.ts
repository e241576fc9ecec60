// Proves the segment writer round-trips records across roll-over, shares one fdatasync among
// concurrent writers (group commit, counted through its onSync hook), honours flush-ms, refuses
// records that are too big without changing the log, stalls (not fails) on a real full device,
// and once a roll-over fails stays failed: every later append and flush fails with the same coded error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { Status } from '../../src/errors';
import { type SyncEvent, SegmentWriter, type SyncMode } from '../../src/storage/segment-writer';
import type { StorageError } from '../../src/storage/storage-error';
import { listSegments, segmentFileName } from '../../src/storage/segment-files';
import { inputFor, makeTempDir, recoverAll } from './helpers/records';

for (const syncMode of ['inline', 'threadpool'] as SyncMode[]) {
  t.test(`${syncMode}: many records across roll-over come back in order`, async (t) => {
    const { dir, cleanup } = makeTempDir('writer');
    t.teardown(cleanup);
    const events: SyncEvent[] = [];
    const writer = SegmentWriter.open({ directory: dir, segmentBytes: 8192, recordDataBytesMax: 1024, bufferBytes: 4096, syncMode, onSync: (e) => events.push(e) });
    for (let n = 1; n <= 600; n++) {
      t.equal(writer.append(inputFor(n)), n);
      if (n % 50 === 0) await writer.flush();
    }
    await writer.close();
    const segments = listSegments(dir);
    t.ok(segments.length > 10, `${segments.length} segments`);
    t.same(
      segments,
      segments.map((_, i) => i + 1),
      'numbered from 1 without gaps',
    );
    for (const n of segments.slice(0, -1)) t.ok(fs.statSync(path.join(dir, segmentFileName(n))).size <= 8192);
    const { sequences, problems } = recoverAll(dir);
    t.same(problems, []);
    t.equal(sequences.length, 600);
    t.ok(sequences.every((s, i) => s === i + 1));
    t.equal(events.filter((e) => e.cause === 'directory').length, segments.length - 1, 'each roll-over syncs the directory');
  });

  t.test(`${syncMode}: concurrent appends share fdatasyncs`, async (t) => {
    const { dir, cleanup } = makeTempDir('group');
    t.teardown(cleanup);
    const groupSyncs: SyncEvent[] = [];
    const writer = SegmentWriter.open({ directory: dir, syncMode, onSync: (e) => e.cause === 'group' && groupSyncs.push(e) });
    const writers = 64;
    const rounds = 20;
    const acknowledged: number[] = [];
    let n = 0;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let round = 0; round < rounds; round++) {
          const sequence = writer.append(inputFor(++n));
          await writer.flush();
          t.ok(writer.durableSequenceNumber >= sequence);
          acknowledged.push(sequence);
        }
      }),
    );
    t.equal(acknowledged.length, writers * rounds);
    const recordsSynced = groupSyncs.reduce((sum, e) => sum + e.recordCount, 0);
    t.equal(recordsSynced, writers * rounds, 'every record was covered by exactly one group sync');
    t.ok(groupSyncs.length <= rounds + 2, `${groupSyncs.length} fdatasyncs for ${writers * rounds} acknowledged appends`);
    await writer.close();
  });
}

t.test('threadpool: roll-overs while a sync is in flight keep every record', async (t) => {
  const { dir, cleanup } = makeTempDir('rollsync');
  t.teardown(cleanup);
  const writer = SegmentWriter.open({ directory: dir, syncMode: 'threadpool', segmentBytes: 4096, recordDataBytesMax: 1024, bufferBytes: 4096 });
  const total = 3000;
  let n = 0;
  let done = false;
  // An appender that never waits, so appends and roll-overs land while a sync runs in the pool.
  const firehose = (async () => {
    while (n < total) {
      for (let i = 0; i < 5 && n < total; i++) writer.append(inputFor(++n));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    done = true;
  })();
  const acknowledged: number[] = [];
  await Promise.all([
    firehose,
    ...Array.from({ length: 16 }, async () => {
      while (!done && n < total) {
        const sequence = writer.append(inputFor(++n));
        await writer.flush();
        acknowledged.push(sequence);
      }
    }),
  ]);
  await writer.close();
  const { sequences, problems } = recoverAll(dir);
  t.same(problems, []);
  t.equal(sequences.length, n);
  t.ok(
    sequences.every((s, i) => s === i + 1),
    'in order, no gap',
  );
  t.ok(acknowledged.length > 0);
  t.ok(listSegments(dir).length > 20);
});

t.test('flush-ms acknowledges after write() and syncs on its timer', async (t) => {
  const { dir, cleanup } = makeTempDir('flushms');
  t.teardown(cleanup);
  let timerSynced!: () => void;
  const synced = new Promise<void>((resolve) => (timerSynced = resolve));
  const writer = SegmentWriter.open({ directory: dir, commit: { kind: 'flush-ms', flushMs: 20 }, onSync: (e) => e.cause === 'timer' && timerSynced() });
  for (let n = 1; n <= 10; n++) writer.append(inputFor(n));
  await writer.flush();
  t.equal(fs.statSync(path.join(dir, segmentFileName(1))).size > 0, true, 'flush wrote the records');
  // The writer's timer is unref'd (an idle log must not keep a process alive): hold the loop open.
  const keepAlive = setInterval(() => {}, 1000);
  await synced;
  clearInterval(keepAlive);
  t.equal(writer.durableSequenceNumber, 10, 'the timer made them durable');
  await writer.close();
  t.equal(recoverAll(dir).sequences.length, 10);
});

t.test('a record over the limit is refused and the log is unchanged', async (t) => {
  const { dir, cleanup } = makeTempDir('toobig');
  t.teardown(cleanup);
  const writer = SegmentWriter.open({ directory: dir, recordDataBytesMax: 500 });
  writer.append(inputFor(1));
  const error = t.throws(() => writer.append(inputFor(2, 600))) as StorageError;
  t.equal(error.code, Status.RECORD_TOO_BIG);
  t.equal(writer.failed, false);
  t.equal(writer.append(inputFor(2)), 2, 'the next sequence was not consumed');
  await writer.close();
  t.same(recoverAll(dir).sequences, [1, 2]);
});

t.test('opening refuses a directory with segments unless resumed, and bad sizes', async (t) => {
  const { dir, cleanup } = makeTempDir('open');
  t.teardown(cleanup);
  await SegmentWriter.open({ directory: dir }).close();
  t.throws(() => SegmentWriter.open({ directory: dir }), { code: Status.SERVER_ERROR });
  t.throws(() => SegmentWriter.open({ directory: dir, resume: { segmentNumber: 1, segmentBytes: 8, nextSequence: 1 } }), { code: Status.SERVER_ERROR }, 'size differs');
  t.throws(() => SegmentWriter.open({ directory: path.join(dir, 'x'), segmentBytes: 4096, recordDataBytesMax: 8192 }), RangeError);
  t.throws(() => SegmentWriter.open({ directory: path.join(dir, 'y'), commit: { kind: 'flush-ms', flushMs: 0 } }), RangeError);
  const writer = SegmentWriter.open({ directory: dir, resume: { segmentNumber: 1, segmentBytes: 0, nextSequence: 5 } });
  t.equal(writer.append(inputFor(5)), 5);
  await writer.close();
  t.throws(() => writer.append(inputFor(6)), { code: Status.SERVER_ERROR });
  await t.rejects(writer.flush(), { code: Status.SERVER_ERROR });
});

t.test('a real full device stalls the writer instead of failing it', async (t) => {
  // /dev/full accepts open and refuses every write with ENOSPC: a real device error, no mock.
  const { dir, cleanup } = makeTempDir('full');
  t.teardown(cleanup);
  fs.symlinkSync('/dev/full', path.join(dir, segmentFileName(1)));
  const failures: StorageError[] = [];
  const writer = SegmentWriter.open({ directory: dir, resume: { segmentNumber: 1, segmentBytes: 0, nextSequence: 1 }, onFailure: (e) => failures.push(e) });
  writer.append(inputFor(1));
  const first = writer.flush();
  await t.rejects(first, { code: Status.SERVER_MEM, inDoubt: true, failure: 'no-space' });
  t.equal(writer.failed, false, 'not failed for good');
  t.equal(writer.stalled, true);
  t.equal(failures.length, 0, 'onFailure does not fire for a full device');
  t.equal(writer.append(inputFor(2)), 2, 'an append is still taken (its write is already in memory)');
  await t.rejects(writer.flush(), writer.stallError as Error);
  t.equal(writer.retryStalled(), false, 'still no space');
  t.equal(writer.unwrittenBytes > 0, true, 'the records wait in the buffer');
  await t.rejects(writer.close(), { code: Status.SERVER_MEM });
});

t.test('a roll-over that cannot create its segment fails the writer', async (t) => {
  const { dir, cleanup } = makeTempDir('rollfail');
  t.teardown(cleanup);
  const writer = SegmentWriter.open({ directory: dir, segmentBytes: 4096, recordDataBytesMax: 1024, bufferBytes: 4096 });
  fs.mkdirSync(path.join(dir, segmentFileName(2))); // the name is taken: open('wx') fails
  let n = 0;
  const error = t.throws(() => {
    for (;;) writer.append(inputFor(++n));
  }) as StorageError;
  t.same([error.code, error.failure], [Status.SERVER_ERROR, 'open-failed']);
  await t.rejects(writer.flush(), { code: Status.SERVER_ERROR });
  await writer.close();
  fs.rmdirSync(path.join(dir, segmentFileName(2)));
  t.equal(recoverAll(dir).sequences.length, n - 1, 'everything before the failed roll-over was made durable');
});
