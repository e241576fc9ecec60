// The file side of log compaction: reading a sealed segment record by record, writing the records
// a run keeps into a temporary file, and the steps that swap it in. The job (src/jobs/compaction.ts)
// decides which records to keep; nothing here reads worker memory.
//
// Swapping a run [s1 … sk] in, crash-safely:
//   1. write the kept records, original sequences and order, to `compact-<sk>.tmp`; fdatasync it;
//   2. rename it over seg-<sk> and fsync the directory;
//   3. unlink s1 … s(k-1) in ascending order, fsyncing the directory after each.
// A crash before 2 leaves the old segments (recovery ignores the .tmp; the next job deletes it).
// After 2, every state is "some of s1 … s(k-1), then the new seg-<sk>": the new file holds every
// record of the run that decides a digest's final state (and every marker), in the original
// order, after all the leftovers, so replay ends the same (docs/storage.md, Compaction). A
// directory fsync per unlink keeps the states a machine crash can leave to those of the steps.
// Sealed segments are durable and complete, so any bad record in one is corruption.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { blankPutInput, type LogRecordInput, LogRecordKind, type LogRecordKindCode, LogRecordView, alignRecordBytes, decodeAt, encodeInto } from './log-record';
import { COMPACTION_WRITE_BUFFER_BYTES, LOG_RECORD_ALIGN_BYTES, LOG_RECORD_BYTES_MAX, LOG_RECORD_HEADER_BYTES, RECOVERY_READ_CHUNK_BYTES, SEGMENT_NUMBER_DIGITS } from '../constants';
import { StorageError } from './storage-error';
import { segmentFileName, syncDirectory } from './segment-files';

/** One step of swapping a run in; a test hook may stop the job at any of them (a crash). */
export type CompactionStep =
  | { kind: 'tmp-written'; segmentNumber: number }
  | { kind: 'tmp-synced'; segmentNumber: number }
  | { kind: 'renamed'; segmentNumber: number }
  | { kind: 'unlinked'; segmentNumber: number }
  | { kind: 'directory-synced'; segmentNumber: number };

export type StepHook = (step: CompactionStep) => void;

const TMP_NAME = new RegExp(`^compact-\\d{${SEGMENT_NUMBER_DIGITS}}\\.tmp$`);

export function compactionTmpName(segmentNumber: number): string {
  return segmentFileName(segmentNumber).replace(/^seg-(\d+)\.log$/, 'compact-$1.tmp');
}

/** Deletes the temporary files a job that crashed left behind. Returns how many. */
export function removeCompactionLeftovers(directory: string): number {
  const leftovers = fs.readdirSync(directory).filter((name) => TMP_NAME.test(name));
  for (const name of leftovers) fs.unlinkSync(path.join(directory, name));
  if (leftovers.length > 0) syncDirectory(directory);
  return leftovers.length;
}

/**
 * Calls `onRecord` for every record of a sealed segment, in order, reading it in chunks (the
 * buffer grows only for a larger record). The view's ranges point into a reused buffer. Throws
 * StorageError 'corrupt' at the first bad record or sequence out of order.
 */
export function forEachSealedRecord(file: string, onRecord: (view: LogRecordView) => void, readChunkBytes = RECOVERY_READ_CHUNK_BYTES): { fileBytes: number; recordCount: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const fileBytes = fs.fstatSync(fd).size;
    const view = new LogRecordView();
    let buffer = Buffer.allocUnsafeSlow(readChunkBytes);
    let bufferStart = 0;
    let bufferBytes = 0;
    const load = (offset: number, needBytes: number): void => {
      if (needBytes > buffer.length) buffer = Buffer.allocUnsafeSlow(needBytes);
      bufferStart = offset;
      bufferBytes = readFully(fd, buffer, Math.min(buffer.length, fileBytes - offset), offset);
    };
    let offset = 0;
    let previousSequence = 0;
    let recordCount = 0;
    while (offset < fileBytes) {
      if (offset + LOG_RECORD_HEADER_BYTES > bufferStart + bufferBytes) load(offset, LOG_RECORD_HEADER_BYTES);
      decodeAt(buffer, offset - bufferStart, bufferBytes, view);
      if (view.status === 'torn' && view.spanBytes > 0 && offset + view.spanBytes <= fileBytes && view.spanBytes <= LOG_RECORD_BYTES_MAX + LOG_RECORD_ALIGN_BYTES) {
        load(offset, view.spanBytes);
        decodeAt(buffer, 0, bufferBytes, view);
      }
      if (view.status !== 'ok' || view.sequence <= previousSequence) {
        const reason = view.status === 'ok' ? 'sequence' : view.reason;
        throw new StorageError('corrupt', `${file} offset ${offset}: ${reason} in a sealed segment; compaction stopped`, { file, offset });
      }
      onRecord(view);
      previousSequence = view.sequence;
      recordCount++;
      offset += view.spanBytes;
    }
    return { fileBytes, recordCount };
  } finally {
    fs.closeSync(fd);
  }
}

