// A file-backed namespace on one worker: every committed write is appended to the worker's log
// (the full new record, or a tombstone), and the responses of a batch are released only once the
// log says they may be (src/storage: group commit). At a cold start the log is replayed into the
// record store; a restarted thread that adopted the store from shared memory only reopens it.

import type { NamespaceConfig } from '../config';
import { DIGEST_BYTES } from '../constants';
import { AerieError, Status } from '../errors';
import { partitionOf } from '../partition/digest';
import { LogRecordKind, TRUNCATE_ALL_SETS, type LogRecordInput } from '../storage/log-record';
import { recoverLog, type RecoveryReport } from '../storage/recovery';
import { logDirectory } from '../storage/segment-files';
import { SegmentWriter } from '../storage/segment-writer';
import { RECORD_HEADER_BYTES, type RecordStore } from '../shm/record-store';

export class NamespaceLog {
  readonly writer: SegmentWriter;
  /** Appended to since the last flush: the batch's responses must wait for it. */
  dirty = false;
  private readonly input: LogRecordInput;

  private constructor(writer: SegmentWriter) {
    this.writer = writer;
    this.input = {
      kind: LogRecordKind.PUT, partitionId: 0, setId: 0, digest: new Uint8Array(DIGEST_BYTES), digestOffset: 0,
      generation: 0, voidTime: 0, lastUpdateMs: 0, key: null, keyStart: 0, keyEnd: 0, bins: null, binsStart: 0, binsEnd: 0,
    };
  }

  /**
   * Opens the namespace's log for this worker. Without `adopted`, the log is first replayed into
   * `store` (a cold start); with it, the store already holds everything and the log is only read
   * to find where appending resumes.
   */
  static open(config: NamespaceConfig, workerIndex: number, store: RecordStore, adopted: boolean, nowVoid: number): { log: NamespaceLog; report: RecoveryReport } {
    const directory = logDirectory(config.dataDir, config.name, workerIndex);
    const report = recoverLog({ directory, onRecord: adopted ? () => undefined : (view) => apply(store, view, nowVoid) });
    const writer = SegmentWriter.open({
      directory,
      commit: config.commit === 'flush-ms' ? { kind: 'flush-ms', flushMs: config.flushMs } : { kind: 'commit-to-device' },
      recordDataBytesMax: config.recordBytesMax,
      resume: report.resume,
    });
    return { log: new NamespaceLog(writer), report };
  }

  /** Refuses writes once the log has failed: nothing is acknowledged that is not durable. */
  checkWritable(): number {
    return this.writer.failed ? Status.SERVER_ERROR : 0;
  }

  /** Appends the record now at `slot` (its full new version). */
  logPut(store: RecordStore, slot: number): void {
    const input = this.input;
    input.kind = LogRecordKind.PUT;
    store.copyDigest(slot, input.digest, 0);
    input.partitionId = store.partitionId(slot);
    input.setId = store.setId(slot);
    input.generation = store.generation(slot);
    input.voidTime = store.voidTime(slot);
    input.lastUpdateMs = store.lastUpdateMs(slot);
    const block = store.recordBlock(slot);
    const keyStart = store.recordOffset(slot) + RECORD_HEADER_BYTES;
    const keyEnd = keyStart + store.keyLength(slot);
    input.key = keyEnd > keyStart ? block : null;
    input.keyStart = keyStart;
    input.keyEnd = keyEnd;
    input.bins = block;
    input.binsStart = keyEnd;
    input.binsEnd = keyEnd + store.binsLength(slot);
    this.writer.append(input);
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
