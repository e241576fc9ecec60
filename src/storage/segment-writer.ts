// One worker's append-only log for one namespace: records are encoded into a buffer allocated at
// open, written to the current segment with positional writes, and made durable by fdatasync.
//
// Group commit: flush() returns the promise of the next sync. Every flush() of the same turn gets
// the same promise, and appends made while a sync runs join the sync after it, so N concurrent
// writers cost about one fdatasync per round, not N (fdatasync costs ~0.2 ms here, and is
// ~0.6 ms on the reference VM: see docs/storage.md).
//
// Roll-over: a record that does not fit the current segment first makes the old segment durable
// (write + fdatasync, inline), then creates the next one and fsyncs the directory. So only the
// last segment can ever end torn, which is what lets recovery call damage anywhere else corruption.
//
// Failure: a failed sync, segment creation, or write for any reason but a full device puts the
// writer in a failed state for good. After an fsync error the kernel may have dropped the dirty
// pages and marked them clean, so a retry could "succeed" without the data: the only honest answer
// is to stop acknowledging. Every later append and flush throws or rejects with the same
// StorageError (SERVER_ERROR, inDoubt).
//
// A full device is different: a write() that fails with ENOSPC (or EDQUOT) wrote nothing past the
// bytes it reported, so the writer *stalls* instead. The records not yet written stay in its
// buffer, in order, behind the bytes that made it; every flush rejects with a 'no-space'
// StorageError (SERVER_MEM, inDoubt), and retryStalled() writes and syncs them once space returns.
// So the log never loses a record that memory holds: what the store applied is either written
// later or lost with the process, and was never acknowledged either way. While stalled, appends
// are still taken (the buffer grows by at most STALLED_LOG_BYTES_MAX): a caller that already
// applied a write to memory must be able to log it; callers refuse new work before applying it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { type LogRecordInput, encodeInto, logRecordSpanBytes } from './log-record';
import {
  FLUSH_MS_MAX,
  FLUSH_MS_MIN,
  LOG_RECORD_DATA_BYTES_MAX_DEFAULT,
  LOG_RECORD_HEADER_BYTES,
  LOG_SEQUENCE_MAX,
  SEGMENT_BYTES_DEFAULT,
  SEGMENT_BYTES_MAX,
  SEGMENT_BYTES_MIN,
  SEGMENT_NUMBER_MAX,
  STALLED_LOG_BYTES_MAX,
  WRITE_BUFFER_BYTES_DEFAULT,
} from '../constants';
import { StorageError, type StorageFailure } from './storage-error';
import { ensureDirectory, listSegments, segmentFileName } from './segment-files';
import type { StorageFaults } from './storage-faults';

/**
 * commit-to-device: flush() resolves after the records are fdatasync'd. flush-ms: flush() resolves
 * after write(); a timer syncs every flushMs, so a crash of the machine (not of the process) may lose
 * the acknowledged writes of the last flushMs plus one sync.
 */
export type CommitPolicy = { kind: 'commit-to-device' } | { kind: 'flush-ms'; flushMs: number };

/**
 * inline: fdatasyncSync on the writer's thread (blocks it for one sync per group).
 * threadpool: fs.fdatasync on libuv's pool (the thread keeps working; the pool is per process and
 * has UV_THREADPOOL_SIZE threads, 4 by default, shared by every worker).
 */
export type SyncMode = 'inline' | 'threadpool';

/** Where to continue after recovery (RecoveryReport.resume). */
export interface WriterResume {
  segmentNumber: number;
  /** The segment's length after recovery truncated it; everything before it is durable. */
  segmentBytes: number;
  nextSequence: number;
}

export interface SyncEvent {
  cause: 'group' | 'timer' | 'roll' | 'directory' | 'retry';
  /** Records made durable by this sync (0 for a directory sync). */
  recordCount: number;
  /** Bytes written since the previous sync of this segment. */
  bytes: number;
  /** performance.now() just before the sync began: its owner times fsync latency from it. */
  startedAtMs: number;
}

