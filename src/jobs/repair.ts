// The repair job's reading half: for a handful of digests whose records failed verification,
// the newest version each has in the worker's durable state — its part of the base snapshot, then
// its log after the snapshot's sequence — read from a background thread. The worker applies the
// result (src/worker/store-control.ts), skipping any digest written since the repair began.

import { DIGEST_BYTES } from '../constants';
import { LogRecordKind, TRUNCATE_ALL_SETS, type LogRecordView } from '../storage/log-record';
import { recoverLog } from '../storage/recovery';
import type { CollectedVersion } from '../storage/record-version';

export type { CollectedVersion, RecordVersion } from '../storage/record-version';

export interface CollectInput {
  logDirectory: string;
  /** The worker's part of the base snapshot and the last log sequence it covers, if any. */
  base: { directory: string; sequence: number } | null;
  /** Hex digests. */
  digests: string[];
}

export function collectVersions(input: CollectInput): CollectedVersion[] {
  const wanted = new Map<string, CollectedVersion>(input.digests.map((d) => [d, { digest: d, found: false, version: null }]));
  const apply = (view: LogRecordView) => {
    if (view.kind === LogRecordKind.TRUNCATE) {
      for (const e of wanted.values()) {
        const v = e.version;
        if (v !== null && (view.setId === TRUNCATE_ALL_SETS || view.setId === v.setId) && v.lastUpdateMs <= view.lastUpdateMs) e.version = null;
      }
      return;
    }
    const b = view.buffer;
    const e = wanted.get(Buffer.from(b.buffer, b.byteOffset + view.digestOffset, DIGEST_BYTES).toString('hex'));
    if (e === undefined) return;
    e.found = true;
    e.version =
      view.kind !== LogRecordKind.PUT
        ? null
        : {
            generation: view.generation,
            setId: view.setId,
            voidTime: view.voidTime,
            lastUpdateMs: view.lastUpdateMs,
            key: view.hasKey ? b.slice(view.keyStart, view.keyEnd) : null,
            bins: b.slice(view.binsStart, view.binsEnd),
          };
  };
  const base = input.base;
  if (base !== null) recoverLog({ directory: base.directory, truncateTornTail: false, onRecord: apply });
  const after = base?.sequence ?? 0;
  // The live log is only read: a record being appended at its end reads as a torn tail, left alone.
  recoverLog({ directory: input.logDirectory, truncateTornTail: false, onRecord: (view) => view.sequence > after && apply(view) });
  return [...wanted.values()];
}
