// A file-backed namespace on one worker: every committed write is appended to the worker's log
// (the full new record, or a tombstone), and the responses of a batch are released only once the
// log says they may be (src/storage: group commit). At a cold start the log is replayed into the
// record store; a restarted thread that adopted the store from shared memory only reopens it.
//
// The log also owns the namespace's disk state on this worker (src/storage/disk-space.ts): free
// space under the reserve stops writes, a write that found the device full stalls the log until
// space returns, an I/O error fails it for good. The engine asks writeRefusal() / deleteRefusal()
// before it applies anything, so a refused request changed nothing (a clean failure); each change
// of state is logged once, with what was refused in the episode that ends.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NamespaceConfig } from '../config';
import {
  DIGEST_BYTES,
  DISK_CHECK_APPENDED_BYTES,
  DISK_CHECK_INTERVAL_MS,
  DISK_DELETE_FLOOR_PCT,
  DISK_RESUME_MARGIN_PCT,
  LOG_RECORD_ALIGN_BYTES,
  LOG_RECORD_HEADER_BYTES,
  WRITE_BUFFER_BYTES_DEFAULT,
} from '../constants';
import { AerieError, Status } from '../errors';
import type { EventLevel, LogFields } from '../log';
import { partitionOf } from '../partition/digest';
import { blankPutInput, LogRecordKind, TRUNCATE_ALL_SETS, type LogRecordInput, type LogRecordView } from '../storage/log-record';
import { recoverLog, type RecoveryReport } from '../storage/recovery';
import { logDirectory, segmentFileName } from '../storage/segment-files';
import { SegmentWriter } from '../storage/segment-writer';
import { DiskSpace, DiskState, diskStateName, type DiskStateCode } from '../storage/disk-space';
import type { StorageFaults } from '../storage/storage-faults';
import type { RecordStore } from '../shm/record-store';
import type { LogWatermarks } from '../shm/stats';
import { fillPutInput } from '../snapshot/record-input';
import { hasExpired } from '../shm/void-time';

/** fdatasync one file (opened read-only: Linux syncs through any descriptor). */
function syncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Where a log reports its changes of disk state (once per episode): a `disk-state` event for the
 * node's log, its fields saying the state, the figures, and at an episode's end its length and count.
 */
export type DiskLogger = (level: EventLevel, message: string, fields: LogFields) => void;

export class NamespaceLog {
  readonly writer: SegmentWriter;
  /** Where this log publishes its sequences for compaction jobs (null in tests that need none). */
  readonly watermarks: LogWatermarks | null;
  /** Appended to since the last flush: the batch's responses must wait for it. */
  dirty = false;
  readonly disk: DiskSpace;
  /** The namespace's disk state on this worker (DiskState). */
  diskState: DiskStateCode = DiskState.OK;
  /** Writes (and deletes) refused because of the disk, since open, and in the current episode. */
  refusedCount = 0;
  private episodeRefused = 0;
  private episodeStartMs = 0;
  /** The error a refused write is answered with in the current state (built once per change). */
  private refusal: AerieError | null = null;
  private nextCheckBytes = 0;
  private appendedAtCheck = 0;
  private readonly name: string;
  private readonly report: DiskLogger;
  private readonly input: LogRecordInput;

  private constructor(writer: SegmentWriter, watermarks: LogWatermarks | null, disk: DiskSpace, name: string, report: DiskLogger) {
    this.writer = writer;
    this.watermarks = watermarks;
    this.disk = disk;
    this.name = name;
    this.report = report;
    this.input = blankPutInput(new Uint8Array(DIGEST_BYTES));
  }

