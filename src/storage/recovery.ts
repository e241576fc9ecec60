// Cold-start reading of one log directory: every segment in number order, each in chunks, every
// valid record handed to a callback in log order (the caller applies them; a later record of a
// digest supersedes an earlier one and a tombstone deletes).
//
// What a bad record means depends on where it is. The writer makes a segment durable before it
// creates the next, so damage in any segment but the last is corruption. In the last segment a
// crash can leave a torn tail: a short or zero-filled record, or one whose pages reached the disk
// out of order. A bad record at offset X there is a torn tail unless some later valid record says
// (in its durableBytes field) that X had already been synced when it was appended: then the
// damaged bytes were durable, perhaps acknowledged, and this is corruption too. A torn tail is
// cut off at X (ftruncate + fsync) and reported; corruption fails recovery with the file and
// offset, or with `skipCorrupt` is skipped up to the next valid record and counted. Garbage is
// never handed to the caller: a record is delivered only if its checksum and fields are valid.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type DecodeReason, LogRecordView, decodeAt } from './log-record';
import { LOG_RECORD_ALIGN_BYTES, LOG_RECORD_BYTES_MAX, LOG_RECORD_HEADER_BYTES, RECOVERY_PROGRESS_BYTES, RECOVERY_READ_CHUNK_BYTES } from '../constants';
import { StorageError } from './storage-error';
import { listSegments, segmentFileName } from './segment-files';
import type { WriterResume } from './segment-writer';

export interface RecoveryOptions {
  directory: string;
  /**
   * Called for each valid record in log order. The view (and the buffer its ranges point into) is
   * reused: copy what must outlive the call.
   */
  onRecord: (record: LogRecordView, segmentNumber: number, offset: number) => void;
  /** Skip corrupt regions (counting them) instead of failing. Default false. */
  skipCorrupt?: boolean;
  /** Cut a torn tail off the last segment. Default true; false reads without changing anything. */
  truncateTornTail?: boolean;
  /**
   * Whether the last segment can end torn (a log: default true). A snapshot part is complete and
   * synced before it exists, so any bad record in it is corruption, skipped record by record.
   */
  tornTailPossible?: boolean;
  readChunkBytes?: number;
  onProgress?: (progress: RecoveryProgress) => void;
}

export interface RecoveryProgress {
  segmentNumber: number;
  bytesRead: number;
  recordCount: number;
  elapsedMs: number;
}

export type BadRecordReason = DecodeReason | 'sequence';

export interface SkippedRegion {
  file: string;
  offset: number;
  bytes: number;
  reason: BadRecordReason;
}

export interface RecoveryReport {
  directory: string;
  segmentCount: number;
  recordCount: number;
  bytesRead: number;
  /** Highest sequence seen (0 if none). */
  lastSequence: number;
  /** The torn tail found in the last segment (cut off unless truncateTornTail was false), or null. */
  tornTail: { file: string; offset: number; bytesCut: number; reason: BadRecordReason } | null;
  skippedRegionCount: number;
  skippedBytes: number;
  /** The first SKIPPED_REGIONS_LISTED regions skipped. */
  skippedRegions: SkippedRegion[];
  elapsedMs: number;
  recordsPerSecond: number;
  /** Where a SegmentWriter continues; null for an empty directory or an uncut torn tail. */
  resume: WriterResume | null;
}

const SKIPPED_REGIONS_LISTED = 100;

/** Reads one segment through a reusable buffer, so memory stays bounded whatever the file size. */
class SegmentReader {
  buffer: Buffer;
  private fd = -1;
  private fileBytes = 0;
  private bufferFileOffset = 0;
  private bufferBytes = 0;

  constructor(private readonly chunkBytes: number) {
    this.buffer = Buffer.allocUnsafeSlow(chunkBytes);
  }

  reset(fd: number, fileBytes: number): void {
    this.fd = fd;
    this.fileBytes = fileBytes;
    this.bufferFileOffset = 0;
    this.bufferBytes = 0;
  }

  /**
   * Decodes the record at file offset `offset` into `view` (whose ranges are then offsets into
   * `buffer`, starting at bufferStart()). 'torn' with a short reason only at the end of the file.
   */
  decode(offset: number, view: LogRecordView): LogRecordView {
    const loadedEnd = this.bufferFileOffset + this.bufferBytes;
    if (offset < this.bufferFileOffset || (loadedEnd - offset < LOG_RECORD_HEADER_BYTES && loadedEnd < this.fileBytes)) {
      this.load(offset, LOG_RECORD_HEADER_BYTES);
    }
    decodeAt(this.buffer, offset - this.bufferFileOffset, this.bufferBytes, view);
    const short = view.status === 'torn' && (view.reason === 'short-header' || view.reason === 'short-record');
    if (short && this.bufferFileOffset + this.bufferBytes < this.fileBytes) {
      this.load(offset, Math.max(view.spanBytes, LOG_RECORD_HEADER_BYTES));
      decodeAt(this.buffer, 0, this.bufferBytes, view);
    }
    return view;
  }

  /** File offset of buffer[0]. */
  bufferStart(): number {
    return this.bufferFileOffset;
  }

