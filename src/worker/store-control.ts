// The worker's side of snapshots, restores and repairs. Control messages are queued and handled
// between batches, after the previous batch's responses are published, so each step happens at
// one point of the worker's request order:
//   snapshot        copy the namespace's shared memory (a memcpy: the only pause a snapshot
//                   costs this worker) and hand the copy to the primary for the background job.
//   restore-swap    put a store built off-thread in place, keep the old one, and hold every
//                   request (paused) so no client sees the restored state before it is durable.
//   restore-commit  drop the old store, forget the namespace's truncate cut-offs, serve again.
//   restore-abort   put the old store back and serve again. A worker left paused past
//                   RESTORE_PAUSE_MS_MAX aborts by itself (the primary gave up long before).
//   repair-watch    start noting the digests written or deleted (a repair is reading the log).
//   repair-apply    replace damaged records with their newest durable versions, unless sound
//                   now or written since the watch began (src/primary/verify-repair.ts).

import { performance } from 'node:perf_hooks';
import { DIGEST_BYTES, RESTORE_PAUSE_MS_MAX, SNAPSHOT_COPY_CHUNK_BYTES } from '../constants';
import { controlError, type ControlError, type ControlFromWorker, type StoreControlMessage } from './thread-messages';
import { RecordStore, type RecordStoreAdoption, type RecordStoreOptions } from '../shm/record-store';
import type { Namespace } from './namespace';
import { checkRecord, type VerifyProblem } from '../shm/record-check';
import type { CollectedVersion } from '../storage/record-version';
import { Reader } from '../protocol/reader';
import { hasExpired, nowVoidSec } from '../shm/void-time';

export interface RepairOutcome {
  digest: string;
  outcome: 'repaired' | 'removed' | 'skipped';
  detail: string;
}

interface Held {
  nsIndex: number;
  old: RecordStore;
  untilMs: number;
}

export class StoreControl {
  private readonly queue: StoreControlMessage[] = [];
  private readonly reader = new Reader(new Uint8Array(0));
  private held: Held | null = null;

  constructor(
    private readonly namespaces: Namespace[],
    private readonly storeOptions: RecordStoreOptions[],
    private readonly send: (m: ControlFromWorker) => void,
    private readonly log: (message: string) => void,
    /** Advances the heartbeat: a large copy must not look like a hang. */
    private readonly beat: () => void,
    /** Records of the partitions this worker masters (a snapshot counts each record once). */
    private readonly masterRecords: (ns: Namespace) => number = (ns) => ns.store.recordCount,
  ) {}

  enqueue(m: StoreControlMessage): void {
    this.queue.push(m);
  }

  /** True while a restore holds this worker's requests. */
  get paused(): boolean {
    return this.held !== null;
  }

  /** Handles what is queued; call between batches only. */
  run(nowMs: number): void {
    while (this.queue.length > 0) {
      const m = this.queue.shift()!;
      try {
        this.reply(m.requestId, null, this.handle(m));
      } catch (err) {
        this.reply(m.requestId, controlError(err), null);
      }
    }
    if (this.held !== null && nowMs > this.held.untilMs) {
      this.log(`restore of namespace ${this.held.nsIndex} not committed within ${RESTORE_PAUSE_MS_MAX} ms: old store put back`);
      this.abort(this.held.nsIndex);
    }
  }

  private handle(m: StoreControlMessage): unknown {
    const ns = this.namespaces[m.nsIndex];
    if (ns === undefined) throw new Error(`no namespace ${m.nsIndex}`);
    switch (m.type) {
      case 'snapshot':
        return this.copy(ns);
      case 'restore-swap': {
        if (this.held !== null) throw new Error('a restore is already in progress');
        const { store } = RecordStore.adopt({ ...this.storeOptions[m.nsIndex], ...m.memory });
        this.held = { nsIndex: m.nsIndex, old: ns.store, untilMs: Date.now() + RESTORE_PAUSE_MS_MAX };
        ns.store = store;
        // Records up to this sequence are superseded by the restored state.
        return { sequence: ns.log?.writer.lastSequence ?? 0 };
      }
      case 'restore-commit':
        if (this.held === null || this.held.nsIndex !== m.nsIndex) throw new Error('no restore to commit');
        this.held = null;
        // The restored records may be older than any truncate's cut-off: a replica given them by
        // its master (the copy after a restore) must keep them. No truncate is on its way now.
        ns.truncateCutoffs.clear();
        return null;
      case 'restore-abort':
        this.abort(m.nsIndex);
        return null;
      case 'repair-watch':
        ns.repairWatch = new Set();
        ns.repairWatchOverflow = false;
        return null;
      case 'repair-cancel':
        ns.repairWatch = null;
        return null;
      case 'repair-apply':
        return this.repair(ns, m.problems, m.versions);
      case 'migrate':
        throw new Error('migrate is handled by the worker loop (src/worker/migrate-out.ts)');
    }
  }

