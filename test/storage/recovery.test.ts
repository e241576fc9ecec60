// Proves recovery returns every valid record in order; cuts a torn tail at every byte offset of the
// last record (keeping all earlier records) and lets the writer continue after it; fails with file
// and offset on a bit flip in an earlier segment, or skips and counts it with skipCorrupt; and uses
// durableBytes to tell damage to synced data (corruption) from a torn unsynced tail.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { Status } from '../../src/errors';
import { type RecoveryOptions, type RecoveryReport, recoverLog } from '../../src/storage/recovery';
import { SegmentWriter } from '../../src/storage/segment-writer';
import type { StorageError } from '../../src/storage/storage-error';
import { listSegments, segmentFileName } from '../../src/storage/segment-files';
import { inputFor, makeTempDir, mismatch } from './helpers/records';
import { Random, testSeed } from '../helpers/values';

interface Recovered {
  report: RecoveryReport;
  sequences: number[];
  /** segment number and offset of each record, by sequence */
  where: Map<number, { segmentNumber: number; offset: number; spanBytes: number; dataBytes: number }>;
  problems: string[];
}

function recover(dir: string, options: Partial<RecoveryOptions> = {}, binsBytes = 100): Recovered {
  const sequences: number[] = [];
  const problems: string[] = [];
  const where: Recovered['where'] = new Map();
  const report = recoverLog({
    directory: dir,
    ...options,
    onRecord: (view, segmentNumber, offset) => {
      sequences.push(view.sequence);
      where.set(view.sequence, { segmentNumber, offset, spanBytes: view.spanBytes, dataBytes: view.binsEnd - view.keyStart });
      const wrong = mismatch(view, view.sequence, binsBytes);
      if (wrong !== null) problems.push(`sequence ${view.sequence}: ${wrong}`);
    },
  });
  return { report, sequences, where, problems };
}

async function writeLog(dir: string, count: number, segmentBytes = 4096, binsBytes = 100): Promise<void> {
  const writer = SegmentWriter.open({ directory: dir, segmentBytes, recordDataBytesMax: Math.min(2048, segmentBytes / 2), bufferBytes: 8192 });
  for (let n = 1; n <= count; n++) writer.append(inputFor(n, binsBytes));
  await writer.close();
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

t.test('a missing or empty directory recovers nothing and resumes from scratch', async (t) => {
  const { dir, cleanup } = makeTempDir('empty');
  t.teardown(cleanup);
  const missing = recover(path.join(dir, 'nope'));
  t.same([missing.report.recordCount, missing.report.resume], [0, null]);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a segment');
  t.equal(recover(dir).report.segmentCount, 0, 'other files are ignored');
});

t.test('a torn tail at every byte offset of the last record is cut, and the writer continues', async (t) => {
  const { dir: source, cleanup } = makeTempDir('torn-src');
  t.teardown(cleanup);
  const count = 30;
  await writeLog(source, count);
  const clean = recover(source);
  t.same(clean.sequences, range(1, count));
  const last = clean.where.get(count)!;
  const lastName = segmentFileName(last.segmentNumber);
  const original = fs.readFileSync(path.join(source, lastName));
  t.equal(original.length, last.offset + last.spanBytes);
  const { dir: work, cleanup: cleanupWork } = makeTempDir('torn');
  t.teardown(cleanupWork);
  let cases = 0;
  for (const variant of ['cut', 'zero-filled'] as const) {
    // Zeroing only the padding leaves the record intact, so zero fill starts inside its data.
    const kEnd = variant === 'cut' ? last.spanBytes : 72 + last.dataBytes;
    for (let k = 0; k < kEnd; k++) {
      fs.rmSync(work, { recursive: true, force: true });
      fs.cpSync(source, work, { recursive: true });
      const damaged = variant === 'cut' ? original.subarray(0, last.offset + k) : Buffer.concat([original.subarray(0, last.offset + k), Buffer.alloc(last.spanBytes - k)]);
      fs.writeFileSync(path.join(work, lastName), damaged);
      const label = `${variant} at +${k}`;
      const after = recover(work);
      const ok =
        after.problems.length === 0 &&
        after.sequences.length === count - 1 &&
        after.sequences.every((s, i) => s === i + 1) &&
        (damaged.length === last.offset ? after.report.tornTail === null : after.report.tornTail?.offset === last.offset && after.report.tornTail.bytesCut === damaged.length - last.offset) &&
        fs.statSync(path.join(work, lastName)).size === last.offset;
      if (!ok) {
        t.fail(`${label}: ${JSON.stringify({ report: after.report, problems: after.problems })}`);
        return;
      }
      const writer = SegmentWriter.open({ directory: work, segmentBytes: 4096, recordDataBytesMax: 2048, bufferBytes: 8192, resume: after.report.resume });
      for (let n = count; n < count + 3; n++) {
        if (writer.append(inputFor(n)) !== n) t.fail(`${label}: sequence after resume`);
      }
      await writer.close();
      const again = recover(work);
      if (again.problems.length > 0 || again.report.tornTail !== null || again.sequences.join() !== range(1, count + 2).join()) {
        t.fail(`${label}: after resume ${JSON.stringify({ report: again.report, problems: again.problems })}`);
        return;
      }
      cases++;
    }
  }
  t.equal(cases, last.spanBytes + 72 + last.dataBytes, `${cases} torn tails recovered and resumed`);
});

t.test('a bit flip in an earlier segment fails with file and offset; skipCorrupt skips and counts it', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const random = new Random(seed);
  const { dir, cleanup } = makeTempDir('flip');
  t.teardown(cleanup);
  const count = 120;
  await writeLog(dir, count);
  const clean = recover(dir);
  const segments = listSegments(dir);
  t.ok(segments.length >= 4, `${segments.length} segments`);
  const victims = clean.sequences.filter((s) => clean.where.get(s)!.segmentNumber < segments[segments.length - 1]);
  const victim = victims[random.below(victims.length)];
  const at = clean.where.get(victim)!;
  const file = path.join(dir, segmentFileName(at.segmentNumber));
  const bytes = fs.readFileSync(file);
  const bit = random.below((72 + at.dataBytes) * 8); // within the checksummed bytes, not the padding
  bytes[at.offset + (bit >> 3)] ^= 1 << (bit & 7);
  fs.writeFileSync(file, bytes);
  t.comment(`flipped bit ${bit} of sequence ${victim} in segment ${at.segmentNumber} at offset ${at.offset}`);

  const error = t.throws(() => recover(dir)) as StorageError;
  t.same([error.code, error.failure, error.file, error.offset], [Status.SERVER_ERROR, 'corrupt', file, at.offset]);

  const skipped = recover(dir, { skipCorrupt: true });
  t.same(skipped.problems, []);
  t.same(
    skipped.sequences,
    range(1, count).filter((s) => s !== victim),
    'everything but the flipped record',
  );
  t.same([skipped.report.skippedRegionCount, skipped.report.skippedBytes], [1, at.spanBytes]);
  t.same(skipped.report.skippedRegions[0], { file, offset: at.offset, bytes: at.spanBytes, reason: skipped.report.skippedRegions[0].reason });
  t.equal(skipped.report.resume?.nextSequence, count + 1);
});

