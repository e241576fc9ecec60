// Who serves each partition, and how that changes when workers die and come back
// (docs/replication.md). The primary keeps, per namespace and worker, which partitions the worker
// holds in sync: a complete copy, given the channel messages already sent to it. A partition's
// master is its first holder (in succession order) that is up and in sync; whenever that changes
// (a death, a rebuilt worker) the partition moves, through a hold:
//
//  1. its requests are held on the primary (they are not sent anywhere);
//  2. the old master answers every request it was sent before the hold (skipped if it is dead:
//     its requests were answered for it, writes in doubt);
//  3. every live in-sync holder, the new master among them, applies the old master's channel up to
//     its tail, so the new master has every write the old one replicated and the other replicas
//     cannot apply the old master's last writes after the new master's first;
//  4. the map changes (new version) and the held requests are routed to the new master.
//
// A restarted worker adopts its memory; the partitions where it was an in-sync replica are in sync
// again at once (its channels journalled what it missed), unless a channel overflowed or another
// master took over meanwhile. The others (those it mastered, whose memory may hold writes that
// never reached a replica) are copied from their masters, round by round (src/worker/migrate-out.ts),
// and then it takes its own partitions back.

import { FAILOVER_TICK_MS, HOLD_TIMEOUT_MS, MIGRATE_PARTITIONS_PER_ROUND, MIGRATE_ROUND_TIMEOUT_MS, PARTITION_COUNT } from '../constants';
import type { NamespaceConfig } from '../config';
import type { PartitionMap } from '../partition/map';
import type { PartitionHolds } from '../partition/holds';
import { reached, type ReplicationChannels } from '../replication/channels';
import { readReplicaState, writeStaleCopies } from '../storage/replica-state';
import type { ReplicaWaits } from '../replication/waits';
import type { InSyncCopies } from '../replication/in-sync';
import type { WorkerHandle } from './worker-handle';

/** A set of partitions of one namespace moving from one master to another. */
interface Move {
  ns: number;
  partitions: number[];
  from: number;
  to: number;
  /** answers: the old master finishes what it was sent; drain: holders apply its channel. */
  phase: 'answers' | 'drain';
  answeredTarget: number;
  tails: { holder: number; tail: number }[];
  startedMs: number;
  warned: boolean;
}

interface Round {
  ns: number;
  source: number;
  partitions: number[];
  /** The namespace's resync count when the round started (-1: not started). */
  epoch: number;
}

/** A worker being filled from the masters of the partitions it holds out of sync. */
interface Fill {
  worker: WorkerHandle;
  rounds: Round[];
  current: Round | null;
  /** After the round's END: the channel position the worker must release. */
  waitTail: number;
  records: number;
  partitionsTotal: number;
  partitionsDone: number;
  startedMs: number;
}

export interface FailoverHost {
  workers: WorkerHandle[];
  map: PartitionMap;
  channels: ReplicationChannels;
  waits: ReplicaWaits;
  namespaces: NamespaceConfig[];
  /** The holds, in shared memory: a worker serving reads itself sees them (src/partition/holds.ts). */
  holds: PartitionHolds;
  /** `sync` and who is up, in shared memory: master workers read them (src/replication/in-sync.ts). */
  inSync?: InSyncCopies;
  /** Held requests may move on: route them again. */
  released(): void;
  log(message: string): void;
}

