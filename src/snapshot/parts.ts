// One worker's part of a snapshot: written from a frozen copy of its store's shared memory (taken
// by the worker between two batches, so it is exactly the state at one point of its request
// order), read back into a store at restore or cold start. Records use the log's format
// (src/storage/log-record: CRC32C, sequence, partition, digest, generation, times, key, bins) and
// the log's writer and reader, so a damaged part is found the same way a damaged log is.

import { DIGEST_BYTES } from '../constants';
import { AerieError, Status } from '../errors';
import { partitionOf } from '../partition/digest';
import { RecordStore, type RecordStoreAdoption } from '../shm/record-store';
import { fillPutInput } from './record-input';
import { blankPutInput, LogRecordKind, type LogRecordInput } from '../storage/log-record';
import { recoverLog } from '../storage/recovery';
import { SegmentWriter } from '../storage/segment-writer';
import { hasExpired } from '../shm/void-time';
import { attachProgressWord, finishProgress, noteProgress } from '../shm/job-progress';

export interface StoreLimits {
  memoryBytesMax: number;
  blockBytes: number;
}

export interface WritePartInput {
  /** The frozen copy; nobody else holds it, so it is read without the seqlock. */
  memory: RecordStoreAdoption;
  limits: StoreLimits;
  directory: string;
  recordBytesMax: number;
  /** Records whose void-time is at or before this are left out. */
  nowVoid: number;
  /** A word the job counts the copy's entries walked in (src/shm/job-progress.ts); absent: none asked. */
  progressSab?: SharedArrayBuffer;
}

export async function writePart(input: WritePartInput): Promise<{ records: number; bytes: number }> {
  const { store } = RecordStore.adopt({ ...input.limits, ...input.memory });
  const writer = SegmentWriter.open({ directory: input.directory, recordDataBytesMax: input.recordBytesMax });
  const record: LogRecordInput = blankPutInput(new Uint8Array(DIGEST_BYTES));
  const progress = attachProgressWord(input.progressSab);
  let walked = 0;
  let records = 0;
  let bytes = 0;
  try {
    for (let slot = store.nextLive(0); slot >= 0; slot = store.nextLive(slot + 1)) {
      // Expired entries count as walked: the total told was the copy's entries, expired or not.
      noteProgress(progress, ++walked);
      const voidTime = store.voidTime(slot);
      if (hasExpired(voidTime, input.nowVoid)) continue;
      fillPutInput(record, store, slot);
      writer.append(record);
      records++;
      bytes += record.binsEnd - record.keyStart;
    }
    await writer.flush();
    finishProgress(progress, walked);
  } finally {
    await writer.close();
  }
  return { records, bytes };
}

/** A cold start with the namespace's recoverySkipCorrupt: damaged regions are skipped and told. */
export interface SkipDamage {
  onSkipped: (description: string) => void;
}

/**
 * Applies a part's records to `store` (which the caller owns). `setIds[id]` maps the snapshot's
 * set ids to the node's (identity when omitted); records past their void-time are skipped. A
 * damaged part fails with its file and offset: a snapshot is never half loaded silently, unless
 * `skip` is given, and then every damaged region is skipped and described to it (its records lost).
 */
export function loadPart(store: RecordStore, directory: string, nowVoid: number, setIds?: ReadonlyArray<number>, skip?: SkipDamage, progress: Int32Array | null = null): number {
  let loaded = 0;
  let read = 0;
  const report = recoverLog({
    directory,
    skipCorrupt: skip !== undefined,
    truncateTornTail: false,
    tornTailPossible: false,
    onRecord: (view) => {
      // Every record read counts, expired ones too: the total told was the part's record count.
      noteProgress(progress, ++read);
      const b = view.buffer;
      if (view.kind !== LogRecordKind.PUT) return;
      if (hasExpired(view.voidTime, nowVoid)) return;
      if (partitionOf(b, view.digestOffset) !== view.partitionId) {
        throw new AerieError(Status.SERVER_ERROR, `${directory}: a record's partition does not match its digest`);
      }
      const setId = setIds === undefined || view.setId === 0 ? view.setId : setIds[view.setId];
      if (setId === undefined) throw new AerieError(Status.SERVER_ERROR, `${directory}: set id ${view.setId} is not in the manifest`);
      store.write(b, view.digestOffset, view.generation, setId, view.voidTime, view.lastUpdateMs, view.keyEnd > view.keyStart ? b : null, view.keyStart, view.keyEnd, b, view.binsStart, view.binsEnd);
      loaded++;
    },
  });
  // A part is complete before its snapshot exists: a short or bad end is damage, not a crash, and
  // recovery reported it as corruption (thrown above without `skip`).
  for (const r of report.skippedRegions) skip?.onSkipped(`${r.file} offset ${r.offset}: ${r.bytes} bytes (${r.reason})`);
  finishProgress(progress, read);
  return loaded;
}

export interface BuildStoreInput {
  limits: StoreLimits;
  directory: string;
  nowVoid: number;
  setIds: number[];
  /** A word the job counts the part's records read in (src/shm/job-progress.ts); absent: none asked. */
  progressSab?: SharedArrayBuffer;
}

/** A new store holding a part's records, built off the worker's thread, for a restore to swap in. */
export function buildStore(input: BuildStoreInput): { memory: RecordStoreAdoption; records: number } {
  const store = RecordStore.create(input.limits);
  const records = loadPart(store, input.directory, input.nowVoid, input.setIds, undefined, attachProgressWord(input.progressSab));
  return {
    memory: { indexSab: store.index.sab, controlSab: store.controlSab, arenaStatsSab: store.arena.statsSab, blocks: [...store.arena.blocks()] },
    records,
  };
}