  private load(offset: number, needBytes: number): void {
    if (needBytes > this.buffer.length) {
      // Only a record longer than a chunk gets here, and decodeAt has bounded its length.
      if (needBytes > LOG_RECORD_BYTES_MAX + LOG_RECORD_ALIGN_BYTES) throw new Error(`recovery: ${needBytes} bytes requested`);
      this.buffer = Buffer.allocUnsafeSlow(needBytes);
    }
    const want = Math.min(Math.max(this.chunkBytes, needBytes), this.buffer.length, this.fileBytes - offset);
    let got = 0;
    while (got < want) {
      const n = fs.readSync(this.fd, this.buffer, got, want - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    this.bufferFileOffset = offset;
    this.bufferBytes = got;
  }
}

/** Recovers `options.directory`; synchronous (it runs before the worker serves). */
export function recoverLog(options: RecoveryOptions): RecoveryReport {
  const started = performance.now();
  const skipCorrupt = options.skipCorrupt ?? false;
  const truncateTornTail = options.truncateTornTail ?? true;
  const tornTailPossible = options.tornTailPossible ?? true;
  const reader = new SegmentReader(options.readChunkBytes ?? RECOVERY_READ_CHUNK_BYTES);
  const view = new LogRecordView();
  const segments = listSegments(options.directory);
  const report: RecoveryReport = {
    directory: options.directory,
    segmentCount: segments.length,
    recordCount: 0,
    bytesRead: 0,
    lastSequence: 0,
    tornTail: null,
    skippedRegionCount: 0,
    skippedBytes: 0,
    skippedRegions: [],
    elapsedMs: 0,
    recordsPerSecond: 0,
    resume: null,
  };
  let progressAt = RECOVERY_PROGRESS_BYTES;
  let lastSegmentEnd = 0;
  for (let i = 0; i < segments.length; i++) {
    const segmentNumber = segments[i];
    const isLast = i === segments.length - 1;
    const file = path.join(options.directory, segmentFileName(segmentNumber));
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      // Compaction or a snapshot's release may delete a sealed segment between the listing and
      // here (a worker restarting by adoption reads the log while they run): nothing was lost.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !isLast) continue;
      throw err;
    }
    let offset = 0;
    let fileBytes = 0;
    try {
      fileBytes = fs.fstatSync(fd).size;
      reader.reset(fd, fileBytes);
      let previousSequence = 0;
      while (offset < fileBytes) {
        reader.decode(offset, view);
        if (view.status === 'ok' && view.sequence > previousSequence) {
          options.onRecord(view, segmentNumber, offset);
          previousSequence = view.sequence;
          if (view.sequence > report.lastSequence) report.lastSequence = view.sequence;
          report.recordCount++;
          offset += view.spanBytes;
          if (offset >= progressAt && options.onProgress !== undefined) {
            progressAt = offset + RECOVERY_PROGRESS_BYTES;
            options.onProgress({ segmentNumber, bytesRead: report.bytesRead + offset, recordCount: report.recordCount, elapsedMs: performance.now() - started });
          }
          continue;
        }
        const reason: BadRecordReason = view.status === 'ok' ? 'sequence' : view.reason;
        // A valid record out of sequence order was written that way: never a torn write.
        if (isLast && tornTailPossible && reason !== 'sequence' && !laterRecordProvesDurable(reader, view, offset, fileBytes)) {
          report.tornTail = { file, offset, bytesCut: fileBytes - offset, reason };
          if (truncateTornTail) cutTail(file, offset);
          break;
        }
        if (!skipCorrupt) {
          throw new StorageError(
            'corrupt',
            `${file} offset ${offset}: ${reason}; recovery stopped. With the node stopped, \`aerie verify --data-dir DIR --repair\` cuts the damage out (counting what is lost) or restores it from a copy; the namespace's recoverySkipCorrupt: true skips it at start instead`,
            { file, offset },
          );
        }
        const next = nextValidRecord(reader, view, offset + LOG_RECORD_ALIGN_BYTES, fileBytes);
        const resumeAt = next < 0 ? fileBytes : next;
        report.skippedRegionCount++;
        report.skippedBytes += resumeAt - offset;
        if (report.skippedRegions.length < SKIPPED_REGIONS_LISTED) report.skippedRegions.push({ file, offset, bytes: resumeAt - offset, reason });
        offset = resumeAt;
      }
    } finally {
      fs.closeSync(fd);
    }
    report.bytesRead += offset;
    lastSegmentEnd = report.tornTail !== null ? report.tornTail.offset : fileBytes;
  }
  if (segments.length > 0 && (report.tornTail === null || truncateTornTail)) {
    report.resume = { segmentNumber: segments[segments.length - 1], segmentBytes: lastSegmentEnd, nextSequence: report.lastSequence + 1 };
  }
  report.elapsedMs = performance.now() - started;
  report.recordsPerSecond = report.elapsedMs > 0 ? Math.round((report.recordCount * 1000) / report.elapsedMs) : 0;
  return report;
}

/** The offset of the first valid record at or after `from` (8-aligned), or -1. */
function nextValidRecord(reader: SegmentReader, view: LogRecordView, from: number, fileBytes: number): number {
  for (let at = from; at < fileBytes; at += LOG_RECORD_ALIGN_BYTES) {
    if (reader.decode(at, view).status === 'ok') return at;
  }
  return -1;
}

/** Whether a valid record after `badOffset` was appended when badOffset was already durable. */
function laterRecordProvesDurable(reader: SegmentReader, view: LogRecordView, badOffset: number, fileBytes: number): boolean {
  let at = badOffset + LOG_RECORD_ALIGN_BYTES;
  while (at < fileBytes) {
    at = nextValidRecord(reader, view, at, fileBytes);
    if (at < 0) return false;
    if (view.durableBytes > badOffset) return true;
    at += view.spanBytes;
  }
  return false;
}

function cutTail(file: string, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.ftruncateSync(fd, offset);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