export interface SegmentWriterOptions {
  directory: string;
  commit?: CommitPolicy;
  syncMode?: SyncMode;
  segmentBytes?: number;
  /** Key plus bins bytes a record may have; sizes the buffer (the namespace's max-record-size). */
  recordDataBytesMax?: number;
  bufferBytes?: number;
  resume?: WriterResume | null;
  /** Called after every fdatasync or directory fsync: a metrics and test hook, not a mock. */
  onSync?: (event: SyncEvent) => void;
  /** Called once when the writer fails, so the owner can stop acknowledging and say so loudly. */
  onFailure?: (error: StorageError) => void;
  /** Injected write and sync errors (tests and drills, src/storage/storage-faults.ts); null in production. */
  faults?: StorageFaults | null;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const RESOLVED = Promise.resolve();

export class SegmentWriter {
  readonly directory: string;
  readonly commit: CommitPolicy;
  readonly syncMode: SyncMode;
  readonly segmentBytesMax: number;
  readonly recordDataBytesMax: number;

  /** Statistics (monotonic counters). */
  syncCount = 0;
  appendCount = 0;

  /** Total bytes appended since open (a free-space monitor counts them against its last statfs). */
  appendedBytes = 0;
  /** Times a write found the device full (each stall, however long). */
  stallCount = 0;

  /** Replaced by a larger one only while stalled (see the file comment). */
  private buffer: Buffer;
  private readonly bufferBytes: number;
  private readonly faults: StorageFaults | null;
  /** Set while a write waits for space: the 'no-space' error every flush rejects with. */
  private stall: StorageError | null = null;
  private readonly onSync: ((event: SyncEvent) => void) | undefined;
  private readonly onFailure: ((error: StorageError) => void) | undefined;
  private readonly dirFd: number;
  private fd: number;
  private currentSegment: number;
  /** Segment offsets: appended (buffer included) ≥ written ≥ durable. */
  private appendedEnd: number;
  private writtenEnd: number;
  private durableEnd: number;
  private bufferUsed = 0;
  private nextSequence: number;
  private durableSequence: number;
  private syncing = false;
  private syncScheduled = false;
  private syncingCovers = 0;
  private syncingDeferred: Deferred | null = null;
  private nextDeferred: Deferred | null = null;
  /** fds of finished segments whose in-flight sync must end before they are closed. */
  private readonly retiredFds: number[] = [];
  private idleWaiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  private failure: StorageError | null = null;
  private closed = false;
  private readonly runSyncBound = (): void => this.runSync('group');

  private constructor(options: SegmentWriterOptions, dirFd: number, fd: number, segmentNumber: number, segmentUsedBytes: number, nextSequence: number) {
    this.directory = options.directory;
    this.commit = options.commit ?? { kind: 'commit-to-device' };
    this.syncMode = options.syncMode ?? 'inline';
    this.segmentBytesMax = options.segmentBytes ?? SEGMENT_BYTES_DEFAULT;
    this.recordDataBytesMax = options.recordDataBytesMax ?? LOG_RECORD_DATA_BYTES_MAX_DEFAULT;
    this.bufferBytes = options.bufferBytes ?? WRITE_BUFFER_BYTES_DEFAULT;
    this.buffer = Buffer.allocUnsafeSlow(this.bufferBytes);
    this.faults = options.faults ?? null;
    this.onSync = options.onSync;
    this.onFailure = options.onFailure;
    this.dirFd = dirFd;
    this.fd = fd;
    this.currentSegment = segmentNumber;
    this.appendedEnd = this.writtenEnd = this.durableEnd = segmentUsedBytes;
    this.nextSequence = nextSequence;
    this.durableSequence = nextSequence - 1;
    if (this.commit.kind === 'flush-ms') {
      this.timer = setInterval(() => this.runSync('timer'), this.commit.flushMs);
      this.timer.unref();
    }
  }

