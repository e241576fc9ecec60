// The primary's side of the replica state file (src/storage/replica-state.ts): which copies of each
// replicated file namespace may be behind, as last written to disk. A copy is marked stale before
// writes go on without it, and whole again once it is complete and logged; a copy found whole at a
// restart is cleared only once the journal waiting in its channels is applied.

import * as fs from 'node:fs';
import type { NamespaceConfig } from '../config';
import { PARTITION_COUNT } from '../constants';
import type { NodeLog } from '../log';
import { reached, type ReplicationChannels } from '../replication/channels';
import { readReplicaState, writeStaleCopies } from '../storage/replica-state';
import { namespaceDirectory } from '../storage/set-names';

/** Copies found whole at a restart, cleared from the record once their journal is applied. */
interface PendingClear {
  ns: number;
  worker: number;
  partitions: number[];
  tails: { from: number; tail: number }[];
}

export class StaleCopies {
  /**
   * [ns][worker] for replicated file namespaces (null otherwise): copies that may be behind. Set
   * before writes go on without a copy, cleared once the copy is whole again and logged.
   */
  readonly stale: (Uint8Array[] | null)[];
  /** Per namespace: the file said the node stopped cleanly. */
  readonly cleanStop: boolean[];
  /** `stale` as the file had it at start, before a crash made every replica's copy suspect (set by keepOnRecord). */
  onRecord: (Uint8Array[] | null)[] = [];
  private pending: PendingClear[] = [];

  constructor(
    private readonly namespaces: NamespaceConfig[],
    copies: number[],
    workerCount: number,
    private readonly log: NodeLog,
  ) {
    this.cleanStop = namespaces.map(() => false);
    this.stale = namespaces.map((cfg, ns) => {
      if (cfg.storage !== 'file' || copies[ns] < 2) return null;
      // A namespace whose directory does not exist yet holds nothing anywhere (its logs, snapshots
      // and this record all live there): its copies are equal, empty, with nothing to rebuild.
      const fresh = !fs.existsSync(namespaceDirectory(cfg.dataDir, cfg.name));
      const state = fresh ? null : readReplicaState(cfg.dataDir, cfg.name, workerCount);
      this.cleanStop[ns] = fresh || state?.cleanStop === true;
      return state?.stale ?? Array.from({ length: workerCount }, () => new Uint8Array(PARTITION_COUNT));
    });
  }

  /** Keeps the record as read at start, before the start's own decisions change it. */
  keepOnRecord(): void {
    this.onRecord = this.stale.map((s) => (s === null ? null : s.map((w) => w.slice())));
  }

  /** Writes the namespace's record as it stands (null: not a replicated file namespace). */
  write(ns: number): void {
    const stale = this.stale[ns];
    if (stale !== null) writeStaleCopies(this.namespaces[ns].dataDir, this.namespaces[ns].name, stale);
  }

  /** Records copies as stale (1) or whole again (0) on disk, for replicated file namespaces. */
  mark(ns: number, worker: number, partitions: Iterable<number>, value: 0 | 1): void {
    const stale = this.stale[ns];
    if (stale === null) return;
    let changed = false;
    for (const p of partitions) {
      if (stale[worker][p] !== value) {
        stale[worker][p] = value;
        changed = true;
      }
    }
    if (!changed) return;
    try {
      this.write(ns);
    } catch (err) {
      this.failed(ns, 'could not record which copies are stale', err);
    }
  }

  /** Marks the copies whole once every channel position in `tails` is applied by `worker`. */
  clearAfter(clear: PendingClear): void {
    this.pending.push(clear);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Pending clears whose journal is applied are recorded; a worker that died again stays stale. */
  checkClears(channels: ReplicationChannels, up: (worker: number) => boolean, sync: Uint8Array[][]): void {
    this.pending = this.pending.filter((c) => {
      if (!up(c.worker)) return false;
      const done = c.tails.every(({ from, tail }) => reached(channels.head(from, c.worker), tail));
      if (!done) return true;
      if (c.partitions.every((p) => sync[c.ns][c.worker][p] === 1)) this.mark(c.ns, c.worker, c.partitions, 0);
      return false;
    });
  }

  /**
   * Writes the clean-stop mark for every namespace `settled` allows (a namespace with a move under
   * way has a copy whose move had not switched the map). False if a write failed.
   */
  recordCleanStop(settled: (ns: number) => boolean): boolean {
    let ok = true;
    for (let ns = 0; ns < this.stale.length; ns++) {
      const stale = this.stale[ns];
      if (stale === null || !settled(ns)) continue;
      try {
        writeStaleCopies(this.namespaces[ns].dataDir, this.namespaces[ns].name, stale, true);
      } catch (err) {
        ok = false;
        this.failed(ns, 'could not record the clean stop', err);
      }
    }
    return ok;
  }

  private failed(ns: number, what: string, err: unknown): void {
    const e = err as NodeJS.ErrnoException;
    const namespace = this.namespaces[ns].name;
    this.log.event('error', 'replica-state', `namespace ${namespace}: ${what}: ${e.message}`, { namespace, reason: what, errno: e.code ?? null });
  }
}
