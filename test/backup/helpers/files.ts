// Helpers for the backup tests (not a test itself): backup files built in memory with the format's
// own primitives, read back from memory, and a sample of every bin type.

import { BACKUP_FRAME_BYTES_MAX } from '../../../src/constants';
import { computeDigest } from '../../../src/partition/digest';
import { Writer } from '../../../src/protocol/writer';
import type { Bins, UserKey } from '../../../src/protocol/ops';
import { BackupFileReader } from '../../../src/backup/file-reader';
import { FrameKind, writeHeaderBody, writeRecordBody, writeTrailerBody, type BackupHeader, type BackupRecord, type FrameKindCode } from '../../../src/backup/format';
import { beginFrame, endFrame, writePreamble, type ReadAt } from '../../../src/backup/frames';

export const HEADER: BackupHeader = {
  ns: 'test',
  set: null,
  createdAtMs: 1_700_000_000_000,
  node: 'aerie',
  nodeVersion: '0.1.0',
  tool: 'aerie-ts/test',
};

export function record(set: string | null, key: UserKey, bins: Bins, options: { storeKey?: boolean; gen?: number; ttl?: number } = {}): BackupRecord {
  return {
    digest: computeDigest(set, key),
    set,
    key: options.storeKey === false ? null : key,
    gen: options.gen ?? 1,
    ttl: options.ttl ?? -1,
    bins,
  };
}

/** Every kind of bin value the format must carry. */
export function allTypesBins(i: number): Bins {
  return {
    int: i,
    neg: -i - 1,
    big: 2n ** 62n + BigInt(i),
    bigNeg: -(2n ** 63n),
    float: i + 0.5,
    str: `value ${i} ✓`,
    empty: '',
    bytes: Buffer.from([i & 0xff, 0, 255]),
    yes: true,
    no: false,
    list: [1, 'two', [3, [4n ** 30n]], { five: 5 }],
    map: { a: { b: { c: [i] } }, d: Buffer.alloc(0) },
    intMap: new Map<string | number | bigint, never>([
      [1, 'one' as never],
      [2n ** 60n, [true] as never],
    ]),
  };
}

export interface BuiltFile {
  bytes: Buffer;
  /** Offset of each frame: the header, each record, the trailer. */
  frameOffsets: number[];
}

/** A backup file's bytes; `trailerRecords` overrides the trailer's count, `kinds` the frame kinds. */
export function buildFile(header: BackupHeader, records: BackupRecord[], options: { trailerRecords?: number | null } = {}): BuiltFile {
  const w = new Writer(16 * BACKUP_FRAME_BYTES_MAX, 4096);
  writePreamble(w);
  const frameOffsets: number[] = [];
  const frame = (kind: FrameKindCode, body: () => void) => {
    frameOffsets.push(w.length);
    const at = beginFrame(w, kind);
    body();
    endFrame(w, at);
  };
  frame(FrameKind.HEADER, () => writeHeaderBody(w, header));
  for (const r of records) frame(FrameKind.RECORD, () => writeRecordBody(w, r));
  if (options.trailerRecords !== null) frame(FrameKind.TRAILER, () => writeTrailerBody(w, { records: options.trailerRecords ?? records.length }));
  return { bytes: w.copy() as Buffer, frameOffsets };
}

export function memorySource(bytes: Buffer): ReadAt {
  return async (buf, offset, length, position) => {
    if (position >= bytes.length) return 0;
    return bytes.copy(buf, offset, position, Math.min(bytes.length, position + length));
  };
}

/** Reads every record of in-memory backup bytes (the header and trailer are checked on the way). */
export async function readAll(bytes: Buffer): Promise<{ header: BackupHeader; records: BackupRecord[] }> {
  const reader = await BackupFileReader.fromSource('memory', memorySource(bytes));
  const records: BackupRecord[] = [];
  for (let r = await reader.next(); r !== null; r = await reader.next()) records.push(r);
  return { header: reader.header, records };
}