  /**
   * Opens the log in `directory`. Without `resume` the directory must hold no segments (run
   * recovery first); with it, appending continues in the recovered last segment.
   */
  static open(options: SegmentWriterOptions): SegmentWriter {
    checkOptions(options);
    const directory = options.directory;
    try {
      ensureDirectory(directory);
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new StorageError('open-failed', `cannot create ${directory}: ${(err as Error).message}`, { file: directory, cause: err });
    }
    const existing = listSegments(directory);
    const resume = options.resume ?? null;
    const last = existing.length === 0 ? 0 : existing[existing.length - 1];
    if (resume === null ? last !== 0 : last !== resume.segmentNumber) {
      throw new StorageError('bad-directory', `${directory} holds segments up to ${last}; open the writer with the resume point recovery returned`, { file: directory });
    }
    const dirFd = fs.openSync(directory, 'r');
    let fd = -1;
    try {
      if (resume === null) {
        fd = fs.openSync(path.join(directory, segmentFileName(1)), 'wx');
        fs.fsyncSync(dirFd);
        return new SegmentWriter(options, dirFd, fd, 1, 0, 1);
      }
      const file = path.join(directory, segmentFileName(resume.segmentNumber));
      fd = fs.openSync(file, 'r+');
      const size = fs.fstatSync(fd).size;
      if (size !== resume.segmentBytes) {
        throw new StorageError('bad-directory', `${file} is ${size} bytes, recovery left ${resume.segmentBytes}`, { file });
      }
      return new SegmentWriter(options, dirFd, fd, resume.segmentNumber, resume.segmentBytes, resume.nextSequence);
    } catch (err) {
      if (fd >= 0) fs.closeSync(fd);
      fs.closeSync(dirFd);
      if (err instanceof StorageError) throw err;
      throw new StorageError('open-failed', `cannot open a segment in ${directory}: ${(err as Error).message}`, { file: directory, cause: err });
    }
  }

  get failed(): boolean {
    return this.failure !== null;
  }
  /** The error that failed the writer, or null. */
  get error(): StorageError | null {
    return this.failure;
  }
  /** True while records wait for space to be written (retryStalled). */
  get stalled(): boolean {
    return this.stall !== null && this.failure === null;
  }
  /** The 'no-space' error of the current stall, or null. */
  get stallError(): StorageError | null {
    return this.stall;
  }
  /** Bytes appended but not yet written to the file (all of them wait while stalled). */
  get unwrittenBytes(): number {
    return this.bufferUsed;
  }
  /** The segment the next record goes to (unless it rolls). */
  get segmentNumber(): number {
    return this.currentSegment;
  }
  /** The last sequence appended (0 if none yet). */
  get lastSequence(): number {
    return this.nextSequence - 1;
  }
  /** Every record up to this sequence is on the device. */
  get durableSequenceNumber(): number {
    return this.durableSequence;
  }

  /**
   * Buffers one record and returns its sequence. Throws RECORD_TOO_BIG (the log is unchanged) or,
   * if a roll-over or buffer spill fails for good, the writer's StorageError. A full device does
   * not throw: the record waits in the buffer with the others (see the file comment).
   */
  append(input: LogRecordInput): number {
    this.checkUsable();
    const keyBytes = input.key === null ? 0 : input.keyEnd - input.keyStart;
    const binsBytes = input.bins === null ? 0 : input.binsEnd - input.binsStart;
    if (keyBytes + binsBytes > this.recordDataBytesMax) {
      throw new StorageError('record-too-big', `record of ${keyBytes + binsBytes} key and bin bytes exceeds ${this.recordDataBytesMax}`);
    }
    if (this.nextSequence > LOG_SEQUENCE_MAX) throw new RangeError('log sequence exhausted');
    const spanBytes = logRecordSpanBytes(keyBytes, binsBytes);
    if (this.stall === null) {
      try {
        if (this.appendedEnd + spanBytes > this.segmentBytesMax) this.roll();
        if (this.bufferUsed + spanBytes > this.buffer.length) this.writeBuffered();
      } catch (err) {
        if (err !== this.stall) throw err;
      }
    }
    // Stalled (now or before): the segment rolls after the retry, so it may overshoot
    // segmentBytes by what waits, which recovery does not mind.
    if (this.bufferUsed + spanBytes > this.buffer.length) this.growStalledBuffer(spanBytes);
    const sequence = this.nextSequence;
    encodeInto(this.buffer, this.bufferUsed, input, sequence, this.durableEnd);
    this.bufferUsed += spanBytes;
    this.appendedEnd += spanBytes;
    this.appendedBytes += spanBytes;
    this.nextSequence = sequence + 1;
    this.appendCount++;
    return sequence;
  }