  /**
   * Opens the namespace's log for this worker. Without `adopted`, the log is first replayed into
   * `store` (a cold start); with it, the store already holds everything and the log is only read
   * to find where appending resumes. `watermarks` receives the log's sequences (src/shm/stats.ts).
   */
  static open(
    config: NamespaceConfig,
    workerIndex: number,
    store: RecordStore,
    adopted: boolean,
    nowVoid: number,
    watermarks: LogWatermarks | null = null,
    replayAfterSequence = 0,
    faults: StorageFaults | null = null,
    report: DiskLogger = () => undefined,
  ): { log: NamespaceLog; report: RecoveryReport } {
    const directory = logDirectory(config.dataDir, config.name, workerIndex);
    // Records up to replayAfterSequence are in the snapshot the store was loaded from.
    const replay = (view: LogRecordView) => {
      if (view.sequence > replayAfterSequence) apply(store, view, nowVoid);
    };
    const recovery = recoverLog({ directory, onRecord: adopted ? () => undefined : replay, skipCorrupt: config.recoverySkipCorrupt });
    const writer: SegmentWriter = SegmentWriter.open({
      faults,
      directory,
      commit: config.commit === 'flush-ms' ? { kind: 'flush-ms', flushMs: config.flushMs } : { kind: 'commit-to-device' },
      segmentBytes: config.segmentBytes,
      recordDataBytesMax: config.recordBytesMax,
      // The buffer must hold a largest record; the default fits the default record size only.
      bufferBytes: Math.max(WRITE_BUFFER_BYTES_DEFAULT, LOG_RECORD_HEADER_BYTES + config.recordBytesMax + LOG_RECORD_ALIGN_BYTES),
      resume: recovery.resume,
      onSync: watermarks === null ? undefined : (e) => watermarks.synced(writer.durableSequenceNumber, writer.segmentNumber, e.bytes, Math.round((performance.now() - e.startedAtMs) * 1000)),
      onFailure: watermarks === null ? undefined : () => watermarks.failed(),
    });
    if (watermarks !== null) {
      // The recovered tail may still be only in the page cache (a killed process's unsynced
      // writes): make it durable before publishing it as durable, which compaction relies on.
      if (recovery.resume !== null) syncFile(path.join(directory, segmentFileName(recovery.resume.segmentNumber)));
      watermarks.opened(adopted, recovery.lastSequence, writer.segmentNumber);
    }
    const disk = new DiskSpace({ directory, minFreeBytes: config.diskMinFreeBytes, minFreePct: config.diskMinFreePct, faults });
    const log = new NamespaceLog(writer, watermarks, disk, config.name, report);
    log.checkSpace(Date.now());
    return { log, report: recovery };
  }

  /** Refuses writes once the log has failed for good: nothing is acknowledged that is not durable. */
  checkWritable(): number {
    return this.writer.failed ? Status.SERVER_ERROR : 0;
  }

  /** True while this log can take no record at all (stalled or failed): replicated writes wait. */
  get blocked(): boolean {
    return this.writer.failed || this.writer.stalled;
  }

  /**
   * The error a write (put, touch, operate) must be refused with before it is applied, or null:
   * SERVER_MEM while the disk is under its reserve or full, SERVER_ERROR once the log failed.
   * Counts the refusal.
   */
  writeRefusal(): AerieError | null {
    if (this.diskState === DiskState.OK) return null;
    this.refusedCount++;
    this.episodeRefused++;
    return this.refusal;
  }

  /** The same for a delete or truncate, which may still write into the reserve. */
  deleteRefusal(): AerieError | null {
    if (this.diskState === DiskState.OK || this.diskState === DiskState.STOP_WRITES) return null;
    this.refusedCount++;
    this.episodeRefused++;
    return this.refusal;
  }

  /** Free bytes now, as estimated from the last statfs less this worker's appends since. */
  get freeBytesEstimate(): number {
    if (this.disk.freeBytes < 0) return -1;
    return Math.max(0, this.disk.freeBytes - (this.writer.appendedBytes - this.appendedAtCheck));
  }

  /**
   * Re-reads free space when due (forced after a failed flush), retries a stalled log once space
   * is back, and moves to the state that follows. Cheap when nothing is due.
   */
  tick(nowMs: number, force = false): void {
    if (force || nowMs - this.disk.checkedAtMs >= DISK_CHECK_INTERVAL_MS || this.writer.appendedBytes >= this.nextCheckBytes) this.checkSpace(nowMs);
    else this.updateState(nowMs);
  }

