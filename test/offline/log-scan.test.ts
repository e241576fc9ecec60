// Proves the offline log scan describes each damaged region exactly: its file, offset and length,
// the sequences around it, and the records it held — named from their headers when those still
// hang together, counted from the sequence gap when they do not — and tells a log's torn tail from
// the same bytes at the end of a snapshot part (damage), while a clean log has no regions.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { partitionOf } from '../../src/partition/digest';
import { scanLog } from '../../src/offline/log-scan';
import { decodeAt, LogRecordView } from '../../src/storage/log-record';
import { listSegments, segmentFileName } from '../../src/storage/segment-files';
import { SegmentWriter } from '../../src/storage/segment-writer';
import { digestOf, inputFor, makeTempDir } from '../storage/helpers/records';

/** Records 1 … count (headers consistent: partition from the digest), in 4 KiB segments. */
async function writeLog(dir: string, count: number): Promise<void> {
  const writer = SegmentWriter.open({ directory: dir, segmentBytes: 4096, recordDataBytesMax: 2048, bufferBytes: 8192 });
  for (let n = 1; n <= count; n++) writer.append({ ...inputFor(n), partitionId: partitionOf(digestOf(n)) });
  await writer.close();
}

/** Offset and span of every record of a segment file, by the record format. */
function layout(file: string): { offset: number; span: number; sequence: number }[] {
  const bytes = fs.readFileSync(file);
  const view = new LogRecordView();
  const out: { offset: number; span: number; sequence: number }[] = [];
  for (let at = 0; at < bytes.length; at += view.spanBytes) {
    if (decodeAt(bytes, at, bytes.length, view).status !== 'ok') break;
    out.push({ offset: at, span: view.spanBytes, sequence: view.sequence });
  }
  return out;
}

function patch(file: string, edit: (bytes: Buffer) => void): void {
  const bytes = fs.readFileSync(file);
  edit(bytes);
  fs.writeFileSync(file, bytes);
}

t.test('a clean log has no regions', async (t) => {
  const { dir, cleanup } = makeTempDir('scan-clean');
  t.teardown(cleanup);
  await writeLog(dir, 60);
  const scan = scanLog(dir, true);
  t.same([scan.records, scan.firstSequence, scan.lastSequence, scan.damage], [60, 1, 60, []]);
});

t.test('mid-log damage: named from headers, or counted from sequences', async (t) => {
  const { dir, cleanup } = makeTempDir('scan-mid');
  t.teardown(cleanup);
  await writeLog(dir, 60);
  const segments = listSegments(dir);
  t.ok(segments.length >= 3, 'several segments');
  const first = path.join(dir, segmentFileName(segments[0]));
  const second = path.join(dir, segmentFileName(segments[1]));
  const a = layout(first);
  const b = layout(second);
  // One bin byte of a record: its header still names it (digest of record number a[2].sequence).
  patch(first, (bytes) => (bytes[a[2].offset + a[2].span - 12] ^= 0x10));
  // Two records zeroed: nothing names them, the sequences around them count two.
  patch(second, (bytes) => bytes.fill(0, b[1].offset, b[3].offset));
  const scan = scanLog(dir, true);
  t.equal(scan.records, 57);
  const [flip, zeroed] = scan.damage;
  t.same([flip.file, flip.offset, flip.bytes, flip.kind, flip.reason], [first, a[2].offset, a[2].span, 'corrupt', 'bad-checksum']);
  t.same([flip.sequenceBefore, flip.sequenceAfter, flip.headersComplete], [a[1].sequence, a[3].sequence, true]);
  t.same(
    flip.headers.map((h) => h.digest),
    [Buffer.from(digestOf(a[2].sequence)).toString('hex')],
    'named by its digest',
  );
  t.same([zeroed.file, zeroed.offset, zeroed.bytes, zeroed.kind], [second, b[1].offset, b[3].offset - b[1].offset, 'corrupt']);
  t.same([zeroed.sequenceBefore, zeroed.sequenceAfter, zeroed.headers, zeroed.headersComplete], [b[0].sequence, b[3].sequence, [], false]);
  t.equal(scan.damage.length, 2);
});

t.test('the end of the last segment: a torn tail in a log, damage in a snapshot part', async (t) => {
  const { dir, cleanup } = makeTempDir('scan-tail');
  t.teardown(cleanup);
  await writeLog(dir, 30);
  const segments = listSegments(dir);
  const last = path.join(dir, segmentFileName(segments[segments.length - 1]));
  const records = layout(last);
  const end = records[records.length - 1];
  fs.truncateSync(last, end.offset + 40); // the last record half written
  const log = scanLog(dir, true);
  t.same(
    log.damage.map((d) => [d.file, d.offset, d.bytes, d.kind, d.sequenceAfter]),
    [[last, end.offset, 40, 'torn-tail', 0]],
  );
  t.equal(fs.statSync(last).size, end.offset + 40, 'nothing cut: the scan only reads');
  const part = scanLog(dir, false);
  t.same(
    part.damage.map((d) => [d.offset, d.kind]),
    [[end.offset, 'corrupt']],
    'a part is complete before it exists',
  );
  // A whole earlier segment unreadable from its first byte: one region over all of it.
  const earlier = path.join(dir, segmentFileName(segments[0]));
  patch(earlier, (bytes) => (bytes[0] ^= 0xff));
  const again = scanLog(dir, true);
  t.same(again.damage[0].offset, 0);
  t.same(again.damage[0].file, earlier);
  t.equal(again.damage[0].sequenceBefore, 0, 'no record before it');
});