  /**
   * Resolves when every record appended so far may be acknowledged under the commit policy:
   * fdatasync'd (commit-to-device) or written (flush-ms). Rejects with the writer's error.
   */
  flush(): Promise<void> {
    if (this.commit.kind === 'commit-to-device') return this.sync();
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(this.closedError());
    if (this.stall !== null) return Promise.reject(this.stall);
    try {
      this.writeBuffered();
    } catch (err) {
      return Promise.reject(err);
    }
    return RESOLVED;
  }

  /** Resolves when every record appended so far is fdatasync'd, whatever the policy. */
  sync(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(this.closedError());
    const last = this.nextSequence - 1;
    if (last <= this.durableSequence) return RESOLVED;
    if (this.stall !== null) return Promise.reject(this.stall);
    if (this.syncing && last <= this.syncingCovers) {
      // The sync in flight covers these records (a timer sync has no deferred until someone asks).
      this.syncingDeferred ??= deferred();
      return this.syncingDeferred.promise;
    }
    if (this.nextDeferred === null) {
      this.nextDeferred = deferred();
      if (!this.syncing && !this.syncScheduled) {
        // Deferred to the end of the turn, so every append of this turn shares the sync.
        this.syncScheduled = true;
        setImmediate(this.runSyncBound);
      }
    }
    return this.nextDeferred.promise;
  }

  /**
   * After a stall: writes what waits and fdatasyncs it. True when the log takes writes again;
   * false while the device is still full (or the log failed for good, or a sync is in flight).
   */
  retryStalled(): boolean {
    if (this.stall === null) return this.failure === null && !this.closed;
    if (this.failure !== null || this.closed || this.syncing) return false;
    try {
      this.writeBuffered();
    } catch {
      return false; // still no space (the stall stands), or failed for good
    }
    const covers = this.nextSequence - 1;
    const event: SyncEvent = { cause: 'retry', recordCount: covers - this.durableSequence, bytes: this.writtenEnd - this.durableEnd, startedAtMs: performance.now() };
    try {
      this.faults?.beforeSync();
      fs.fdatasyncSync(this.fd);
    } catch (err) {
      this.fail('sync-failed', err);
      return false;
    }
    this.stall = null;
    this.syncCount++;
    this.durableSequence = covers;
    this.durableEnd = this.writtenEnd;
    this.onSync?.(event);
    return true;
  }