export class Failover {
  private readonly n: number;
  /** [ns][worker]: partitions held in sync. */
  readonly sync: Uint8Array[][];
  /** [ns]: partitions whose requests the primary holds (a move is under way). */
  readonly held: Uint8Array[];
  /** [ns][worker]: partitions that must be copied when the worker returns. */
  private readonly mustCopy: Uint8Array[][];
  /** [ns][worker]: partitions it held in sync as a replica when it died (null while it lives). */
  private readonly wasReplica: (Uint8Array | null)[][];
  private moves: Move[] = [];
  private readonly fills = new Map<number, Fill>();
  /**
   * [ns]: resyncs so far. A round that started before the latest one copied from the store a
   * restore replaced (its images and its END may meet the replica before or after the swap), so
   * it ends without putting its partitions in sync: they are copied again.
   */
  private readonly resyncs: Int32Array;
  /** Last completed rebuild per worker, for INFO. */
  private readonly lastRebuild = new Map<number, { partitions: number; records: number; elapsedMs: number }>();
  /**
   * [ns][worker] for replicated file namespaces (null otherwise): copies that may be behind, as
   * last written to disk (src/storage/replica-state.ts). Set before writes go on without a copy,
   * cleared once the copy is whole again and logged.
   */
  private readonly stale: (Uint8Array[] | null)[];
  /** `stale` as the file had it at start, before a crash made every replica's copy suspect. */
  private readonly staleOnRecord: (Uint8Array[] | null)[];
  /** Copies found whole at a restart, to be cleared from `stale` once their journal is applied. */
  private pendingClears: { ns: number; worker: number; partitions: number[]; tails: { from: number; tail: number }[] }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Moves completed, for INFO. */
  movesDone = 0;
  /**
   * Workers whose channel overflowed while they were starting, after beforeRestart gave them fresh
   * rings (a master worker reports an overflow at once, under writes the primary never saw): once
   * ready, such a worker is restarted again, else a copy into it would wait on a full channel forever.
   */
  private readonly overflowedWhileStarting = new Set<number>();

  constructor(private readonly host: FailoverHost) {
    const { map } = host;
    this.n = map.workerCount;
    const perWorker = () => Array.from({ length: this.n }, () => new Uint8Array(PARTITION_COUNT));
    this.sync = host.inSync?.sync ?? host.namespaces.map(() => perWorker());
    this.mustCopy = host.namespaces.map(() => perWorker());
    this.wasReplica = host.namespaces.map(() => new Array<Uint8Array | null>(this.n).fill(null));
    this.held = host.holds.held;
    this.resyncs = new Int32Array(host.namespaces.length);
    // At start every holder is in sync (memory namespaces are empty, file namespaces replayed each
    // worker's log of every write it applied as master or replica), except the copies a file
    // namespace recorded as stale: a holder with a current copy masters those partitions until
    // the stale ones are rebuilt (start()).
    const cleanStop = host.namespaces.map(() => false);
    this.stale = host.namespaces.map((cfg, ns) => {
      if (cfg.storage !== 'file' || map.copies[ns] < 2) return null;
      const state = readReplicaState(cfg.dataDir, cfg.name, this.n);
      cleanStop[ns] = state?.cleanStop === true;
      return state?.stale ?? Array.from({ length: this.n }, () => new Uint8Array(PARTITION_COUNT));
    });
    let moved = 0;
    for (let ns = 0; ns < host.namespaces.length; ns++) {
      const stale = this.stale[ns];
      for (let p = 0; p < PARTITION_COUNT; p++) {
        for (let k = 0; k < map.copies[ns]; k++) {
          const w = map.holder(ns, p, k);
          this.sync[ns][w][p] = stale !== null && stale[w][p] === 1 ? 0 : 1;
        }
        if (stale === null || this.sync[ns][map.master(ns, p)][p] === 1) continue;
        const current = this.firstInSync(ns, p);
        if (current >= 0) {
          map.setMaster(ns, p, current);
          moved++;
        } else {
          // Every copy is marked stale (should not happen): the configured master's is used.
          this.sync[ns][map.master(ns, p)][p] = 1;
          host.log(`namespace ${host.namespaces[ns].name}: partition ${p} has no current copy on record; serving worker ${map.master(ns, p)}'s`);
        }
      }
    }
    if (moved > 0) {
      map.bump();
      host.log(`${moved} partitions start on a replica: their configured master's copy is behind and is rebuilt first`);
    }
    this.staleOnRecord = this.stale.map((s) => (s === null ? null : s.map((w) => w.slice())));
    // A cold start after a crash trusts only each partition's master: a master's log may hold a
    // write it never got to replicate (answered in doubt, yet read back since), and a replica's one
    // its master never made durable. So every other copy is recorded stale and copied from the
    // master (start()), which keeps what was read before the restart readable after any later
    // failover. After a clean stop every copy not recorded stale is its master's equal: nothing is
    // copied but the stale ones. Either way the file is written again, without the clean mark,
    // before any write is acknowledged.
    for (let ns = 0; ns < host.namespaces.length; ns++) {
      const stale = this.stale[ns];
      if (stale === null) continue;
      if (cleanStop[ns]) {
        writeStaleCopies(host.namespaces[ns].dataDir, host.namespaces[ns].name, stale);
        continue;
      }
      for (let p = 0; p < PARTITION_COUNT; p++) {
        const m = map.master(ns, p);
        for (let k = 0; k < map.copies[ns]; k++) {
          const w = map.holder(ns, p, k);
          if (w === m) continue;
          this.sync[ns][w][p] = 0;
          stale[w][p] = 1;
        }
      }
      writeStaleCopies(host.namespaces[ns].dataDir, host.namespaces[ns].name, stale);
    }
  }

