// Shared helpers for the storage tests (not a test itself): temporary log directories and records
// whose every field is derived from one number, so a recovered record can be checked on its own.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { type LogRecordInput, LogRecordKind, type LogRecordView } from '../../../src/storage/log-record';
import { recoverLog } from '../../../src/storage/recovery';

/** A fresh directory under os.tmpdir(), removed by `cleanup`. */
export function makeTempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `aerie-${prefix}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function digestOf(n: number): Uint8Array {
  return new Uint8Array(createHash('sha1').update(`record-${n}`).digest());
}

/** The record for number n: bins of `binsBytes` bytes; every 5th has no key, every 7th is a tombstone. */
export function inputFor(n: number, binsBytes = 100): LogRecordInput {
  const tombstone = n % 7 === 3;
  const key = n % 5 === 0 ? null : Buffer.from(`\xa9k${String(n).padStart(8, '0')}`, 'latin1');
  const bins = tombstone ? null : new Uint8Array(binsBytes);
  if (bins !== null) for (let i = 0; i < bins.length; i++) bins[i] = (n * 31 + i * 7) & 0xff;
  return {
    kind: tombstone ? LogRecordKind.TOMBSTONE : LogRecordKind.PUT,
    partitionId: n % 4096,
    setId: n % 11,
    digest: digestOf(n),
    digestOffset: 0,
    generation: (n % 65535) + 1,
    voidTime: n % 3 === 0 ? 0 : 500_000_000 + n,
    lastUpdateMs: 1.7e12 + n + 0.25,
    key,
    keyStart: 0,
    keyEnd: key === null ? 0 : key.length,
    bins,
    binsStart: 0,
    binsEnd: bins === null ? 0 : bins.length,
  };
}

/** null if the view holds exactly inputFor(n, binsBytes), else what differs. */
export function mismatch(view: LogRecordView, n: number, binsBytes = 100): string | null {
  const want = inputFor(n, binsBytes);
  const fields: Array<[string, number, number]> = [
    ['kind', view.kind, want.kind],
    ['partitionId', view.partitionId, want.partitionId],
    ['setId', view.setId, want.setId],
    ['generation', view.generation, want.generation],
    ['voidTime', view.voidTime, want.voidTime],
    ['lastUpdateMs', view.lastUpdateMs, want.lastUpdateMs],
  ];
  for (const [name, got, expected] of fields) if (got !== expected) return `${name} ${got} != ${expected}`;
  if (!Buffer.from(view.digestCopy()).equals(Buffer.from(want.digest))) return 'digest';
  const key = Buffer.from(view.buffer.subarray(view.keyStart, view.keyEnd));
  if (!key.equals(want.key === null ? Buffer.alloc(0) : Buffer.from(want.key))) return 'key';
  const bins = Buffer.from(view.buffer.subarray(view.binsStart, view.binsEnd));
  if (!bins.equals(want.bins === null ? Buffer.alloc(0) : Buffer.from(want.bins))) return 'bins';
  return null;
}

/** Bin sizes that vary with n, so records straddle pages and segment ends. */
export function binsBytesFor(n: number): number {
  return 50 + (((n * 2654435761) >>> 0) % 3000);
}

/** Recovers every record of a log: the sequences in order, and what differs from inputFor(sequence). */
export function recoverAll(dir: string): { sequences: number[]; problems: string[] } {
  const sequences: number[] = [];
  const problems: string[] = [];
  recoverLog({
    directory: dir,
    onRecord: (view) => {
      sequences.push(view.sequence);
      const wrong = mismatch(view, view.sequence);
      if (wrong !== null) problems.push(`sequence ${view.sequence}: ${wrong}`);
    },
  });
  return { sequences, problems };
}