function readFully(fd: number, buffer: Buffer, bytes: number, position: number): number {
  let got = 0;
  while (got < bytes) {
    const n = fs.readSync(fd, buffer, got, bytes - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * Writes the kept records of one run to its temporary file, re-encoded with their original
 * sequences; durableBytes is each record's own offset, which is true once the file is renamed
 * (it is fdatasync'd first), so damage to it later reads as corruption, never as a torn tail.
 */
export class RunOutput {
  readonly file: string;
  keptCount = 0;
  keptBytes = 0;
  private readonly fd: number;
  private open = true;
  private buffer = Buffer.allocUnsafeSlow(COMPACTION_WRITE_BUFFER_BYTES);
  private bufferUsed = 0;
  private readonly input: LogRecordInput;

  constructor(directory: string, segmentNumber: number) {
    this.file = path.join(directory, compactionTmpName(segmentNumber));
    this.fd = fs.openSync(this.file, 'w');
    this.input = blankPutInput(this.buffer);
  }

  /**
   * Appends a copy of the record `view` describes; `asTombstone` keeps only its identity (digest,
   * set, generation, last-update time) as a tombstone, which replays as the same removal.
   */
  add(view: LogRecordView, asTombstone = false): void {
    const dataBytes = asTombstone ? 0 : view.binsEnd - view.keyStart;
    const spanBytes = alignRecordBytes(LOG_RECORD_HEADER_BYTES + dataBytes);
    if (this.bufferUsed + spanBytes > this.buffer.length) this.writeBuffered();
    if (spanBytes > this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(spanBytes);
    const input = this.input;
    const b = view.buffer;
    input.kind = asTombstone ? LogRecordKind.TOMBSTONE : (view.kind as LogRecordKindCode);
    input.partitionId = view.partitionId;
    input.setId = view.setId;
    input.digest = b;
    input.digestOffset = view.digestOffset;
    input.generation = view.generation;
    input.voidTime = asTombstone ? 0 : view.voidTime;
    input.lastUpdateMs = view.lastUpdateMs;
    input.key = view.hasKey && !asTombstone ? b : null;
    input.keyStart = view.keyStart;
    input.keyEnd = view.keyEnd;
    input.bins = asTombstone ? null : b;
    input.binsStart = view.binsStart;
    input.binsEnd = view.binsEnd;
    encodeInto(this.buffer, this.bufferUsed, input, view.sequence, this.keptBytes);
    this.bufferUsed += spanBytes;
    this.keptBytes += spanBytes;
    this.keptCount++;
  }

  /** Writes out and fdatasyncs the file, then closes it. */
  finish(onStep: StepHook, segmentNumber: number): void {
    try {
      this.writeBuffered();
      onStep({ kind: 'tmp-written', segmentNumber });
      fs.fdatasyncSync(this.fd);
    } finally {
      this.close();
    }
    onStep({ kind: 'tmp-synced', segmentNumber });
  }

  /** Deletes the file (the job gave up before swapping it in). */
  discard(): void {
    this.close();
    fs.rmSync(this.file, { force: true });
  }

  private close(): void {
    if (this.open) fs.closeSync(this.fd);
    this.open = false;
  }

  private writeBuffered(): void {
    let done = 0;
    while (done < this.bufferUsed) done += fs.writeSync(this.fd, this.buffer, done, this.bufferUsed - done);
    this.bufferUsed = 0;
  }
}

/**
 * Swaps a run in (steps 2 and 3 above). `output` is the run's synced temporary file, or null when
 * the run keeps nothing: then every segment of it is unlinked, still in ascending order.
 */
export function commitRun(directory: string, segments: ReadonlyArray<number>, output: string | null, onStep: StepHook): void {
  const last = segments[segments.length - 1];
  const unlinked = output === null ? segments : segments.slice(0, -1);
  if (output !== null) {
    fs.renameSync(output, path.join(directory, segmentFileName(last)));
    onStep({ kind: 'renamed', segmentNumber: last });
    syncDirectory(directory);
    onStep({ kind: 'directory-synced', segmentNumber: last });
  }
  for (const segmentNumber of unlinked) {
    fs.unlinkSync(path.join(directory, segmentFileName(segmentNumber)));
    onStep({ kind: 'unlinked', segmentNumber });
    syncDirectory(directory);
    onStep({ kind: 'directory-synced', segmentNumber });
  }
}
