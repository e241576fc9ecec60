// Proves what the log writer does when its device is full or failing, with errors injected at its
// write() and fdatasync calls (src/storage/storage-faults.ts; every other call is the real file
// system): ENOSPC stalls it with every record kept in order and flushes in doubt, and once space
// returns the same records are written and synced, so recovery reads back every record appended,
// none twice; EIO on write() or on fdatasync fails it for good, and nothing unsynced is reported durable.
import t from 'tap';
import { Status } from '../../src/errors';
import { SegmentWriter, type SyncMode } from '../../src/storage/segment-writer';
import { StorageFaults } from '../../src/storage/storage-faults';
import { inputFor, makeTempDir, recoverAll } from './helpers/records';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

for (const syncMode of ['inline', 'threadpool'] as SyncMode[]) {
  t.test(`${syncMode}: ENOSPC stalls the writer; space back, every record is written once, in order`, async (t) => {
    const { dir, cleanup } = makeTempDir('enospc');
    t.teardown(cleanup);
    const faults = new StorageFaults();
    // Small segments and buffer: the stall happens in a spill and in roll-overs too.
    const writer = SegmentWriter.open({ directory: dir, segmentBytes: 8192, recordDataBytesMax: 1024, bufferBytes: 4096, syncMode, faults });
    for (let n = 1; n <= 100; n++) writer.append(inputFor(n));
    await writer.flush();
    t.equal(writer.durableSequenceNumber, 100);

    faults.set('disk-full');
    // 300 more records: more than the buffer and than a segment, appended while nothing can be written.
    for (let n = 101; n <= 400; n++) t.equal(writer.append(inputFor(n)), n);
    await t.rejects(writer.flush(), { code: Status.SERVER_MEM, failure: 'no-space', inDoubt: true }, 'the flush is in doubt, coded as a full device');
    t.equal(writer.stalled, true);
    t.equal(writer.failed, false);
    t.equal(writer.durableSequenceNumber, 100, 'nothing unsynced is reported durable');
    t.equal(writer.retryStalled(), false, 'no retry succeeds while the device is full');
    t.equal(writer.stallCount, 1, 'one stall, however many attempts');

    faults.set('disk-ok');
    t.equal(writer.retryStalled(), true, 'space back: what waited is written and synced');
    t.equal(writer.stalled, false);
    t.equal(writer.durableSequenceNumber, 400);
    for (let n = 401; n <= 500; n++) writer.append(inputFor(n));
    await writer.flush();
    await writer.close();
    const { sequences, problems } = recoverAll(dir);
    t.same(problems, []);
    t.same(sequences, range(1, 500), 'every record once, in order, across the stall');
  });
}

t.test('a stall found by a group commit rejects that commit, in doubt', async (t) => {
  const { dir, cleanup } = makeTempDir('enospc-group');
  t.teardown(cleanup);
  const faults = new StorageFaults();
  const writer = SegmentWriter.open({ directory: dir, faults });
  writer.append(inputFor(1));
  const ok = writer.flush();
  await ok;
  writer.append(inputFor(2));
  faults.set('disk-full');
  const waiting = [writer.flush(), writer.flush()];
  for (const w of waiting) await t.rejects(w, { code: Status.SERVER_MEM, inDoubt: true });
  faults.set('disk-ok');
  t.equal(writer.retryStalled(), true);
  writer.append(inputFor(3));
  await writer.flush();
  await writer.close();
  t.same(recoverAll(dir).sequences, [1, 2, 3], 'the in-doubt record was written after all, once');
});

t.test('EIO on write() fails the writer for good', async (t) => {
  const { dir, cleanup } = makeTempDir('eio-write');
  t.teardown(cleanup);
  const faults = new StorageFaults();
  const writer = SegmentWriter.open({ directory: dir, faults });
  writer.append(inputFor(1));
  await writer.flush();
  faults.set('disk-eio');
  writer.append(inputFor(2));
  await t.rejects(writer.flush(), { code: Status.SERVER_ERROR, failure: 'write-failed', inDoubt: true });
  t.equal(writer.failed, true);
  t.equal(writer.stalled, false);
  faults.set('disk-ok');
  t.equal(writer.retryStalled(), false, 'a failed writer never retries');
  t.throws(() => writer.append(inputFor(3)), { code: Status.SERVER_ERROR });
  await writer.close();
  t.same(recoverAll(dir).sequences, [1]);
});

t.test('EIO on fdatasync fails the writer for good, also during a retry after a stall', async (t) => {
  const { dir, cleanup } = makeTempDir('eio-sync');
  t.teardown(cleanup);
  const faults = new StorageFaults();
  const failures: unknown[] = [];
  const writer = SegmentWriter.open({ directory: dir, faults, onFailure: (e) => failures.push(e) });
  writer.append(inputFor(1));
  faults.set('disk-full');
  await t.rejects(writer.flush(), { code: Status.SERVER_MEM });
  faults.set('disk-ok');
  faults.set('sync-eio');
  t.equal(writer.retryStalled(), false, 'the write went through, its sync did not');
  t.equal(writer.failed, true, 'an fsync error is final: the kernel may have dropped the pages');
  t.equal(failures.length, 1);
  t.equal(writer.durableSequenceNumber, 0, 'never reported durable');
  await t.rejects(writer.flush(), { code: Status.SERVER_ERROR, failure: 'sync-failed' });
  await writer.close();
});

t.test('EIO on a group commit fdatasync rejects it and fails the writer', async (t) => {
  const { dir, cleanup } = makeTempDir('eio-group');
  t.teardown(cleanup);
  const faults = new StorageFaults();
  const writer = SegmentWriter.open({ directory: dir, faults });
  faults.set('sync-eio');
  writer.append(inputFor(1));
  await t.rejects(writer.flush(), { code: Status.SERVER_ERROR, failure: 'sync-failed', inDoubt: true });
  t.equal(writer.failed, true);
  await writer.close();
});
