// The process the kill -9 test kills (not a test itself): it recovers its log directory, resumes the
// writer, and runs concurrent writers that each append a record, await flush() (commit-to-device)
// and only then print `ack <sequence>` with a synchronous write to stdout, forever.
// Usage: node writer-child.js <directory> <inline|threadpool>

import * as fs from 'node:fs';
import { recoverLog } from '../../../src/storage/recovery';
import { SegmentWriter, type SyncMode } from '../../../src/storage/segment-writer';
import { binsBytesFor, inputFor } from './records';

const CONCURRENT_WRITERS = 16;

async function main(): Promise<void> {
  const [directory, syncMode] = process.argv.slice(2);
  const report = recoverLog({ directory, onRecord: () => {} });
  const writer = SegmentWriter.open({
    directory,
    syncMode: syncMode as SyncMode,
    segmentBytes: 16 * 1024,
    recordDataBytesMax: 4096,
    bufferBytes: 8192,
    resume: report.resume,
  });
  fs.writeSync(1, `ready ${report.resume?.nextSequence ?? 1}\n`);
  const loops = Array.from({ length: CONCURRENT_WRITERS }, async () => {
    for (;;) {
      const n = writer.lastSequence + 1;
      const sequence = writer.append(inputFor(n, binsBytesFor(n)));
      if (sequence !== n) throw new Error(`sequence ${sequence}, expected ${n}`);
      await writer.flush();
      fs.writeSync(1, `ack ${sequence}\n`);
    }
  });
  await Promise.all(loops);
}

main().catch((err) => {
  fs.writeSync(2, `writer-child: ${(err as Error).stack}\n`);
  process.exit(1);
});