  /** Syncs what was appended, then closes the files. Safe to call after a failure. */
  async close(): Promise<void> {
    if (this.closed) return;
    let syncError: unknown = null;
    if (this.failure === null) {
      try {
        await this.sync();
      } catch (err) {
        syncError = err;
      }
    }
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    while (this.syncing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.closeRetired();
    if (this.fd >= 0) fs.closeSync(this.fd);
    fs.closeSync(this.dirFd);
    if (syncError !== null) throw syncError;
  }

  private checkUsable(): void {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw this.closedError();
  }

  private closedError(): StorageError {
    return new StorageError('writer-closed', `log ${this.directory} is closed`);
  }

  /** Writes the buffered records at the segment's written end (no sync). */
  private writeBuffered(): void {
    if (this.bufferUsed === 0) return;
    let done = 0;
    try {
      while (done < this.bufferUsed) {
        this.faults?.beforeWrite();
        done += fs.writeSync(this.fd, this.buffer, done, this.bufferUsed - done, this.writtenEnd + done);
      }
    } catch (err) {
      throw this.writeFailed(err, done);
    }
    this.writtenEnd += this.bufferUsed;
    this.bufferUsed = 0;
  }

  /**
   * A write() failed after `done` bytes: those are in the file, the rest stays buffered. A full
   * device stalls the writer (retryable); any other error fails it for good.
   */
  private writeFailed(err: unknown, done: number): StorageError {
    if (done > 0) {
      this.buffer.copyWithin(0, done, this.bufferUsed);
      this.bufferUsed -= done;
      this.writtenEnd += done;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') return this.fail('write-failed', err);
    if (this.stall === null) {
      const file = path.join(this.directory, segmentFileName(this.currentSegment));
      this.stall = new StorageError('no-space', `log ${file}: no space left on the device (${code}); ${this.bufferUsed} bytes wait to be written`, {
        file,
        inDoubt: true,
        cause: err,
      });
      this.stallCount++;
    }
    // The records these flushes wait for are not on disk: in doubt, as the stall error says.
    for (const pending of [this.syncingDeferred, this.nextDeferred]) pending?.reject(this.stall);
    this.syncingDeferred = this.nextDeferred = null;
    return this.stall;
  }

  /** Room for one more record while stalled (a caller's drain under way when space ran out). */
  private growStalledBuffer(spanBytes: number): void {
    const needed = this.bufferUsed + spanBytes;
    if (this.stall === null || needed > this.bufferBytes + STALLED_LOG_BYTES_MAX) {
      throw this.fail('write-failed', new Error(`${needed} bytes wait to be written, more than a stalled log may hold`));
    }
    const grown = Buffer.allocUnsafeSlow(Math.min(Math.max(needed, this.buffer.length * 2), this.bufferBytes + STALLED_LOG_BYTES_MAX));
    this.buffer.copy(grown, 0, 0, this.bufferUsed);
    this.buffer = grown;
  }

  private runSync(cause: 'group' | 'timer'): void {
    if (cause === 'group') {
      this.syncScheduled = false;
      if (this.nextDeferred === null) return;
    }
    if (this.failure !== null || this.stall !== null || this.syncing || (this.closed && cause === 'timer')) return;
    const pending = this.nextDeferred;
    this.nextDeferred = null;
    const covers = this.nextSequence - 1;
    if (covers <= this.durableSequence) {
      pending?.resolve();
      return;
    }
    this.syncing = true;
    this.syncingCovers = covers;
    this.syncingDeferred = pending;
    try {
      this.writeBuffered();
    } catch {
      this.syncing = false;
      return; // fail() or writeFailed() rejected `pending` through syncingDeferred
    }
    const fd = this.fd;
    const segmentNumber = this.currentSegment;
    const end = this.writtenEnd;
    const event: SyncEvent = { cause, recordCount: covers - this.durableSequence, bytes: end - this.durableEnd, startedAtMs: performance.now() };
    let injected: Error | null = null;
    try {
      this.faults?.beforeSync();
    } catch (err) {
      injected = err as Error;
    }
    if (this.syncMode === 'inline') {
      let error: Error | null = injected;
      try {
        if (error === null) fs.fdatasyncSync(fd);
      } catch (err) {
        error = err as Error;
      }
      this.syncDone(error, covers, segmentNumber, end, event);
    } else if (injected !== null) {
      setImmediate(() => this.syncDone(injected, covers, segmentNumber, end, event));
    } else {
      fs.fdatasync(fd, (err) => this.syncDone(err, covers, segmentNumber, end, event));
    }
  }

  private syncDone(err: Error | null, covers: number, segmentNumber: number, end: number, event: SyncEvent): void {
    this.syncing = false;
    if (err !== null) this.fail('sync-failed', err);
    const done = this.syncingDeferred;
    this.syncingDeferred = null;
    this.closeRetired();
    const idle = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of idle) wake();
    if (this.failure !== null) return;
    this.syncCount++;
    if (covers > this.durableSequence) this.durableSequence = covers;
    if (segmentNumber === this.currentSegment && end > this.durableEnd) this.durableEnd = end;
    this.onSync?.(event);
    done?.resolve();
    if (this.nextDeferred !== null) this.runSync('group');
  }

  /** Makes the current segment durable and starts the next one (see the file comment). */
  private roll(): void {
    this.writeBuffered();
    const event: SyncEvent = { cause: 'roll', recordCount: this.nextSequence - 1 - this.durableSequence, bytes: this.writtenEnd - this.durableEnd, startedAtMs: performance.now() };
    try {
      this.faults?.beforeSync();
      fs.fdatasyncSync(this.fd);
    } catch (err) {
      throw this.fail('sync-failed', err);
    }
    this.syncCount++;
    this.durableSequence = this.nextSequence - 1;
    this.onSync?.(event);
    // An async sync may still be running on the old fd: close it when that sync ends.
    if (this.syncing) this.retiredFds.push(this.fd);
    else fs.closeSync(this.fd);
    const segmentNumber = this.currentSegment + 1;
    if (segmentNumber > SEGMENT_NUMBER_MAX) throw this.fail('open-failed', new Error('segment numbers exhausted'));
    try {
      this.fd = fs.openSync(path.join(this.directory, segmentFileName(segmentNumber)), 'wx');
    } catch (err) {
      this.fd = -1;
      throw this.fail('open-failed', err);
    }
    this.currentSegment = segmentNumber;
    this.appendedEnd = this.writtenEnd = this.durableEnd = 0;
    const startedAtMs = performance.now();
    try {
      this.faults?.beforeSync();
      fs.fsyncSync(this.dirFd);
    } catch (err) {
      throw this.fail('sync-failed', err);
    }
    this.syncCount++;
    this.onSync?.({ cause: 'directory', recordCount: 0, bytes: 0, startedAtMs });
  }

  private closeRetired(): void {
    if (this.syncing) return;
    for (const fd of this.retiredFds) fs.closeSync(fd);
    this.retiredFds.length = 0;
  }

  private fail(failure: StorageFailure, cause: unknown): StorageError {
    if (this.failure !== null) return this.failure;
    const file = path.join(this.directory, segmentFileName(this.currentSegment));
    const error = new StorageError(failure, `log ${file}: ${failure}: ${(cause as Error).message}; this log accepts no more writes`, {
      file,
      inDoubt: true,
      cause,
    });
    this.failure = error;
    if (this.timer !== null) clearInterval(this.timer);
    for (const pending of [this.syncingDeferred, this.nextDeferred]) pending?.reject(error);
    this.syncingDeferred = this.nextDeferred = null;
    this.onFailure?.(error);
    return error;
  }
}

function checkOptions(options: SegmentWriterOptions): void {
  const segmentBytes = options.segmentBytes ?? SEGMENT_BYTES_DEFAULT;
  const recordDataBytesMax = options.recordDataBytesMax ?? LOG_RECORD_DATA_BYTES_MAX_DEFAULT;
  const bufferBytes = options.bufferBytes ?? WRITE_BUFFER_BYTES_DEFAULT;
  const largestSpan = logRecordSpanBytes(0, recordDataBytesMax);
  const ok =
    Number.isInteger(segmentBytes) &&
    segmentBytes >= SEGMENT_BYTES_MIN &&
    segmentBytes <= SEGMENT_BYTES_MAX &&
    segmentBytes % 8 === 0 &&
    Number.isInteger(recordDataBytesMax) &&
    recordDataBytesMax >= 0 &&
    largestSpan <= segmentBytes &&
    largestSpan <= bufferBytes &&
    largestSpan >= LOG_RECORD_HEADER_BYTES;
  if (!ok) {
    throw new RangeError(
      `SegmentWriter: segmentBytes ${segmentBytes}, bufferBytes ${bufferBytes} and recordDataBytesMax ${recordDataBytesMax} are inconsistent: a largest record (${largestSpan} bytes) must fit both`,
    );
  }
  const commit = options.commit;
  if (commit?.kind === 'flush-ms' && !(Number.isInteger(commit.flushMs) && commit.flushMs >= FLUSH_MS_MIN && commit.flushMs <= FLUSH_MS_MAX)) {
    throw new RangeError(`SegmentWriter: flushMs ${commit.flushMs} outside [${FLUSH_MS_MIN}, ${FLUSH_MS_MAX}]`);
  }
  const resume = options.resume;
  if (resume != null && !(resume.segmentBytes >= 0 && resume.segmentBytes % 8 === 0 && resume.nextSequence >= 1)) {
    throw new RangeError(`SegmentWriter: bad resume point ${JSON.stringify(resume)}`);
  }
}
