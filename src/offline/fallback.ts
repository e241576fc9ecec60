// Falling back from a damaged base snapshot to an older one plus the log after it. Only safe when
// replaying the older snapshot and the log up to the damaged base's sequences gives exactly the
// base's state: the log must still hold every record after the older snapshot (creating a
// snapshot releases the segments it covers), and no restore may lie between the two — a restore
// leaves no record in the log, so replaying across one would bring back what it removed. Both
// are checked the same way: per worker, the older part is loaded into a digest map, the log
// records up to the base's sequence are applied as a cold start applies them, and the result is
// compared with every valid record of the damaged base part. Any difference, or more records than
// OFFLINE_FALLBACK_RECORDS_MAX, and the fallback is not offered (the damage is cut instead).

import { DIGEST_BYTES, OFFLINE_FALLBACK_RECORDS_MAX } from '../constants';
import { LogRecordKind, TRUNCATE_ALL_SETS, type LogRecordView } from '../storage/log-record';
import { logDirectory } from '../storage/segment-files';
import { listSnapshots, partDirectory, snapshotDirectory, type SnapshotBase, type SnapshotManifest } from '../snapshot/files';
import { scanLog } from './log-scan';
import { hasExpired, nowVoidSec } from '../shm/void-time';

interface Version {
  generation: number;
  lastUpdateMs: number;
  voidTime: number;
  setId: number;
}

export interface Fallback {
  snapshot: SnapshotManifest;
  /** base.json's new contents. */
  base: SnapshotBase;
}

class TooMany extends Error {}

function digestOf(view: LogRecordView): string {
  return Buffer.from(view.buffer.buffer, view.buffer.byteOffset + view.digestOffset, DIGEST_BYTES).toString('hex');
}

/** Applies one record as a cold start does (src/worker/persistence.ts apply). */
function apply(state: Map<string, Version>, view: LogRecordView): void {
  if (view.kind === LogRecordKind.TRUNCATE) {
    for (const [digest, v] of state) {
      if ((view.setId === TRUNCATE_ALL_SETS || v.setId === view.setId) && v.lastUpdateMs <= view.lastUpdateMs) state.delete(digest);
    }
    return;
  }
  if (view.kind === LogRecordKind.TOMBSTONE) {
    state.delete(digestOf(view));
    return;
  }
  state.set(digestOf(view), { generation: view.generation, lastUpdateMs: view.lastUpdateMs, voidTime: view.voidTime, setId: view.setId });
  if (state.size > OFFLINE_FALLBACK_RECORDS_MAX) throw new TooMany();
}

/**
 * An older snapshot that reproduces the damaged base `base` of worker `damagedWorkers`, or null.
 * `damagedRecords[w]`: records lost in worker w's damaged base regions (they are what the
 * replay may hold beyond the base's valid records).
 */
export function findFallback(dataDir: string, ns: string, base: SnapshotBase, damagedRecords: number[]): Fallback | null {
  const nowVoid = nowVoidSec(Date.now());
  const live = (v: Version) => !hasExpired(v.voidTime, nowVoid);
  const older = listSnapshots(dataDir, ns).filter((m) => m.id !== base.snapshot && BigInt(m.id) < BigInt(base.snapshot) && m.workers.length === base.sequences.length);
  for (const candidate of older.reverse()) {
    try {
      if (reproduces(dataDir, ns, candidate, base, damagedRecords, live)) {
        return { snapshot: candidate, base: { snapshot: candidate.id, sequences: candidate.workers.map((w) => w.sequence) } };
      }
    } catch (err) {
      if (!(err instanceof TooMany)) throw err;
      return null;
    }
  }
  return null;
}

function reproduces(dataDir: string, ns: string, candidate: SnapshotManifest, base: SnapshotBase, damagedRecords: number[], live: (v: Version) => boolean): boolean {
  const candidateDir = snapshotDirectory(dataDir, ns, candidate.id);
  const baseDir = snapshotDirectory(dataDir, ns, base.snapshot);
  for (let w = 0; w < base.sequences.length; w++) {
    const from = candidate.workers[w].sequence;
    const to = base.sequences[w];
    if (from > to) return false;
    const state = new Map<string, Version>();
    if (scanLog(partDirectory(candidateDir, w), false, (v) => apply(state, v)).damage.length > 0) return false;
    const log = scanLog(logDirectory(dataDir, ns, w), true, (v) => {
      if (v.sequence > from && v.sequence <= to) apply(state, v);
    });
    // Every record after the older snapshot must still be there, undamaged.
    if (log.damage.length > 0 || (to > from && (log.firstSequence === 0 || log.firstSequence > from + 1))) return false;
    // Every valid record of the base must be replayed as it is; the replay may hold more live
    // records only as many as the damaged regions held.
    let matchedLive = 0;
    let differs = false;
    scanLog(partDirectory(baseDir, w), false, (v) => {
      const mine = state.get(digestOf(v));
      if (mine === undefined || mine.generation !== v.generation || mine.lastUpdateMs !== v.lastUpdateMs) differs = true;
      else if (live(mine)) matchedLive++;
    });
    let liveCount = 0;
    for (const v of state.values()) if (live(v)) liveCount++;
    if (differs || liveCount - matchedLive > damagedRecords[w]) return false;
  }
  return true;
}
