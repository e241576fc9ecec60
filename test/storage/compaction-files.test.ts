// Proves the file side of compaction: a sealed segment is read record by record across chunk
// boundaries (and records larger than a chunk) exactly as recovery reads it; damage or a short
// tail in a sealed segment is corruption with its offset; a run's output keeps sequences and
// contents, shrinks a put to a tombstone on request, and claims each record's own offset as
// durable; committing renames over the run's last segment and unlinks the others, or unlinks
// all of them when nothing is kept.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { RunOutput, commitRun, compactionTmpName, forEachSealedRecord, removeCompactionLeftovers } from '../../src/storage/compaction-files';
import { LogRecordKind } from '../../src/storage/log-record';
import { recoverLog } from '../../src/storage/recovery';
import type { StorageError } from '../../src/storage/storage-error';
import { listSegments, segmentFileName } from '../../src/storage/segment-files';
import { SegmentWriter } from '../../src/storage/segment-writer';
import { binsBytesFor, inputFor, makeTempDir, mismatch } from './helpers/records';

async function writeLog(dir: string, count: number, binsBytes: (n: number) => number): Promise<void> {
  const writer = SegmentWriter.open({ directory: dir, segmentBytes: 64 * 1024, recordDataBytesMax: 4096, bufferBytes: 16 * 1024 });
  for (let n = 1; n <= count; n++) writer.append(inputFor(n, binsBytes(n)));
  await writer.close();
}

t.test('a sealed segment reads like recovery reads it, whatever the chunk size', async (t) => {
  const { dir, cleanup } = makeTempDir('cf-read');
  t.teardown(cleanup);
  await writeLog(dir, 40, binsBytesFor);
  const file = path.join(dir, segmentFileName(1));
  const expected: number[] = [];
  recoverLog({ directory: dir, truncateTornTail: false, onRecord: (v, segmentNumber) => segmentNumber === 1 && expected.push(v.sequence) });
  for (const chunk of [100, 1000, 4096, 1 << 20]) {
    const seen: number[] = [];
    const problems: string[] = [];
    const { recordCount, fileBytes } = forEachSealedRecord(
      file,
      (view) => {
        seen.push(view.sequence);
        const wrong = mismatch(view, view.sequence, binsBytesFor(view.sequence));
        if (wrong !== null) problems.push(`${view.sequence}: ${wrong}`);
      },
      chunk,
    );
    t.same(seen, expected, `chunk ${chunk}`);
    t.same(problems, []);
    t.same([recordCount, fileBytes], [expected.length, fs.statSync(file).size]);
  }
});

t.test('damage or a short tail in a sealed segment is corruption, with its offset', async (t) => {
  const { dir, cleanup } = makeTempDir('cf-corrupt');
  t.teardown(cleanup);
  await writeLog(dir, 10, () => 100);
  const file = path.join(dir, segmentFileName(1));
  const original = fs.readFileSync(file);
  const damaged = Buffer.from(original);
  damaged[200] ^= 0x10; // inside the second record (184-byte records)
  fs.writeFileSync(file, damaged);
  const caught = t.throws(() => forEachSealedRecord(file, () => undefined)) as StorageError;
  t.same([caught.failure, caught.offset], ['corrupt', 184]);
  fs.writeFileSync(file, original.subarray(0, original.length - 8));
  t.same((t.throws(() => forEachSealedRecord(file, () => undefined)) as StorageError).failure, 'corrupt');
});

t.test('a run output keeps sequences and contents, shrinks on request, and commits', async (t) => {
  const { dir, cleanup } = makeTempDir('cf-output');
  t.teardown(cleanup);
  await writeLog(dir, 900, () => 200); // four 64 KiB segments
  const segments = listSegments(dir);
  t.equal(segments.length, 4);
  const run = segments.slice(0, 2);
  const output = new RunOutput(dir, run[1]);
  const kept: number[] = [];
  for (const n of run) {
    forEachSealedRecord(path.join(dir, segmentFileName(n)), (view) => {
      if (view.sequence % 3 !== 0) return;
      output.add(view, view.sequence % 2 === 0 && view.kind === LogRecordKind.PUT);
      kept.push(view.sequence);
    });
  }
  const steps: string[] = [];
  output.finish((s) => steps.push(s.kind), run[1]);
  t.ok(fs.existsSync(path.join(dir, compactionTmpName(run[1]))));
  commitRun(dir, run, output.file, (s) => steps.push(`${s.kind} ${s.segmentNumber}`));
  t.same(steps, ['tmp-written', 'tmp-synced', `renamed ${run[1]}`, `directory-synced ${run[1]}`, `unlinked ${run[0]}`, `directory-synced ${run[0]}`]);
  t.same(listSegments(dir), segments.slice(1));
  const problems: string[] = [];
  let offset = 0;
  const seen: number[] = [];
  forEachSealedRecord(path.join(dir, segmentFileName(run[1])), (view) => {
    seen.push(view.sequence);
    if (view.durableBytes !== offset) problems.push(`${view.sequence}: durableBytes ${view.durableBytes} at ${offset}`);
    offset += view.spanBytes;
    const shrunk = view.sequence % 2 === 0 && inputFor(view.sequence).kind === LogRecordKind.PUT;
    if (shrunk) {
      if (view.kind !== LogRecordKind.TOMBSTONE || view.binsEnd !== view.keyStart) problems.push(`${view.sequence}: not shrunk`);
    } else {
      const wrong = mismatch(view, view.sequence, 200);
      if (wrong !== null) problems.push(`${view.sequence}: ${wrong}`);
    }
  });
  t.same(seen, kept);
  t.same(problems, []);
  t.equal(output.keptCount, kept.length);
  t.equal(output.keptBytes, fs.statSync(path.join(dir, segmentFileName(run[1]))).size);

  commitRun(dir, [segments[2]], null, () => undefined);
  t.same(listSegments(dir), [run[1], ...segments.slice(3)], 'a run that keeps nothing is unlinked');
  fs.writeFileSync(path.join(dir, compactionTmpName(9)), 'x');
  t.equal(removeCompactionLeftovers(dir), 1);
});
