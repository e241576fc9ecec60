// Which log records a compaction must keep, judged against the worker's record store read from
// shared memory while the worker keeps writing (each read under the store's seqlock, as verify
// does). A record is judged on its own, in any order; what "drop" still needs is made true later
// by the job's durability barrier (src/jobs/compaction.ts): every store version the judge saw has
// its own log record durable before anything is deleted.
//
// The verdicts, for a record R of digest D in a sealed segment:
//   - keep: a truncate marker (it cancels records of many digests; markers are few and small);
//     anything the store cannot show consistently (worker mid-write, unknown block, memory that
//     disagrees with itself, a replacing version older than R); a put at the version the store
//     holds (generation, last-update time, void-time, set);
//   - drop: a put or tombstone of D while the store holds another version of D (a later write
//     replaced R, and its record comes after R in the log);
//   - removal: a put or tombstone of D while the store holds no D. Something after R removed D
//     (a tombstone, a truncate marker, expiry — never logged —, or R itself if it is an expired
//     put), but only a tombstone removes unconditionally: a marker removes what it meets only if
//     set and last-update time match, and an older version of D (in an older segment, or in the
//     base snapshot a cold start loads before replaying the log after it) may not match. So the
//     job keeps, per run, the last removal of each digest at its own place (whole, or as a
//     tombstone when it is one or an expired put: src/jobs/compaction.ts), which supersedes every
//     older version whatever it is, and drops the removals before it.

import { COMPACTION_SEQLOCK_ATTEMPTS, DIGEST_BYTES } from '../constants';
import { Arena } from '../shm/arena';
import { IndexTable } from '../shm/index-table';
import { RecordHeader } from '../shm/record-store';
import { LogRecordKind, type LogRecordView } from '../storage/log-record';

/** See the file comment; a removal is kept only if it is its digest's last in the run. */
export type Verdict = 'keep' | 'drop' | 'removal';

/** The store's version of a record's digest, compared with the record. */
type Match = 'absent' | 'same' | 'other' | 'unknown';

/** Bytes of a record's header that must lie inside its block for the fields read here (up to lastUpdateMs). */
const HEADER_READ_BYTES = RecordHeader.KEY_BYTES;

export interface StoreMemoryInput {
  indexSab: SharedArrayBuffer;
  controlSab: SharedArrayBuffer;
  blocks: ReadonlyArray<SharedArrayBuffer | null | undefined>;
}

export class LivenessJudge {
  /** The worker replaced the index buffer while we read it: later answers may be stale. */
  stale = false;
  private readonly index: IndexTable;
  private readonly control: Int32Array;
  private readonly views: (DataView | null)[];

  constructor(memory: StoreMemoryInput) {
    this.index = IndexTable.attach(memory.indexSab);
    this.control = new Int32Array(memory.controlSab);
    this.views = memory.blocks.map((sab) => (sab ? new DataView(sab) : null));
  }

  judge(view: LogRecordView): Verdict {
    if (view.kind === LogRecordKind.TRUNCATE) return 'keep';
    const match = this.compare(view);
    if (match === 'unknown') return 'keep';
    if (match === 'other') return 'drop';
    if (match === 'absent') return 'removal';
    // The store holds R's own version: a put is the latest; a tombstone cannot be (R deleted D).
    return view.kind === LogRecordKind.PUT ? 'keep' : 'drop';
  }

  /** The store's version of the record's digest compared with the record, read under the seqlock. */
  private compare(view: LogRecordView): Match {
    for (let attempt = 0; attempt < COMPACTION_SEQLOCK_ATTEMPTS; attempt++) {
      const before = Atomics.load(this.control, 0);
      if ((before & 1) === 1) continue;
      const match = this.read(view);
      // A rehash retires the buffer inside a mutation: seen here if it happened before `before`.
      if (this.index.retired) {
        this.stale = true;
        return 'unknown';
      }
      if (Atomics.load(this.control, 0) === before) return match;
    }
    return 'unknown';
  }

  /**
   * One unguarded read (the caller checks the seqlock). Memory that disagrees with itself — the
   * arena header against the index entry, as verify checks — or a "newer" version older than R
   * answers unknown: compaction must not drop the durable copy a repair would restore from.
   */
  private read(view: LogRecordView): Match {
    const index = this.index;
    const slot = index.find(view.buffer, view.digestOffset);
    if (slot < 0) return 'absent';
    const location = index.location(slot);
    const block = this.views[Arena.blockIndexOf(location)] ?? null;
    const at = Arena.offsetInBlock(location);
    // A block made moments ago may not have reached the primary yet: unknown, not wrong.
    if (block === null || at + HEADER_READ_BYTES > block.byteLength) return 'unknown';
    const generation = block.getUint16(at + RecordHeader.GENERATION, true);
    const setId = block.getUint16(at + RecordHeader.SET_ID, true);
    const voidTime = block.getUint32(at + RecordHeader.VOID_TIME, true);
    if (generation !== index.generation(slot) || setId !== index.setId(slot) || voidTime !== index.voidTime(slot)) return 'unknown';
    for (let i = 0; i < DIGEST_BYTES; i++) {
      if (block.getUint8(at + RecordHeader.DIGEST + i) !== view.buffer[view.digestOffset + i]) return 'unknown';
    }
    const lastUpdateMs = block.getFloat64(at + RecordHeader.LAST_UPDATE_MS, true);
    if (generation === view.generation && setId === view.setId && voidTime === view.voidTime && lastUpdateMs === view.lastUpdateMs) return 'same';
    return lastUpdateMs >= view.lastUpdateMs ? 'other' : 'unknown';
  }
}
