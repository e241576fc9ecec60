// Who may master each partition, decided from plain state: the partition map's holders, which
// copies are in sync, which partitions are held, and which workers are up (docs/replication.md).
// No threads, no files, no timers: failover (failover.ts) acts on these decisions, and
// test/primary/ownership.test.ts checks them alone.

import { PARTITION_COUNT } from '../constants';
import type { PartitionMap } from '../partition/map';

/** What the decisions read of the partition map (the real one in the node and in tests). */
export type Holders = Pick<PartitionMap, 'copies' | 'holder' | 'master' | 'holds'>;

/** The state the decisions read; the arrays are the failover's own, updated in place where said. */
export interface CopyState {
  readonly map: Holders;
  /** [ns][worker][partition]: 1 when the worker's copy is complete, given what its channels carried. */
  readonly sync: Uint8Array[][];
  /** [ns][partition]: 1 while the partition moves (its requests are held). */
  readonly held: Uint8Array[];
  /** Whether the worker's thread is up now. */
  up(worker: number): boolean;
}

/** A set of partitions of one namespace to move from their current master to a new one. */
export interface PlannedMove {
  ns: number;
  from: number;
  to: number;
  partitions: number[];
}

/** The partition's first holder (in succession order) whose copy is in sync, up or not (-1: none). */
export function firstInSync(s: Pick<CopyState, 'map' | 'sync'>, ns: number, p: number): number {
  const { map } = s;
  for (let k = 0; k < map.copies[ns]; k++) {
    const w = map.holder(ns, p, k);
    if (s.sync[ns][w][p] === 1) return w;
  }
  return -1;
}

/** The partition's rightful master now: its first holder that is up and in sync (-1: none). */
export function preferredMaster(s: CopyState, ns: number, p: number): number {
  const { map } = s;
  for (let k = 0; k < map.copies[ns]; k++) {
    const w = map.holder(ns, p, k);
    if (s.sync[ns][w][p] === 1 && s.up(w)) return w;
  }
  return -1;
}

/**
 * The partitions `w` holds as a replica now. When it stops taking writes these fall behind at
 * once (their masters go on without it); those it masters only when they move to another holder.
 */
export function replicaPartitions(map: Holders, ns: number, w: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < PARTITION_COUNT; p++) if (map.holds(ns, p, w) && map.master(ns, p) !== w) out.push(p);
  return out;
}

/**
 * At start: every holder of the namespace is in sync except the copies `stale` records (null: a
 * namespace with no record, all in sync). A partition whose master's copy is stale goes to its
 * first holder in sync (`promoted`, for the caller to set in the map); one with no copy in sync at
 * all keeps its master, whose copy is then taken as the one there is (`noCurrentCopy`).
 * Writes `s.sync[ns]`.
 */
export function startingMasters(s: Pick<CopyState, 'map' | 'sync'>, ns: number, stale: Uint8Array[] | null): { promoted: { partition: number; worker: number }[]; noCurrentCopy: number[] } {
  const { map } = s;
  const sync = s.sync[ns];
  const promoted: { partition: number; worker: number }[] = [];
  const noCurrentCopy: number[] = [];
  for (let p = 0; p < PARTITION_COUNT; p++) {
    for (let k = 0; k < map.copies[ns]; k++) {
      const w = map.holder(ns, p, k);
      sync[w][p] = stale !== null && stale[w][p] === 1 ? 0 : 1;
    }
    if (stale === null || sync[map.master(ns, p)][p] === 1) continue;
    const current = firstInSync(s, ns, p);
    if (current >= 0) promoted.push({ partition: p, worker: current });
    else {
      sync[map.master(ns, p)][p] = 1;
      noCurrentCopy.push(p);
    }
  }
  return { promoted, noCurrentCopy };
}

/**
 * A cold start after a crash trusts only each partition's master: every other copy is out of sync
 * and recorded stale. Writes `s.sync[ns]` and `stale`.
 */
export function distrustReplicas(s: Pick<CopyState, 'map' | 'sync'>, ns: number, stale: Uint8Array[]): void {
  const { map } = s;
  for (let p = 0; p < PARTITION_COUNT; p++) {
    const m = map.master(ns, p);
    for (let k = 0; k < map.copies[ns]; k++) {
      const w = map.holder(ns, p, k);
      if (w === m) continue;
      s.sync[ns][w][p] = 0;
      stale[w][p] = 1;
    }
  }
}

/**
 * Workers whose recovery skipped damaged log regions: every copy they hold is out of sync
 * (`distrusted`), and a partition one of them masters is trusted to its first other holder whose
 * log is whole and whose copy was not stale on record before the crash (`trusted`). With no such
 * holder the damaged master keeps it (`kept` counts those). Writes `s.sync[ns]`.
 */
export function distrustDamaged(s: Pick<CopyState, 'map' | 'sync'>, ns: number, damaged: boolean[], onRecord: Uint8Array[]): { trusted: number[][]; distrusted: number[][]; kept: number } {
  const { map } = s;
  const trusted: number[][] = damaged.map(() => []);
  const distrusted: number[][] = damaged.map(() => []);
  let kept = 0;
  for (let p = 0; p < PARTITION_COUNT; p++) {
    const m = map.master(ns, p);
    for (let k = 0; k < map.copies[ns]; k++) {
      const w = map.holder(ns, p, k);
      if (!damaged[w]) continue;
      if (w === m) {
        let whole = -1;
        for (let j = 0; j < map.copies[ns] && whole < 0; j++) {
          const r = map.holder(ns, p, j);
          if (r !== w && !damaged[r] && onRecord[r][p] === 0) whole = r;
        }
        if (whole < 0) {
          kept++;
          continue;
        }
        s.sync[ns][whole][p] = 1;
        trusted[whole].push(p);
      }
      s.sync[ns][w][p] = 0;
      distrusted[w].push(p);
    }
  }
  return { trusted, distrusted, kept };
}