  private checkSpace(nowMs: number): void {
    this.disk.check(nowMs);
    this.appendedAtCheck = this.writer.appendedBytes;
    this.nextCheckBytes = this.appendedAtCheck + DISK_CHECK_APPENDED_BYTES;
    // What waits is written only with room to spare: a retry into a device that is still
    // nearly full would stall again at once.
    if (this.writer.stalled && this.disk.freeBytes > this.deleteFloorBytes() + this.writer.unwrittenBytes) this.writer.retryStalled();
    this.updateState(nowMs);
  }

  private deleteFloorBytes(): number {
    return Math.floor((this.disk.reserveBytes * DISK_DELETE_FLOOR_PCT) / 100);
  }

  private updateState(nowMs: number): void {
    const free = this.freeBytesEstimate;
    const known = free >= 0;
    // Leaving a stop (to a milder state) needs free space past the reserve by a margin.
    const margin = this.diskState === DiskState.OK ? 0 : Math.floor((this.disk.reserveBytes * DISK_RESUME_MARGIN_PCT) / 100);
    const next: DiskStateCode = this.writer.failed
      ? DiskState.FAILED
      : this.writer.stalled || (known && free < this.deleteFloorBytes() + (this.diskState === DiskState.FULL ? margin : 0))
        ? DiskState.FULL
        : known && free < this.disk.reserveBytes + margin
          ? DiskState.STOP_WRITES
          : DiskState.OK;
    if (next === this.diskState) return;
    const before = this.diskState;
    this.diskState = next;
    const where = `the device of ${this.disk.directory}`;
    const figures = `${free} bytes free, reserve ${this.disk.reserveBytes} (diskMinFreeBytes / diskMinFreePct)`;
    if (before === DiskState.OK) {
      this.episodeStartMs = nowMs;
      this.episodeRefused = 0;
    }
    const fields: LogFields = {
      namespace: this.name,
      state: diskStateName(next),
      previous: diskStateName(before),
      freeBytes: free,
      reserveBytes: this.disk.reserveBytes,
      errno: null,
      code: null,
    };
    if (next === DiskState.OK) {
      this.refusal = null;
      const durationMs = nowMs - this.episodeStartMs;
      this.report('warn', `namespace ${this.name}: disk ${diskStateName(before)} over after ${durationMs} ms (${this.episodeRefused} requests refused); writes resume; ${figures}`, {
        ...fields,
        count: this.episodeRefused,
        durationMs,
      });
    } else if (next === DiskState.STOP_WRITES) {
      this.refusal = new AerieError(Status.SERVER_MEM, `stop-writes: ${where} has ${free} bytes free, under the reserve of ${this.disk.reserveBytes}; deletes and truncates go on`);
      this.report('error', `namespace ${this.name}: DISK STOP-WRITES: ${figures} on ${where}; writes are refused with SERVER_MEM (8) until space returns, deletes and truncates go on`, {
        ...fields,
        code: Status.SERVER_MEM,
      });
    } else if (next === DiskState.FULL) {
      const stall = this.writer.stallError;
      const errno = stall === null ? null : ((stall.cause as NodeJS.ErrnoException | undefined)?.code ?? 'ENOSPC');
      const why =
        errno !== null
          ? `a log write failed (${errno}); ${this.writer.unwrittenBytes} bytes wait to be written, the writes waiting for them are in doubt`
          : `free space is under the delete floor (${DISK_DELETE_FLOOR_PCT} % of the reserve)`;
      this.refusal = new AerieError(Status.SERVER_MEM, `device full: ${where} has ${free} bytes free; writes, deletes and truncates are refused until space returns`);
      this.report('error', `namespace ${this.name}: DISK FULL: ${why}; ${figures} on ${where}; writes, deletes and truncates are refused with SERVER_MEM (8) until space returns`, {
        ...fields,
        errno,
        code: Status.SERVER_MEM,
      });
    } else {
      const message = this.writer.error?.message ?? 'the log failed';
      this.refusal = new AerieError(Status.SERVER_ERROR, `log failed: ${message}`);
      this.report(
        'error',
        `namespace ${this.name}: LOG FAILED: ${message}; writes, deletes and truncates are refused with SERVER_ERROR (1) until the node restarts (acknowledged writes are on disk; the ones in flight are in doubt)`,
        { ...fields, errno: ((this.writer.error?.cause ?? this.writer.error) as NodeJS.ErrnoException | undefined)?.code ?? null, code: Status.SERVER_ERROR },
      );
    }
  }

