// Proves releaseSegments deletes exactly the log segments a snapshot covers: each one whose next
// segment starts at or below the snapshot's sequence + 1, never the last, and none past a segment
// whose first header it cannot read.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { partitionOf } from '../../src/partition/digest';
import { releaseSegments } from '../../src/snapshot/release';
import { decodeAt, LogRecordView } from '../../src/storage/log-record';
import { listSegments, segmentFileName } from '../../src/storage/segment-files';
import { SegmentWriter } from '../../src/storage/segment-writer';
import { digestOf, inputFor, makeTempDir } from '../storage/helpers/records';

/** Records 1 … count in 4 KiB segments; returns each segment's number and first sequence, read with the record decoder. */
async function writeLog(dir: string, count: number): Promise<{ segment: number; first: number }[]> {
  const writer = SegmentWriter.open({ directory: dir, segmentBytes: 4096, recordDataBytesMax: 2048, bufferBytes: 8192 });
  for (let n = 1; n <= count; n++) writer.append({ ...inputFor(n), partitionId: partitionOf(digestOf(n)) });
  await writer.close();
  return listSegments(dir).map((segment) => {
    const bytes = fs.readFileSync(path.join(dir, segmentFileName(segment)));
    const view = decodeAt(bytes, 0, bytes.length, new LogRecordView());
    if (view.status !== 'ok') throw new Error(`segment ${segment} starts with a ${view.status} record`);
    return { segment, first: view.sequence };
  });
}

t.test('releases the covered segments, never the last one', async (t) => {
  const { dir, cleanup } = makeTempDir('release');
  t.teardown(cleanup);
  const segments = await writeLog(dir, 200);
  t.ok(segments.length >= 4, `${segments.length} segments`);
  // Covered through the last record of the second segment: the first two go.
  const sequence = segments[2].first - 1;
  t.same(releaseSegments(dir, sequence - 1), [segments[0].segment], 'one record short of the second segment: only the first');
  t.same(releaseSegments(dir, sequence), [segments[1].segment], 'then the second, once all of it is covered');
  t.same(
    listSegments(dir),
    segments.slice(2).map((s) => s.segment),
    'the rest stay',
  );
  const last = segments[segments.length - 1];
  t.same(
    releaseSegments(dir, Number.MAX_SAFE_INTEGER - 1),
    segments.slice(2, -1).map((s) => s.segment),
    'everything but the last',
  );
  t.same(listSegments(dir), [last.segment], 'the last (active) segment is never released');
});

t.test('stops at a segment whose first header is not a record', async (t) => {
  const { dir, cleanup } = makeTempDir('release-bad');
  t.teardown(cleanup);
  const segments = await writeLog(dir, 200);
  const file = path.join(dir, segmentFileName(segments[2].segment));
  const bytes = fs.readFileSync(file);
  bytes.writeUInt32LE(0, 0); // the magic
  fs.writeFileSync(file, bytes);
  t.same(releaseSegments(dir, Number.MAX_SAFE_INTEGER - 1), [segments[0].segment], 'the second is kept: what follows it cannot be read');
});