/**
 * Every partition of the namespace whose master is not its preferred holder, grouped by old and
 * new master. A holder that is away while its partition changes master misses the order between
 * the two masters' channels: it is marked in `mustCopy` ([worker][partition]).
 */
export function plannedMoves(s: CopyState, ns: number, mustCopy: Uint8Array[]): PlannedMove[] {
  const { map } = s;
  const groups = new Map<number, PlannedMove>();
  const held = s.held[ns];
  for (let p = 0; p < PARTITION_COUNT; p++) {
    if (held[p] === 1) continue;
    const current = map.master(ns, p);
    const best = preferredMaster(s, ns, p);
    if (best < 0 || best === current) continue;
    for (let k = 0; k < map.copies[ns]; k++) {
      const d = map.holder(ns, p, k);
      if (!s.up(d) && d !== current) mustCopy[d][p] = 1;
    }
    const key = current * 65536 + best;
    let move = groups.get(key);
    if (move === undefined) groups.set(key, (move = { ns, from: current, to: best, partitions: [] }));
    move.partitions.push(p);
  }
  return [...groups.values()];
}

/**
 * Worker `w` died: the partitions it held in sync as a replica are returned (a restart that adopts
 * its memory may find them in sync again), and it is out of sync on all but its own masters — a
 * partition nobody else holds in sync stays with it. Writes `s.sync[ns]`.
 */
export function workerDown(s: Pick<CopyState, 'map' | 'sync'>, ns: number, w: number): Uint8Array {
  const { map } = s;
  const was = new Uint8Array(PARTITION_COUNT);
  const sync = s.sync[ns][w];
  for (let p = 0; p < PARTITION_COUNT; p++) {
    if (map.master(ns, p) === w) continue;
    if (sync[p] === 1) was[p] = 1;
    sync[p] = 0;
  }
  return was;
}

/**
 * A restarted worker is ready: which of its copies are in sync. A partition it still masters (not
 * moving) is: nobody else held it in sync, so what it kept is the copy there is (`only`). One it
 * held in sync as a replica when it died (`was`) is, if it adopted its memory and nothing since
 * requires a copy: its memory is a prefix of its master's channel, and the journal waiting there
 * brings the rest (`journalled`). Every other copy is out of sync. Writes `s.sync[ns][w]`.
 */
export function readmitted(s: CopyState, ns: number, w: number, was: Uint8Array | null, adopted: boolean, mustCopy: Uint8Array): { only: number[]; journalled: number[] } {
  const { map } = s;
  const sync = s.sync[ns][w];
  const only: number[] = [];
  const journalled: number[] = [];
  for (let p = 0; p < PARTITION_COUNT; p++) {
    if (!map.holds(ns, p, w)) continue;
    if (map.master(ns, p) === w && s.held[ns][p] === 0) {
      sync[p] = 1;
      only.push(p);
    } else if (adopted && was !== null && was[p] === 1 && mustCopy[p] === 0) {
      sync[p] = 1;
      journalled.push(p);
    } else {
      sync[p] = 0;
    }
  }
  return { only, journalled };
}

/** The partitions `w` holds out of sync in the namespace, leaving out those that move. */
export function outOfSync(s: CopyState, ns: number, w: number): number[] {
  const { map } = s;
  const out: number[] = [];
  for (let p = 0; p < PARTITION_COUNT; p++) if (s.sync[ns][w][p] === 0 && map.holds(ns, p, w) && s.held[ns][p] === 0) out.push(p);
  return out;
}

/**
 * Copy rounds bringing these partitions to worker `w`, each from the partition's current master,
 * at most `perRound` partitions a round. A partition whose master is `w` itself, away or not in
 * sync is left out (a later refill takes it).
 */
export function copyRounds(s: CopyState, ns: number, w: number, partitions: number[], perRound: number): { source: number; partitions: number[] }[] {
  const { map } = s;
  const bySource = new Map<number, number[]>();
  for (const p of partitions) {
    const m = map.master(ns, p);
    if (m === w || !s.up(m) || s.sync[ns][m][p] !== 1) continue;
    let list = bySource.get(m);
    if (list === undefined) bySource.set(m, (list = []));
    list.push(p);
  }
  const rounds: { source: number; partitions: number[] }[] = [];
  for (const [source, list] of bySource) {
    for (let i = 0; i < list.length; i += perRound) rounds.push({ source, partitions: list.slice(i, i + perRound) });
  }
  return rounds;
}

/** The replicas a write to partition p, answered by `master`, waits for: written into `out`, their count returned. */
export function syncReplicas(s: CopyState, ns: number, p: number, master: number, out: Int32Array): number {
  const { map } = s;
  let count = 0;
  for (let k = 0; k < map.copies[ns]; k++) {
    const w = map.holder(ns, p, k);
    if (w !== master && s.sync[ns][w][p] === 1 && s.up(w)) out[count++] = w;
  }
  return count;
}

/** Whether every copy of the namespace is in sync on a live worker and none of its partitions moves. */
export function namespaceInSync(s: CopyState, ns: number): boolean {
  const { map } = s;
  if (map.copies[ns] < 2) return true;
  for (let p = 0; p < PARTITION_COUNT; p++) {
    if (s.held[ns][p] === 1) return false;
    for (let k = 0; k < map.copies[ns]; k++) {
      const w = map.holder(ns, p, k);
      if (s.sync[ns][w][p] === 0 || !s.up(w)) return false;
    }
  }
  return true;
}
