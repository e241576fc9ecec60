// A file-backed namespace on one worker: every committed write is appended to the worker's log
// (the full new record, or a tombstone), and the responses of a batch are released only once the
// log says they may be (src/storage: group commit). At a cold start the log is replayed into the
// record store; a restarted thread that adopted the store from shared memory only reopens it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NamespaceConfig } from '../config';
import { DIGEST_BYTES, LOG_RECORD_ALIGN_BYTES, LOG_RECORD_HEADER_BYTES, WRITE_BUFFER_BYTES_DEFAULT } from '../constants';
import { AerieError, Status } from '../errors';
import { partitionOf } from '../partition/digest';
import { LogRecordKind, TRUNCATE_ALL_SETS, type LogRecordInput, type LogRecordView } from '../storage/log-record';
import { recoverLog, type RecoveryReport } from '../storage/recovery';
import { logDirectory, segmentFileName } from '../storage/segment-files';
import { SegmentWriter } from '../storage/segment-writer';
import type { RecordStore } from '../shm/record-store';
import type { LogWatermarks } from '../shm/stats';
import { fillPutInput } from '../shm/record-input';

/** fdatasync one file (opened read-only: Linux syncs through any descriptor). */
function syncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class NamespaceLog {
  readonly writer: SegmentWriter;
  /** Where this log publishes its sequences for compaction jobs (null in tests that need none). */
  readonly watermarks: LogWatermarks | null;
  /** Appended to since the last flush: the batch's responses must wait for it. */
  dirty = false;
  private readonly input: LogRecordInput;

  private constructor(writer: SegmentWriter, watermarks: LogWatermarks | null) {
    this.writer = writer;
    this.watermarks = watermarks;
    this.input = {
      kind: LogRecordKind.PUT, partitionId: 0, setId: 0, digest: new Uint8Array(DIGEST_BYTES), digestOffset: 0,
      generation: 0, voidTime: 0, lastUpdateMs: 0, key: null, keyStart: 0, keyEnd: 0, bins: null, binsStart: 0, binsEnd: 0,
    };
  }

  /**
   * Opens the namespace's log for this worker. Without `adopted`, the log is first replayed into
   * `store` (a cold start); with it, the store already holds everything and the log is only read
   * to find where appending resumes. `watermarks` receives the log's sequences (src/shm/stats.ts).
   */
  static open(
    config: NamespaceConfig, workerIndex: number, store: RecordStore, adopted: boolean, nowVoid: number,
    watermarks: LogWatermarks | null = null,
    replayAfterSequence = 0,
  ): { log: NamespaceLog; report: RecoveryReport } {
    const directory = logDirectory(config.dataDir, config.name, workerIndex);
    // Records up to replayAfterSequence are in the snapshot the store was loaded from.
    const replay = (view: LogRecordView) => {
      if (view.sequence > replayAfterSequence) apply(store, view, nowVoid);
    };
    const report = recoverLog({ directory, onRecord: adopted ? () => undefined : replay, skipCorrupt: config.recoverySkipCorrupt });
    const writer: SegmentWriter = SegmentWriter.open({
      directory,
      commit: config.commit === 'flush-ms' ? { kind: 'flush-ms', flushMs: config.flushMs } : { kind: 'commit-to-device' },
      segmentBytes: config.segmentBytes,
      recordDataBytesMax: config.recordBytesMax,
      // The buffer must hold a largest record; the default fits the default record size only.
      bufferBytes: Math.max(WRITE_BUFFER_BYTES_DEFAULT, LOG_RECORD_HEADER_BYTES + config.recordBytesMax + LOG_RECORD_ALIGN_BYTES),
      resume: report.resume,
      onSync: watermarks === null ? undefined : () => watermarks.synced(writer.durableSequenceNumber, writer.segmentNumber),
      onFailure: watermarks === null ? undefined : () => watermarks.failed(),
    });
    if (watermarks !== null) {
      // The recovered tail may still be only in the page cache (a killed process's unsynced
      // writes): make it durable before publishing it as durable, which compaction relies on.
      if (report.resume !== null) syncFile(path.join(directory, segmentFileName(report.resume.segmentNumber)));
      watermarks.opened(adopted, report.lastSequence, writer.segmentNumber);
    }
    return { log: new NamespaceLog(writer, watermarks), report };
  }

  /** Refuses writes once the log has failed: nothing is acknowledged that is not durable. */
  checkWritable(): number {
    return this.writer.failed ? Status.SERVER_ERROR : 0;
  }

  /** Appends the record now at `slot` (its full new version). */
  logPut(store: RecordStore, slot: number): void {
    fillPutInput(this.input, store, slot);
    this.writer.append(this.input);
    this.dirty = true;
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
  if (view.kind === LogRecordKind.TOMBSTONE || (view.kind === LogRecordKind.PUT && view.voidTime !== 0 && view.voidTime <= nowVoid)) {
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
  store.write(
    b, view.digestOffset, view.generation, view.setId, view.voidTime, view.lastUpdateMs,
    view.keyEnd > view.keyStart ? b : null, view.keyStart, view.keyEnd, b, view.binsStart, view.binsEnd,
  );
}
