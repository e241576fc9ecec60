// Proves the offline repair's file steps on real files: it cuts exactly the damaged regions (every
// other record kept byte for byte, in order), removes a sealed segment left with nothing valid,
// clears a temporary file a crashed repair left behind (which recovery ignores meanwhile), and is
// idempotent: a second run finds nothing and changes no byte.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { partitionOf } from '../../src/partition/digest';
import { checkNamespace } from '../../src/offline/check';
import { repairNamespace } from '../../src/offline/repair';
import { recoverLog } from '../../src/storage/recovery';
import { listSegments, logDirectory, segmentFileName } from '../../src/storage/segment-files';
import { SegmentWriter } from '../../src/storage/segment-writer';
import { digestOf, inputFor, makeTempDir } from '../storage/helpers/records';

const COUNT = 80;

async function writeLog(dir: string): Promise<void> {
  const writer = SegmentWriter.open({ directory: dir, segmentBytes: 4096, recordDataBytesMax: 2048, bufferBytes: 8192 });
  for (let n = 1; n <= COUNT; n++) writer.append({ ...inputFor(n), partitionId: partitionOf(digestOf(n)) });
  await writer.close();
}

function sequencesOf(dir: string): number[] {
  const out: number[] = [];
  recoverLog({ directory: dir, truncateTornTail: false, onRecord: (v) => out.push(v.sequence) });
  return out;
}

function snapshotOf(dir: string): Map<string, string> {
  return new Map(
    fs
      .readdirSync(dir)
      .sort()
      .map((n) => [n, fs.readFileSync(path.join(dir, n)).toString('hex')]),
  );
}

t.test('cuts exactly the damage, drops an emptied segment, clears leftovers, and is idempotent', async (t) => {
  const { dir: dataDir, cleanup } = makeTempDir('offline-repair');
  t.teardown(cleanup);
  const dir = logDirectory(dataDir, 'test', 0);
  await writeLog(dir);
  const segments = listSegments(dir);
  t.ok(segments.length >= 4, 'several segments');
  // Segment 2 unreadable from end to end (bad magic everywhere): nothing valid is left in it.
  const second = path.join(dir, segmentFileName(segments[1]));
  const lostSequences: number[] = [];
  recoverLog({ directory: dir, truncateTornTail: false, onRecord: (v, s) => s === segments[1] && lostSequences.push(v.sequence) });
  fs.writeFileSync(second, Buffer.alloc(fs.statSync(second).size, 0x5a));
  // One byte flipped in the third segment's first record.
  const third = path.join(dir, segmentFileName(segments[2]));
  const bytes = fs.readFileSync(third);
  bytes[100] ^= 1;
  fs.writeFileSync(third, bytes);
  // A temporary file of a repair that crashed: recovery ignores it.
  fs.writeFileSync(path.join(dir, 'repair-3.tmp'), 'half written');

  const check = checkNamespace(dataDir, 'test');
  t.same(
    check.problems.map((p) => [p.file, p.kind, p.remedy]),
    [
      [second, 'corrupt', 'cut'],
      [third, 'corrupt', 'cut'],
    ],
  );
  t.equal(check.problems[0].lost, lostSequences.length, "the emptied segment's records, counted from the sequences around it");
  t.equal(check.problems[1].lost, 1);
  repairNamespace(dataDir, check);

  t.notOk(fs.existsSync(second), 'the segment with nothing valid is gone');
  t.notOk(fs.existsSync(path.join(dir, 'repair-3.tmp')), 'the leftover is cleared');
  const firstOfThird = lostSequences[lostSequences.length - 1] + 1;
  const expected = Array.from({ length: COUNT }, (_, i) => i + 1).filter((s) => !lostSequences.includes(s) && s !== firstOfThird);
  t.same(sequencesOf(dir), expected, 'every other record kept, in order');
  t.same(checkNamespace(dataDir, 'test').problems, [], 'clean after the repair');

  const before = snapshotOf(dir);
  const again = checkNamespace(dataDir, 'test');
  t.same(repairNamespace(dataDir, again), [], 'a second run does nothing');
  t.same(snapshotOf(dir), before, 'and changes no byte');
});