t.test('in the last segment, damage before a later record’s durable mark is corruption; after it, a torn tail', async (t) => {
  const { dir, cleanup } = makeTempDir('evidence');
  t.teardown(cleanup);
  const writer = SegmentWriter.open({ directory: dir });
  for (let n = 1; n <= 10; n++) writer.append(inputFor(n));
  await writer.flush(); // records 11.. carry durableBytes = end of record 10
  for (let n = 11; n <= 20; n++) writer.append(inputFor(n));
  await writer.close();
  const clean = recover(dir);
  const file = path.join(dir, segmentFileName(1));
  const original = fs.readFileSync(file);

  const flip = (sequence: number): void => {
    const bytes = Buffer.from(original);
    bytes[clean.where.get(sequence)!.offset + 40] ^= 0x10;
    fs.writeFileSync(file, bytes);
  };
  flip(3);
  const error = t.throws(() => recover(dir, { truncateTornTail: false })) as StorageError;
  t.same([error.failure, error.offset], ['corrupt', clean.where.get(3)!.offset], 'record 3 was synced before record 11 was appended');
  const skipped = recover(dir, { skipCorrupt: true });
  t.same(
    skipped.sequences,
    range(1, 20).filter((s) => s !== 3),
  );

  flip(15);
  const readOnly = recover(dir, { truncateTornTail: false });
  t.same(readOnly.report.tornTail?.offset, clean.where.get(15)!.offset, 'record 15 was never synced: a torn tail');
  t.equal(readOnly.report.resume, null, 'an uncut torn tail cannot be resumed');
  t.equal(fs.statSync(file).size, original.length, 'read-only recovery changed nothing');
  const cut = recover(dir);
  t.same(cut.sequences, range(1, 14));
  t.equal(fs.statSync(file).size, clean.where.get(15)!.offset);
});

t.test('small read chunks and records larger than a chunk', async (t) => {
  const { dir, cleanup } = makeTempDir('chunks');
  t.teardown(cleanup);
  const writer = SegmentWriter.open({ directory: dir, segmentBytes: 64 * 1024, recordDataBytesMax: 8192, bufferBytes: 16384 });
  for (let n = 1; n <= 50; n++) writer.append(inputFor(n, 100 + n * 97));
  await writer.close();
  const sequences: number[] = [];
  const problems: string[] = [];
  recoverLog({
    directory: dir,
    readChunkBytes: 256,
    onRecord: (view) => {
      sequences.push(view.sequence);
      const wrong = mismatch(view, view.sequence, 100 + view.sequence * 97);
      if (wrong !== null) problems.push(wrong);
    },
  });
  t.same(problems, []);
  t.same(sequences, range(1, 50));
});

t.test('progress is reported and records per second computed', async (t) => {
  const { dir, cleanup } = makeTempDir('progress');
  t.teardown(cleanup);
  await writeLog(dir, 200);
  const { report } = recover(dir);
  t.equal(report.recordCount, 200);
  t.ok(report.recordsPerSecond > 0);
  t.equal(
    report.bytesRead,
    listSegments(dir).reduce((sum, n) => sum + fs.statSync(path.join(dir, segmentFileName(n))).size, 0),
  );
});
