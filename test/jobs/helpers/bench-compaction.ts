// Compaction figures (not a test): writes a log of N puts to K keys chosen at random (so all but
// the last version of each key is dead, and the live ones are scattered over every segment)
// through a real store and log, then times one compaction job run in-process, as the pool runs it.
//   npx tsc -p . && node dist/test/jobs/helpers/bench-compaction.js [records=1000000] [keys=100000] [segmentMiB=16]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { compactLog } from '../../../src/jobs/compaction';
import { Random } from '../../helpers/values';
import { WorkerStandIn, logBytes } from './log-harness';

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 1_000_000);
  const keys = Number(process.argv[3] ?? 100_000);
  const segmentMiB = Number(process.argv[4] ?? 16);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-bench-compaction-'));
  try {
    const w = new WorkerStandIn(dataDir, segmentMiB * 1024 * 1024);
    const random = new Random(1);
    const writeStarted = performance.now();
    for (let i = 0; i < records; i++) {
      w.put(random.below(keys), { binsBytes: 100 });
      if (i % 4096 === 4095) await w.flush();
    }
    await w.flush();
    const writeMs = performance.now() - writeStarted;
    const before = logBytes(w.directory);
    const started = performance.now();
    const report = await compactLog(w.jobInput());
    const elapsedMs = performance.now() - started;
    const after = logBytes(w.directory);
    const mib = (b: number) => (b / 1048576).toFixed(1);
    console.log(`${records} puts over ${keys} keys, ${segmentMiB} MiB segments, written in ${Math.round(writeMs)} ms`);
    console.log(
      `log ${mib(before)} MiB -> ${mib(after)} MiB: ${mib(report.bytesReclaimed)} MiB reclaimed, ${report.segmentsScanned} sealed segments scanned, ` +
        `${report.segmentsRewritten} rewritten, ${report.segmentsDeleted} deleted, ${report.recordsDropped} records dropped, ${report.recordsKept} kept`,
    );
    console.log(`job ${Math.round(elapsedMs)} ms (durability wait ${report.durableWaitMs.toFixed(1)} ms), ${Math.round(records / (elapsedMs / 1000))} log records/s`);
    await w.close();
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