  /** After the first start of every worker: rebuild the copies a file namespace recorded as stale. */
  start(): void {
    this.distrustDamaged();
    this.refill();
  }

  /**
   * A worker whose recovery skipped damaged log regions (recoverySkipCorrupt) lost the records in
   * them, in partitions nobody can name: every copy it holds is stale and is copied again, and a
   * partition it masters goes to a holder whose log is whole. That holder's copy is trusted over
   * the damaged one even when a crash marked it stale: a write is acknowledged only once its
   * replicas hold it, so it misses only writes answered in doubt. A copy already behind on record
   * before the crash (its worker was away) is not trusted: the damaged master then stays.
   */
  private distrustDamaged(): void {
    const { map, workers } = this.host;
    for (let ns = 0; ns < map.copies.length; ns++) {
      const onRecord = this.staleOnRecord[ns];
      if (map.copies[ns] < 2 || onRecord === null) continue;
      const damaged = workers.map((h) => h.damagedNamespaces[ns] === true);
      if (!damaged.includes(true)) continue;
      const distrusted: number[][] = workers.map(() => []);
      const trusted: number[][] = workers.map(() => []);
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
            this.sync[ns][whole][p] = 1;
            trusted[whole].push(p);
          }
          this.sync[ns][w][p] = 0;
          distrusted[w].push(p);
        }
      }
      workers.forEach((_, w) => {
        if (trusted[w].length > 0) this.markStale(ns, w, trusted[w], 0);
        if (distrusted[w].length > 0) this.markStale(ns, w, distrusted[w], 1);
      });
      const name = this.host.namespaces[ns].name;
      const which = damaged.flatMap((d, w) => (d ? [w] : [])).join(', ');
      this.host.log(
        `namespace ${name}: worker ${which} skipped damaged log regions: its copies are copied again from whole ones` +
          (kept > 0 ? `; ${kept} partitions have no whole copy on record and keep the damaged one` : ''),
      );
    }
    this.reconcile();
  }

  private firstInSync(ns: number, p: number): number {
    const { map } = this.host;
    for (let k = 0; k < map.copies[ns]; k++) {
      const w = map.holder(ns, p, k);
      if (this.sync[ns][w][p] === 1) return w;
    }
    return -1;
  }

  /**
   * The partitions `w` holds as a replica now. When it stops taking writes these fall behind at
   * once (their masters go on without it); those it masters only when they move to another holder.
   * Marking those earlier could leave a partition with no current copy on record, its master's
   * being the only one.
   */
  private replicaPartitions(ns: number, w: number): number[] {
    const { map } = this.host;
    const out: number[] = [];
    for (let p = 0; p < PARTITION_COUNT; p++) if (map.holds(ns, p, w) && map.master(ns, p) !== w) out.push(p);
    return out;
  }

  /** Records copies as stale (or whole again) on disk, for replicated file namespaces. */
  private markStale(ns: number, worker: number, partitions: Iterable<number>, value: 0 | 1): void {
    const stale = this.stale[ns];
    if (stale === null) return;
    const { namespaces } = this.host;
    let changed = false;
    for (const p of partitions) {
      if (stale[worker][p] !== value) {
        stale[worker][p] = value;
        changed = true;
      }
    }
    if (!changed) return;
    try {
      writeStaleCopies(namespaces[ns].dataDir, namespaces[ns].name, stale);
    } catch (err) {
      this.host.log(`namespace ${namespaces[ns].name}: could not record which copies are stale: ${(err as Error).message}`);
    }
  }

  /**
   * The node stops cleanly: every worker closed its log without error and applied every channel to
   * its end, so each copy not recorded stale equals its master's. Says so on disk (the last write
   * of the replica state); the next start then copies only the stale ones. False if it could not.
   */
  recordCleanStop(): boolean {
    let ok = true;
    for (let ns = 0; ns < this.stale.length; ns++) {
      const stale = this.stale[ns];
      if (stale === null) continue;
      // A copy being rebuilt or moved is stale on record, or its move had not switched the map.
      if (this.moves.some((m) => m.ns === ns)) continue;
      try {
        writeStaleCopies(this.host.namespaces[ns].dataDir, this.host.namespaces[ns].name, stale, true);
      } catch (err) {
        ok = false;
        this.host.log(`namespace ${this.host.namespaces[ns].name}: could not record the clean stop: ${(err as Error).message}`);
      }
    }
    return ok;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * The replicas a write to partition p of `ns`, answered by `master`, waits for: written into
   * `out`, their count returned.
   */
  syncReplicas(ns: number, p: number, master: number, out: Int32Array): number {
    const { map, workers } = this.host;
    let count = 0;
    for (let k = 0; k < map.copies[ns]; k++) {
      const w = map.holder(ns, p, k);
      if (w !== master && this.sync[ns][w][p] === 1 && workers[w].state === 'up') out[count++] = w;
    }
    return count;
  }

  // ---- events ----

  /**
   * A worker's thread died (a restart may follow). `missedTruncates`: namespaces with a truncate
   * it may not have applied (every copy it holds there is copied again when it returns).
   */
  onWorkerDown(h: WorkerHandle, missedTruncates: number[] = []): void {
    const { map, workers, waits } = this.host;
    const w = h.index;
    for (const ns of missedTruncates) {
      for (let p = 0; p < PARTITION_COUNT; p++) if (map.holds(ns, p, w)) this.mustCopy[ns][w][p] = 1;
    }
    // On disk first: from the next line on, its masters' writes are acknowledged without its copies.
    // The partitions it mastered fall behind only once they move (checkMoves).
    for (let ns = 0; ns < map.copies.length; ns++) this.markStale(ns, w, this.replicaPartitions(ns, w), 1);
    h.settleCounts();
    this.host.inSync?.setUp(w, false);
    waits.dropReplica(w);
    for (const other of workers) if (other !== h) other.post({ type: 'migrate-cancel', target: w });
    if (this.fills.delete(w)) this.host.log(`worker ${w}: rebuild interrupted`);
    for (let ns = 0; ns < map.copies.length; ns++) {
      if (map.copies[ns] < 2) continue;
      const was = new Uint8Array(PARTITION_COUNT);
      const sync = this.sync[ns][w];
      for (let p = 0; p < PARTITION_COUNT; p++) {
        if (sync[p] === 1 && map.master(ns, p) !== w) was[p] = 1;
        // Its own partitions keep sync: a partition nobody else holds in sync stays with it.
        if (map.master(ns, p) !== w) sync[p] = 0;
      }
      this.wasReplica[ns][w] = was;
    }
    this.reconcile();
  }

  /**
   * A worker is about to start again: channels to it that overflowed get fresh rings (its masters
   * skipped them), and what they carried must be copied.
   */
  beforeRestart(h: WorkerHandle): void {
    const { channels, workers, map } = this.host;
    const w = h.index;
    this.overflowedWhileStarting.delete(w);
    for (let from = 0; from < this.n; from++) {
      if (from === w || !channels.overflowed(from, w)) continue;
      const sab = channels.replace(from, w);
      workers[from].post({ type: 'repl-ring', from, to: w, sab });
      for (let ns = 0; ns < map.copies.length; ns++) {
        if (map.copies[ns] < 2) continue;
        for (let p = 0; p < PARTITION_COUNT; p++) if (map.master(ns, p) === from) this.mustCopy[ns][w][p] = 1;
      }
      this.host.log(`worker ${w}: the channel from worker ${from} overflowed while it was away; the partitions it masters are copied`);
    }
  }

  /** A restarted worker is ready: decide what it holds in sync; the rest is copied. */
  onWorkerReady(h: WorkerHandle): void {
    const { map } = this.host;
    const w = h.index;
    if (this.overflowedWhileStarting.delete(w)) {
      for (let from = 0; from < this.n; from++) {
        if (from === w || !this.host.channels.overflowed(from, w)) continue;
        this.channelOverflowed(from, w);
        return;
      }
    }
    for (let ns = 0; ns < map.copies.length; ns++) {
      if (map.copies[ns] < 2) continue;
      const was = this.wasReplica[ns][w];
      const adopted = h.adoptedNamespaces[ns] === true;
      const only: number[] = [];
      const journalled: number[] = [];
      for (let p = 0; p < PARTITION_COUNT; p++) {
        if (!map.holds(ns, p, w)) continue;
        if (map.master(ns, p) === w && this.held[ns][p] === 0) {
          // Nobody else held it in sync: what this worker kept is the copy there is.
          this.sync[ns][w][p] = 1;
          only.push(p);
        } else if (adopted && was !== null && was[p] === 1 && this.mustCopy[ns][w][p] === 0) {
          // A replica's memory is a prefix of its master's channel; the journal brings the rest.
          this.sync[ns][w][p] = 1;
          journalled.push(p);
        } else {
          this.sync[ns][w][p] = 0;
        }
      }
      this.markStale(ns, w, only, 0);
      if (journalled.length > 0 && this.stale[ns] !== null) {
        // Whole on disk only once the journal waiting in its channels is applied and logged.
        const tails: { from: number; tail: number }[] = [];
        for (let from = 0; from < this.n; from++) {
          const sab = this.host.channels.ring(from, w);
          if (sab !== null) tails.push({ from, tail: this.host.channels.tail(from, w) });
        }
        this.pendingClears.push({ ns, worker: w, partitions: journalled, tails });
        this.ensureTimer();
      }
      this.wasReplica[ns][w] = null;
      this.mustCopy[ns][w].fill(0);
    }
    this.host.inSync?.setUp(w, true);
    this.refill();
    this.reconcile();
  }

  /**
   * Starts a rebuild for every live worker holding partitions out of sync whose masters can give
   * them (a partition whose master is away or moving waits for a later call).
   */
  private refill(): void {
    if (this.stopped) return;
    const { map, workers } = this.host;
    for (const h of workers) {
      const w = h.index;
      if (h.state !== 'up' || this.fills.has(w)) continue;
      const rounds: Round[] = [];
      for (let ns = 0; ns < map.copies.length; ns++) {
        if (map.copies[ns] < 2) continue;
        const outOfSync: number[] = [];
        for (let p = 0; p < PARTITION_COUNT; p++) {
          if (this.sync[ns][w][p] === 0 && map.holds(ns, p, w) && this.held[ns][p] === 0) outOfSync.push(p);
        }
        rounds.push(...this.roundsFor(w, ns, outOfSync));
      }
      if (rounds.length === 0) continue;
      const partitionsTotal = rounds.reduce((sum, r) => sum + r.partitions.length, 0);
      this.host.log(`worker ${w}: rebuilding ${partitionsTotal} partitions from their masters`);
      const fill: Fill = { worker: h, rounds, current: null, waitTail: -1, records: 0, partitionsTotal, partitionsDone: 0, startedMs: Date.now() };
      this.fills.set(w, fill);
      this.nextRound(fill);
    }
  }

  /**
   * Every replica of the namespace is copied again from its master (after a restore, whose parts
   * each worker wrote from a moment of its own). Until a partition is copied, its writes do not
   * wait for that replica, and it cannot take over.
   */
  resync(ns: number): void {
    const { map } = this.host;
    if (map.copies[ns] < 2) return;
    this.resyncs[ns]++;
    for (let w = 0; w < this.n; w++) {
      const sync = this.sync[ns][w];
      const replicas: number[] = [];
      for (let p = 0; p < PARTITION_COUNT; p++) if (map.master(ns, p) !== w && map.holds(ns, p, w)) replicas.push(p);
      this.markStale(ns, w, replicas, 1);
      for (const p of replicas) sync[p] = 0;
    }
    this.refill();
  }

  /**
   * Resolves true once every copy of the namespace is held in sync by a live worker and no
   * partition of it moves; false after `timeoutMs` (a worker down, a copy still running).
   */
  async waitInSync(ns: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.namespaceInSync(ns)) {
      if (Date.now() >= deadline || this.stopped) return false;
      await new Promise((resolve) => setTimeout(resolve, FAILOVER_TICK_MS));
    }
    return true;
  }

  private namespaceInSync(ns: number): boolean {
    const { map, workers } = this.host;
    if (map.copies[ns] < 2) return true;
    for (let p = 0; p < PARTITION_COUNT; p++) {
      if (this.held[ns][p] === 1) return false;
      for (let k = 0; k < map.copies[ns]; k++) {
        const w = map.holder(ns, p, k);
        if (this.sync[ns][w][p] === 0 || workers[w].state !== 'up') return false;
      }
    }
    return true;
  }

  /** Another worker's copies of these partitions can no longer be trusted: its channel overflowed while it was up. */
  channelOverflowed(from: number, to: number): void {
    const h = this.host.workers[to];
    if (h.state !== 'up') {
      // Down: beforeRestart gives it fresh rings. Starting: it is restarted once ready.
      this.overflowedWhileStarting.add(to);
      return;
    }
    // It missed writes it was owed: stop waiting for it and have it copied afresh.
    for (let ns = 0; ns < this.sync.length; ns++) this.markStale(ns, to, this.replicaPartitions(ns, to), 1);
    for (let ns = 0; ns < this.sync.length; ns++) {
      const sync = this.sync[ns][to];
      for (let p = 0; p < PARTITION_COUNT; p++) if (this.host.map.master(ns, p) !== to) sync[p] = 0;
    }
    this.host.waits.dropReplica(to);
    h.kill(`replication channel from worker ${from} overflowed: restarting it to copy its partitions afresh`);
  }

  // ---- rebuild ----

  private nextRound(fill: Fill): void {
    const w = fill.worker.index;
    if (this.fills.get(w) !== fill || this.stopped) return;
    const round = fill.rounds.shift();
    if (round === undefined) {
      const elapsedMs = Date.now() - fill.startedMs;
      this.fills.delete(w);
      this.lastRebuild.set(w, { partitions: fill.partitionsDone, records: fill.records, elapsedMs });
      this.host.log(`worker ${w}: rebuilt ${fill.partitionsDone} partitions (${fill.records} records) in ${elapsedMs} ms`);
      this.reconcile();
      this.refill();
      return;
    }
    const { workers, map } = this.host;
    // The source may have changed since the round was planned (a death, a move).
    const still = round.partitions.filter((p) => map.master(round.ns, p) === round.source);
    const moved = round.partitions.filter((p) => map.master(round.ns, p) !== round.source);
    if (moved.length > 0) this.replan(fill, round.ns, moved);
    if (still.length === 0 || workers[round.source].state !== 'up') {
      if (still.length > 0) this.replan(fill, round.ns, still);
      setImmediate(() => this.nextRound(fill));
      return;
    }
    round.partitions = still;
    round.epoch = this.resyncs[round.ns];
    fill.current = round;
    const source = workers[round.source];
    source
      .control({ type: 'migrate', nsIndex: round.ns, target: w, partitions: round.partitions }, MIGRATE_ROUND_TIMEOUT_MS)
      .then((value) => {
        if (this.fills.get(w) !== fill) return;
        fill.records += (value as { records: number }).records;
        // END is in the channel: in sync once the worker has applied up to here.
        fill.waitTail = this.host.channels.tail(round.source, w);
        this.ensureTimer();
      })
      .catch((err: Error) => {
        if (this.fills.get(w) !== fill) return;
        this.host.log(`worker ${w}: copying ${round.partitions.length} partitions from worker ${round.source} failed (${err.message}); trying again`);
        fill.current = null;
        this.replan(fill, round.ns, round.partitions);
        setTimeout(() => this.nextRound(fill), 50).unref();
      });
  }

  /** Puts partitions back in the plan, each under its current master (skipped if none can give it). */
  private replan(fill: Fill, ns: number, partitions: number[]): void {
    fill.rounds.push(...this.roundsFor(fill.worker.index, ns, partitions));
  }

  /**
   * Rounds copying these partitions to worker `w`, each from the partition's current master, at
   * most MIGRATE_PARTITIONS_PER_ROUND a round. A partition whose master is `w` itself, away or
   * not in sync is left out (a later refill takes it).
   */
  private roundsFor(w: number, ns: number, partitions: number[]): Round[] {
    const { map, workers } = this.host;
    const bySource = new Map<number, number[]>();
    for (const p of partitions) {
      const m = map.master(ns, p);
      if (m === w || workers[m].state !== 'up' || this.sync[ns][m][p] !== 1) continue;
      let list = bySource.get(m);
      if (list === undefined) bySource.set(m, (list = []));
      list.push(p);
    }
    const rounds: Round[] = [];
    for (const [source, list] of bySource) {
      for (let i = 0; i < list.length; i += MIGRATE_PARTITIONS_PER_ROUND) {
        rounds.push({ ns, source, partitions: list.slice(i, i + MIGRATE_PARTITIONS_PER_ROUND), epoch: -1 });
      }
    }
    return rounds;
  }

  private checkFills(): void {
    for (const fill of this.fills.values()) {
      const round = fill.current;
      if (round === null || fill.waitTail < 0) continue;
      if (!reached(this.host.channels.head(round.source, fill.worker.index), fill.waitTail)) continue;
      if (round.epoch !== this.resyncs[round.ns]) {
        // A restore replaced the store the round copied from: its copy may mix both (resync()).
        fill.current = null;
        fill.waitTail = -1;
        this.replan(fill, round.ns, round.partitions);
        this.nextRound(fill);
        continue;
      }
      for (const p of round.partitions) this.sync[round.ns][fill.worker.index][p] = 1;
      this.markStale(round.ns, fill.worker.index, round.partitions, 0);
      fill.partitionsDone += round.partitions.length;
      fill.current = null;
      fill.waitTail = -1;
      this.nextRound(fill);
    }
  }

  // ---- masters ----

  /** The partition's rightful master now: its first holder that is up and in sync (-1: none). */
  private preferred(ns: number, p: number): number {
    const { map, workers } = this.host;
    for (let k = 0; k < map.copies[ns]; k++) {
      const w = map.holder(ns, p, k);
      if (this.sync[ns][w][p] === 1 && workers[w].state === 'up') return w;
    }
    return -1;
  }

  /** Starts a move for every partition whose master is not its preferred holder. */
  reconcile(): void {
    if (this.stopped) return;
    const { map, workers } = this.host;
    const groups = new Map<string, Move>();
    for (let ns = 0; ns < map.copies.length; ns++) {
      if (map.copies[ns] < 2) continue;
      const held = this.held[ns];
      for (let p = 0; p < PARTITION_COUNT; p++) {
        if (held[p] === 1) continue;
        const current = map.master(ns, p);
        const best = this.preferred(ns, p);
        if (best < 0 || best === current) continue;
        // A worker that is away misses the order between the two masters' channels: copy it.
        for (let k = 0; k < map.copies[ns]; k++) {
          const d = map.holder(ns, p, k);
          if (workers[d].state !== 'up' && d !== current) this.mustCopy[ns][d][p] = 1;
        }
        const key = `${ns}:${current}:${best}`;
        let move = groups.get(key);
        if (move === undefined) {
          move = {
            ns,
            partitions: [],
            from: current,
            to: best,
            phase: 'answers',
            answeredTarget: workers[current].sent,
            tails: [],
            startedMs: Date.now(),
            warned: false,
          };
          groups.set(key, move);
        }
        move.partitions.push(p);
        this.host.holds.hold(ns, p);
      }
    }
    if (groups.size === 0) return;
    for (const move of groups.values()) {
      this.moves.push(move);
      this.host.log(`namespace ${this.host.namespaces[move.ns].name}: moving ${move.partitions.length} partitions from worker ${move.from} to worker ${move.to}`);
    }
    this.checkMoves();
    this.ensureTimer();
  }

  private checkMoves(): void {
    const { workers, map, channels } = this.host;
    let changed = false;
    const remaining: Move[] = [];
    for (const move of this.moves) {
      const from = workers[move.from];
      if (workers[move.to].state !== 'up') {
        // The new master died first: let go and decide again.
        for (const p of move.partitions) this.held[move.ns][p] = 0;
        changed = true;
        continue;
      }
      if (move.phase === 'answers') {
        // A worker serving a read itself when the hold came finishes it first (holds.ts).
        if (from.state === 'up' && (from.answered < move.answeredTarget || this.host.holds.localBusy(move.from))) {
          remaining.push(move);
          continue;
        }
        move.phase = 'drain';
        for (let k = 0; k < map.copies[move.ns]; k++) {
          const holder = map.holder(move.ns, move.partitions[0], k);
          if (holder === move.from || workers[holder].state !== 'up') continue;
          const sab = channels.ring(move.from, holder);
          if (sab !== null) move.tails.push({ holder, tail: channels.tail(move.from, holder) });
        }
      }
      const drained = move.tails.every(({ holder, tail }) => reached(channels.head(move.from, holder), tail));
      if (!drained) {
        if (!move.warned && Date.now() - move.startedMs > HOLD_TIMEOUT_MS) {
          move.warned = true;
          this.host.log(`namespace ${this.host.namespaces[move.ns].name}: worker ${move.to} has not caught up with worker ${move.from} after ${HOLD_TIMEOUT_MS} ms; partitions still held`);
        }
        remaining.push(move);
        continue;
      }
      // On disk before the switch: the new master's copy is current (it applied and logged all of
      // the old master's channel), and a dead old master's falls behind from now on.
      this.markStale(move.ns, move.to, move.partitions, 0);
      if (from.state !== 'up') this.markStale(move.ns, move.from, move.partitions, 1);
      for (const p of move.partitions) {
        map.setMaster(move.ns, p, move.to);
        this.held[move.ns][p] = 0;
      }
      map.bump();
      this.movesDone++;
      changed = true;
      this.host.log(
        `namespace ${this.host.namespaces[move.ns].name}: worker ${move.to} masters ${move.partitions.length} partitions from worker ${move.from} (map version ${map.version}, ${Date.now() - move.startedMs} ms)`,
      );
    }
    this.moves = remaining;
    if (changed) {
      this.host.released();
      this.reconcile();
      this.refill();
    }
  }

  private ensureTimer(): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = setInterval(() => {
      this.tick();
      if (this.moves.length === 0 && this.pendingClears.length === 0 && ![...this.fills.values()].some((f) => f.waitTail >= 0) && this.timer !== null) {
        clearInterval(this.timer);
        this.timer = null;
      }
    }, FAILOVER_TICK_MS);
  }

  /** Progress checks, also run whenever a worker acknowledges replication. */
  tick(): void {
    if (this.moves.length > 0) this.checkMoves();
    if (this.fills.size > 0) this.checkFills();
    if (this.pendingClears.length > 0) this.checkClears();
  }

  private checkClears(): void {
    const { channels, workers } = this.host;
    this.pendingClears = this.pendingClears.filter((c) => {
      if (workers[c.worker].state !== 'up') return false; // died again: still stale
      const done = c.tails.every(({ from, tail }) => reached(channels.head(from, c.worker), tail));
      if (!done) return true;
      if (c.partitions.every((p) => this.sync[c.ns][c.worker][p] === 1)) this.markStale(c.ns, c.worker, c.partitions, 0);
      return false;
    });
  }

  // ---- INFO ----

  info(): Record<string, unknown> {
    const { map, workers } = this.host;
    const perWorker = workers.map((h) => {
      let master = 0;
      let replica = 0;
      let outOfSync = 0;
      for (let ns = 0; ns < map.copies.length; ns++) {
        for (let p = 0; p < PARTITION_COUNT; p++) {
          if (!map.holds(ns, p, h.index)) continue;
          if (map.master(ns, p) === h.index) master++;
          else replica++;
          if (this.sync[ns][h.index][p] === 0) outOfSync++;
        }
      }
      const fill = this.fills.get(h.index);
      return {
        worker: h.index,
        master,
        replica,
        outOfSync,
        rebuild:
          fill === undefined
            ? null
            : {
                partitionsRemaining: fill.partitionsTotal - fill.partitionsDone,
                partitionsTotal: fill.partitionsTotal,
                recordsMoved: fill.records,
                elapsedMs: Date.now() - fill.startedMs,
              },
        lastRebuild: this.lastRebuild.get(h.index) ?? null,
      };
    });
    let held = 0;
    for (const h of this.held) for (let p = 0; p < PARTITION_COUNT; p++) held += h[p];
    return { mapVersion: map.version, partitionsMoving: held, movesDone: this.movesDone, workers: perWorker };
  }
}