  /**
   * Replaces each damaged record with its newest durable version. A record that is sound now,
   * moved, or was written since the repair began is left alone: what the log holds may be older.
   */
  private repair(ns: Namespace, problems: VerifyProblem[], versions: CollectedVersion[]): RepairOutcome[] {
    const watch = ns.repairWatch;
    const overflow = ns.repairWatchOverflow;
    ns.repairWatch = null;
    ns.repairWatchOverflow = false;
    if (watch === null) throw new Error('no repair under way');
    const byDigest = new Map(versions.map((v) => [v.digest, v]));
    const store = ns.store;
    const nowVoid = nowVoidSec(Date.now());
    const digest = Buffer.alloc(DIGEST_BYTES);
    return problems.map((p) => {
      const outcome = (what: RepairOutcome['outcome'], detail: string): RepairOutcome => ({ digest: p.digest, outcome: what, detail });
      if (overflow) return outcome('skipped', 'too many writes during the repair to tell old from new');
      if (!store.index.isLive(p.slot)) return outcome('skipped', 'removed since the check');
      store.index.copyDigest(p.slot, digest, 0);
      if (digest.toString('hex') !== p.digest) return outcome('skipped', 'the index changed since the check');
      const verdict = checkRecord(store.index, store.arena.blocks() as (SharedArrayBuffer | null)[], p.slot, digest, this.reader);
      if (verdict === null) return outcome('skipped', 'sound now: rewritten since the check');
      const candidates = [p.digest, p.headerDigest].filter((d): d is string => d !== undefined);
      if (candidates.some((d) => watch.has(d))) return outcome('skipped', 'written since the repair began');
      const freed = store.removeDamaged(p.slot);
      const restored: string[] = [];
      for (const d of candidates) {
        const v = byDigest.get(d)?.version ?? null;
        if (v === null || hasExpired(v.voidTime, nowVoid)) continue;
        const db = Buffer.from(d, 'hex');
        if (store.lookup(db, 0) >= 0) continue; // a sound record of that digest is already there
        const key = v.key;
        store.write(db, 0, v.generation, v.setId, v.voidTime, v.lastUpdateMs, key, 0, key?.length ?? 0, v.bins, 0, v.bins.length);
        restored.push(d);
      }
      const leak = freed ? '' : ' (its damaged bytes stay allocated until the block is reused)';
      return restored.length > 0
        ? outcome('repaired', `rewritten from its durable copy (base snapshot or log): ${restored.join(', ')}${leak}`)
        : outcome('removed', `no live version in the log or base snapshot: never acknowledged, or deleted${leak}`);
    });
  }

  private abort(nsIndex: number): void {
    if (this.held === null || this.held.nsIndex !== nsIndex) return;
    this.namespaces[nsIndex].store = this.held.old;
    this.held = null;
  }

  /** A frozen copy of the namespace's shared memory and the log position it reflects. */
  private copy(ns: Namespace): { memory: RecordStoreAdoption; sequence: number; records: number; masterRecords: number; pauseMs: number } {
    const started = performance.now();
    const s = ns.store;
    const copy = (sab: SharedArrayBuffer) => copySab(sab, this.beat);
    const memory: RecordStoreAdoption = {
      indexSab: copy(s.index.sab),
      // A fresh seqlock: nobody writes the copy.
      controlSab: new SharedArrayBuffer(s.controlSab.byteLength),
      arenaStatsSab: copy(s.arena.statsSab),
      blocks: s.arena.blocks().map((b) => (b === null ? null : copy(b))),
    };
    return { memory, sequence: ns.log?.writer.lastSequence ?? 0, records: s.recordCount, masterRecords: this.masterRecords(ns), pauseMs: performance.now() - started };
  }

  private reply(requestId: number, error: ControlError | null, value: unknown): void {
    this.send({ type: 'reply', requestId, error, value });
  }
}

/** Copies in chunks, beating the heartbeat between them (a 10M-record store is gigabytes). */
function copySab(sab: SharedArrayBuffer, beat: () => void): SharedArrayBuffer {
  const copy = new SharedArrayBuffer(sab.byteLength);
  const from = new Uint8Array(sab);
  const to = new Uint8Array(copy);
  for (let at = 0; at < from.length; at += SNAPSHOT_COPY_CHUNK_BYTES) {
    const end = Math.min(from.length, at + SNAPSHOT_COPY_CHUNK_BYTES);
    to.set(from.subarray(at, end), at);
    beat();
  }
  return copy;
}
