// A stored record as a log record's input: the log, a snapshot part and compaction all write
// records in the log's format, and this fills the one reusable input from the store without
// copying a byte (the input's ranges point into the record's arena block). It joins the store
// (shm) and the log format (storage), so it lives above both, where the snapshot writer and the
// worker's log reach it.

import type { LogRecordInput } from '../storage/log-record';
import { LogRecordKind } from '../storage/log-record';
import { RECORD_HEADER_BYTES, type RecordStore } from '../shm/record-store';

/** Points `input` at the record now at `slot`: a PUT of its full current version. */
export function fillPutInput(input: LogRecordInput, store: RecordStore, slot: number): void {
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
}