  /** Appends the record now at `slot` (its full new version). */
  logPut(store: RecordStore, slot: number): void {
    fillPutInput(this.input, store, slot);
    this.writer.append(this.input);
    this.dirty = true;
    if (this.writer.appendedBytes >= this.nextCheckBytes) this.checkSpace(Date.now());
  }

  /** Appends a tombstone for the record at `slot`, before it is removed. */
  logDelete(store: RecordStore, slot: number): void {
    const input = this.input;
    input.kind = LogRecordKind.TOMBSTONE;
    store.copyDigest(slot, input.digest, 0);
    input.partitionId = store.partitionId(slot);
    input.setId = store.setId(slot);
    input.generation = store.generation(slot);
    input.lastUpdateMs = Date.now();
    this.appendWithoutData();
  }

  /**
   * Appends a truncate marker: replay deletes what the store holds of set `setId` (or of every
   * set, TRUNCATE_ALL_SETS) last updated at or before `beforeMs`, as the live truncate did.
   */
  logTruncate(setId: number, beforeMs: number): void {
    const input = this.input;
    input.kind = LogRecordKind.TRUNCATE;
    input.digest.fill(0);
    input.partitionId = 0;
    input.setId = setId;
    input.generation = 0;
    input.lastUpdateMs = beforeMs;
    this.appendWithoutData();
  }

  /** Appends the prepared tombstone or marker: no void-time, key or bins. */
  private appendWithoutData(): void {
    const input = this.input;
    input.voidTime = 0;
    input.key = null;
    input.keyStart = input.keyEnd = 0;
    input.bins = null;
    input.binsStart = input.binsEnd = 0;
    this.writer.append(input);
    this.dirty = true;
    if (this.writer.appendedBytes >= this.nextCheckBytes) this.checkSpace(Date.now());
  }

  /** Resolves when everything appended may be acknowledged; rejects once the log has failed. */
  flush(): Promise<void> {
    this.dirty = false;
    return this.writer.flush();
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

/** Replays one log record into the store: a put replaces, a tombstone deletes, expired is dropped. */
function apply(store: RecordStore, view: import('../storage/log-record').LogRecordView, nowVoid: number): void {
  const b = view.buffer;
  const slot = store.lookup(b, view.digestOffset);
  if (view.kind === LogRecordKind.TOMBSTONE || (view.kind === LogRecordKind.PUT && hasExpired(view.voidTime, nowVoid))) {
    if (slot >= 0) store.remove(slot);
    return;
  }
  if (view.kind === LogRecordKind.TRUNCATE) {
    store.truncate(view.setId === TRUNCATE_ALL_SETS ? -1 : view.setId, view.lastUpdateMs);
    return;
  }
  if (view.kind !== LogRecordKind.PUT) return;
  if (partitionOf(b, view.digestOffset) !== view.partitionId) {
    throw new AerieError(Status.SERVER_ERROR, 'log record partition does not match its digest');
  }
  store.write(b, view.digestOffset, view.generation, view.setId, view.voidTime, view.lastUpdateMs, view.keyEnd > view.keyStart ? b : null, view.keyStart, view.keyEnd, b, view.binsStart, view.binsEnd);
}
