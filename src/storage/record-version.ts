// A record's newest durable version, as a repair reads it from a worker's base snapshot part and
// log (src/jobs/repair.ts) and the worker applies it (src/worker/store-control.ts).

/** One version of a record: what a log PUT holds. */
export interface RecordVersion {
  generation: number;
  setId: number;
  voidTime: number;
  lastUpdateMs: number;
  key: Uint8Array | null;
  bins: Uint8Array;
}

/** What the log holds for one digest. */
export interface CollectedVersion {
  digest: string;
  /** Whether the digest appears at all (a put or a tombstone). */
  found: boolean;
  /** The newest version, or null when the newest record deletes it. */
  version: RecordVersion | null;
}
