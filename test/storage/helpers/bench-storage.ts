// Storage figures for docs/storage.md (not a test: tap skips helpers/, and tests never assert on
// timings). Usage: npx tsc -p . && node dist/test/storage/helpers/bench-storage.js [seconds=3]
// Prints appends/s under commit-to-device (1, 16, 64 concurrent writers; inline and threadpool
// fdatasync) and flush-ms 100, recovery records/s for 1M records of 100-byte bins, CRC32C MB/s.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { crc32c } from '../../../src/storage/crc32c';
import { type LogRecordInput, LogRecordKind } from '../../../src/storage/log-record';
import { recoverLog } from '../../../src/storage/recovery';
import { type CommitPolicy, SegmentWriter, type SyncMode } from '../../../src/storage/segment-writer';

const BINS_BYTES = 100;
const YIELD_EVERY_APPENDS = 1024;
const seconds = Number(process.argv[2] ?? 3);

function makeInput(): LogRecordInput {
  const key = Buffer.from('\xa9k00000000', 'latin1');
  return {
    kind: LogRecordKind.PUT,
    partitionId: 0,
    setId: 1,
    digest: new Uint8Array(20),
    digestOffset: 0,
    generation: 1,
    voidTime: 0,
    lastUpdateMs: Date.now(),
    key,
    keyStart: 0,
    keyEnd: key.length,
    bins: new Uint8Array(BINS_BYTES).fill(7),
    binsStart: 0,
    binsEnd: BINS_BYTES,
  };
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-bench-'));
}

async function appendRate(commit: CommitPolicy, syncMode: SyncMode, writers: number): Promise<string> {
  const dir = tempDir();
  let syncs = 0;
  const writer = SegmentWriter.open({ directory: dir, commit, syncMode, onSync: (e) => (e.cause === 'group' || e.cause === 'timer') && syncs++ });
  const input = makeInput();
  const view = new DataView(input.digest.buffer);
  let appends = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < deadline) {
        view.setUint32(0, appends, true);
        writer.append(input);
        appends++;
        await writer.flush();
        // A flush-ms flush resolves at once; yield now and then, as the worker's drain loop does,
        // or the sync timer would never get to run.
        if (appends % YIELD_EVERY_APPENDS === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  await writer.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const name = commit.kind === 'flush-ms' ? `flush-ms ${commit.flushMs}` : 'commit-to-device';
  const cpuUsPerAppend = (cpu.user + cpu.system) / appends;
  return (
    `${name.padEnd(16)} ${syncMode.padEnd(10)} writers ${String(writers).padStart(2)}: ${Math.round(appends / elapsedS)
      .toLocaleString('en')
      .padStart(9)} appends/s, ` +
    `${Math.round(syncs / elapsedS)
      .toLocaleString('en')
      .padStart(6)} syncs/s, ${(appends / Math.max(syncs, 1)).toFixed(1).padStart(7)} records/sync, ${cpuUsPerAppend.toFixed(2)} µs CPU/append`
  );
}

async function recoveryRate(records: number): Promise<string[]> {
  const dir = tempDir();
  const writer = SegmentWriter.open({ directory: dir, commit: { kind: 'flush-ms', flushMs: 1000 } });
  const input = makeInput();
  const view = new DataView(input.digest.buffer);
  const writeStarted = performance.now();
  for (let n = 0; n < records; n++) {
    view.setUint32(0, n, true);
    writer.append(input);
    if (n % 4096 === 0) await writer.flush();
  }
  await writer.close();
  const writeMs = performance.now() - writeStarted;
  const lines = [
    `wrote ${records.toLocaleString('en')} records (${BINS_BYTES}-byte bins, ${input.keyEnd}-byte key) in ${(writeMs / 1000).toFixed(2)} s with flush-ms: ${Math.round(records / (writeMs / 1000)).toLocaleString('en')} appends/s single writer`,
  ];
  for (let run = 1; run <= 2; run++) {
    let count = 0;
    let checksum = 0;
    const report = recoverLog({
      directory: dir,
      onRecord: (record) => {
        count++;
        checksum ^= record.generation + record.binsEnd - record.binsStart;
      },
    });
    if (count !== records || checksum < 0) throw new Error(`recovered ${count}`);
    lines.push(
      `recovery run ${run}: ${report.recordCount.toLocaleString('en')} records, ${report.segmentCount} segments, ${(report.bytesRead / 2 ** 20).toFixed(0)} MiB in ${report.elapsedMs.toFixed(0)} ms: ` +
        `${report.recordsPerSecond.toLocaleString('en')} records/s, ${(report.bytesRead / 2 ** 20 / (report.elapsedMs / 1000)).toFixed(0)} MiB/s (page cache warm)`,
    );
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return lines;
}

function crcRate(): string {
  const bytes = new Uint8Array(64 * 1024 * 1024).fill(3);
  crc32c(bytes, 0, 1 << 20);
  const started = performance.now();
  let crc = 0;
  for (let i = 0; i < 4; i++) crc = crc32c(bytes, 0, bytes.length, crc);
  const ms = performance.now() - started;
  const small = new Uint8Array(184);
  const smallStarted = performance.now();
  for (let i = 0; i < 1_000_000; i++) crc = crc32c(small, 12, 184, crc);
  const smallMs = performance.now() - smallStarted;
  return `crc32c: ${((4 * 64) / (ms / 1000)).toFixed(0)} MiB/s on 64 MiB, ${((smallMs * 1000) / 1_000_000).toFixed(3)} µs per 172-byte record (crc ${crc})`;
}

function rawSyncCost(): string {
  const dir = tempDir();
  const fd = fs.openSync(path.join(dir, 'x'), 'w');
  const record = Buffer.alloc(184, 1);
  const count = 2000;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    fs.writeSync(fd, record, 0, record.length, i * record.length);
    fs.fdatasyncSync(fd);
  }
  const us = ((performance.now() - started) * 1000) / count;
  fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true, force: true });
  return `raw write + fdatasync of one 184-byte record, appending: ${us.toFixed(0)} µs (${Math.round(1e6 / us).toLocaleString('en')}/s)`;
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0].model}), tmpdir ${os.tmpdir()}, ${seconds} s per row`);
  console.log(rawSyncCost());
  console.log(crcRate());
  for (const syncMode of ['inline', 'threadpool'] as SyncMode[]) {
    for (const writers of [1, 16, 64]) console.log(await appendRate({ kind: 'commit-to-device' }, syncMode, writers));
  }
  for (const writers of [1, 64]) console.log(await appendRate({ kind: 'flush-ms', flushMs: 100 }, 'inline', writers));
  for (const line of await recoveryRate(1_000_000)) console.log(line);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
