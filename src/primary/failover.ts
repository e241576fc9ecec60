// Who serves each partition, and how that changes when workers die and come back
// (docs/replication.md). The primary keeps, per namespace and worker, which partitions the worker
// holds in sync: a complete copy, given the channel messages already sent to it. A partition's
// master is its first holder (in succession order) that is up and in sync; whenever that changes
// (a death, a rebuilt worker) the partition moves, through a hold (moves.ts).
//
// A restarted worker adopts its memory; the partitions where it was an in-sync replica are in sync
// again at once (its channels journalled what it missed), unless a channel overflowed or another
// master took over meanwhile. The others (those it mastered, whose memory may hold writes that
// never reached a replica) are copied from their masters (rebuild.ts), and then it takes its own
// partitions back. The decisions themselves are plain functions of the state (ownership.ts); this
// file feeds them the node's events and acts on what they decide.

import { FAILOVER_TICK_MS, PARTITION_COUNT } from '../constants';
import type { NamespaceConfig } from '../config';
import type { NodeLog } from '../log';
import type { PartitionMap } from '../partition/map';
import type { PartitionHolds } from '../partition/holds';
import type { ReplicationChannels } from '../replication/channels';
import { Moves } from './moves';
import * as own from './ownership';
import { Rebuilds } from './rebuild';
import type { ReplicaWaits } from '../replication/waits';
import type { InSyncCopies } from '../replication/in-sync';
import { StaleCopies } from './stale-copies';
import type { WorkerHandle } from './worker-handle';

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
  /** Refuses requests never sent to any thread (not applied): moves.ts, a dead master's backlog. */
  refuse(slots: number[]): void;
  log: NodeLog;
}

export class Failover {
  private readonly n: number;
  /** [ns][worker]: partitions held in sync. */
  readonly sync: Uint8Array[][];
  /** [ns]: partitions whose requests the primary holds (a move is under way). */
  readonly held: Uint8Array[];
  /** The state the ownership decisions read. */
  private readonly state: own.CopyState;
  /** [ns][worker]: partitions that must be copied when the worker returns. */
  private readonly mustCopy: Uint8Array[][];
  /** [ns][worker]: partitions it held in sync as a replica when it died (null while it lives). */
  private readonly wasReplica: (Uint8Array | null)[][];
  /** [ns]: resyncs so far (see RebuildHost.resyncs). */
  private readonly resyncs: Int32Array;
  private readonly staleCopies: StaleCopies;
  private readonly moves: Moves;
  private readonly rebuilds: Rebuilds;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /**
   * Workers whose channel overflowed while they were starting, after beforeRestart gave them fresh
   * rings (a master worker reports an overflow at once, under writes the primary never saw): once
   * ready, such a worker is restarted again, else a copy into it would wait on a full channel forever.
   */
  private readonly overflowedWhileStarting = new Set<number>();

  constructor(private readonly host: FailoverHost) {
    const { map, workers } = host;
    this.n = map.workerCount;
    const perWorker = () => Array.from({ length: this.n }, () => new Uint8Array(PARTITION_COUNT));
    this.sync = host.inSync?.sync ?? host.namespaces.map(() => perWorker());
    this.mustCopy = host.namespaces.map(() => perWorker());
    this.wasReplica = host.namespaces.map(() => new Array<Uint8Array | null>(this.n).fill(null));
    this.held = host.holds.held;
    this.resyncs = new Int32Array(host.namespaces.length);
    this.state = { map, sync: this.sync, held: this.held, up: (w) => workers[w].state === 'up' };
    this.staleCopies = new StaleCopies(host.namespaces, map.copies, this.n, host.log);
    this.moves = new Moves({ ...host, staleCopies: this.staleCopies });
    this.rebuilds = new Rebuilds({
      ...host,
      state: this.state,
      staleCopies: this.staleCopies,
      resyncs: this.resyncs,
      stopped: () => this.stopped,
      finished: () => {
        this.reconcile();
        this.rebuilds.refill();
      },
      waiting: () => this.ensureTimer(),
    });
    this.startingMasters();
    this.staleCopies.keepOnRecord();
    this.coldStart();
  }

  /**
   * At start every holder is in sync (memory namespaces are empty, file namespaces replayed each
   * worker's log of every write it applied as master or replica), except the copies a file
   * namespace recorded as stale: a holder with a current copy masters those partitions until the
   * stale ones are rebuilt (start()).
   */
  private startingMasters(): void {
    const { map, namespaces, log } = this.host;
    let moved = 0;
    for (let ns = 0; ns < namespaces.length; ns++) {
      const { promoted, noCurrentCopy } = own.startingMasters(this.state, ns, this.staleCopies.stale[ns]);
      for (const { partition, worker } of promoted) map.setMaster(ns, partition, worker);
      moved += promoted.length;
      // Every copy is marked stale (should not happen): the configured master's is used.
      for (const p of noCurrentCopy) {
        const namespace = namespaces[ns].name;
        log.warn(`namespace ${namespace}: partition ${p} has no current copy on record; serving worker ${map.master(ns, p)}'s`, { namespace, partition: p, worker: map.master(ns, p) });
      }
    }
    if (moved > 0) {
      map.bump();
      log.warn(`${moved} partitions start on a replica: their configured master's copy is behind and is rebuilt first`, { partitions: moved });
    }
  }

  /**
   * A cold start after a crash trusts only each partition's master: a master's log may hold a
   * write it never got to replicate (answered in doubt, yet read back since), and a replica's one
   * its master never made durable. So every other copy is recorded stale and copied from the
   * master (start()), which keeps what was read before the restart readable after any later
   * failover. After a clean stop every copy not recorded stale is its master's equal: nothing is
   * copied but the stale ones; so at the first start of a namespace, which holds nothing yet. Either way the file is written again, without the clean mark,
   * before any write is acknowledged.
   */
  private coldStart(): void {
    for (let ns = 0; ns < this.host.namespaces.length; ns++) {
      const stale = this.staleCopies.stale[ns];
      if (stale === null) continue;
      if (!this.staleCopies.cleanStop[ns]) own.distrustReplicas(this.state, ns, stale);
      this.staleCopies.write(ns);
    }
  }

  /** After the first start of every worker: rebuild the copies a file namespace recorded as stale. */
  start(): void {
    this.distrustDamaged();
    this.rebuilds.refill();
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
    const { map, workers, log } = this.host;
    for (let ns = 0; ns < map.copies.length; ns++) {
      const onRecord = this.staleCopies.onRecord[ns];
      if (map.copies[ns] < 2 || onRecord === null) continue;
      const damaged = workers.map((h) => h.damagedNamespaces[ns] === true);
      if (!damaged.includes(true)) continue;
      const { trusted, distrusted, kept } = own.distrustDamaged(this.state, ns, damaged, onRecord);
      workers.forEach((_, w) => {
        if (trusted[w].length > 0) this.staleCopies.mark(ns, w, trusted[w], 0);
        if (distrusted[w].length > 0) this.staleCopies.mark(ns, w, distrusted[w], 1);
      });
      const namespace = this.host.namespaces[ns].name;
      const which = damaged.flatMap((d, w) => (d ? [w] : [])).join(', ');
      log.warn(
        `namespace ${namespace}: worker ${which} skipped damaged log regions: its copies are copied again from whole ones` +
          (kept > 0 ? `; ${kept} partitions have no whole copy on record and keep the damaged one` : ''),
        { namespace, workers: which, partitions: distrusted.reduce((sum, list) => sum + list.length, 0), kept },
      );
    }
    this.reconcile();
  }

  /**
   * The node stops cleanly: every worker closed its log without error and applied every channel to
   * its end, so each copy not recorded stale equals its master's. Says so on disk (the last write
   * of the replica state); the next start then copies only the stale ones. False if it could not.
   */
  recordCleanStop(): boolean {
    // A copy being rebuilt or moved is stale on record, or its move had not switched the map.
    return this.staleCopies.recordCleanStop((ns) => !this.moves.moving(ns));
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
    return own.syncReplicas(this.state, ns, p, master, out);
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
    // The partitions it mastered fall behind only once they move (moves.ts).
    for (let ns = 0; ns < map.copies.length; ns++) this.staleCopies.mark(ns, w, own.replicaPartitions(map, ns, w), 1);
    h.settleCounts();
    this.host.inSync?.setUp(w, false);
    waits.dropReplica(w);
    for (const other of workers) if (other !== h) other.post({ type: 'migrate-cancel', target: w });
    this.rebuilds.interrupt(w);
    for (let ns = 0; ns < map.copies.length; ns++) {
      if (map.copies[ns] >= 2) this.wasReplica[ns][w] = own.workerDown(this.state, ns, w);
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
      this.host.log.warn(`worker ${w}: the channel from worker ${from} overflowed while it was away; the partitions it masters are copied`, { worker: w, from });
    }
  }

  /** A restarted worker is ready: decide what it holds in sync; the rest is copied. */
  onWorkerReady(h: WorkerHandle): void {
    const { map, channels } = this.host;
    const w = h.index;
    if (this.overflowedWhileStarting.delete(w)) {
      for (let from = 0; from < this.n; from++) {
        if (from === w || !channels.overflowed(from, w)) continue;
        this.channelOverflowed(from, w);
        return;
      }
    }
    for (let ns = 0; ns < map.copies.length; ns++) {
      if (map.copies[ns] < 2) continue;
      const { only, journalled } = own.readmitted(this.state, ns, w, this.wasReplica[ns][w], h.adoptedNamespaces[ns] === true, this.mustCopy[ns][w]);
      this.staleCopies.mark(ns, w, only, 0);
      if (journalled.length > 0 && this.staleCopies.stale[ns] !== null) {
        // Whole on disk only once the journal waiting in its channels is applied and logged.
        const tails: { from: number; tail: number }[] = [];
        for (let from = 0; from < this.n; from++) if (channels.ring(from, w) !== null) tails.push({ from, tail: channels.tail(from, w) });
        this.staleCopies.clearAfter({ ns, worker: w, partitions: journalled, tails });
        this.ensureTimer();
      }
      this.wasReplica[ns][w] = null;
      this.mustCopy[ns][w].fill(0);
    }
    this.host.inSync?.setUp(w, true);
    this.rebuilds.refill();
    this.reconcile();
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
    for (let ns = 0; ns < this.sync.length; ns++) this.staleCopies.mark(ns, to, own.replicaPartitions(this.host.map, ns, to), 1);
    for (let ns = 0; ns < this.sync.length; ns++) {
      const sync = this.sync[ns][to];
      for (let p = 0; p < PARTITION_COUNT; p++) if (this.host.map.master(ns, p) !== to) sync[p] = 0;
    }
    this.host.waits.dropReplica(to);
    h.kill(`replication channel from worker ${from} overflowed: restarting it to copy its partitions afresh`);
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
      const replicas = own.replicaPartitions(map, ns, w);
      this.staleCopies.mark(ns, w, replicas, 1);
      for (const p of replicas) this.sync[ns][w][p] = 0;
    }
    this.rebuilds.refill();
  }

  /**
   * Resolves true once every copy of the namespace is held in sync by a live worker and no
   * partition of it moves; false after `timeoutMs` (a worker down, a copy still running).
   */
  async waitInSync(ns: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!own.namespaceInSync(this.state, ns)) {
      if (Date.now() >= deadline || this.stopped) return false;
      await new Promise((resolve) => setTimeout(resolve, FAILOVER_TICK_MS));
    }
    return true;
  }

  // ---- masters ----

  /** Starts a move for every partition whose master is not its preferred holder. */
  reconcile(): void {
    if (this.stopped) return;
    const { map } = this.host;
    const planned: own.PlannedMove[] = [];
    for (let ns = 0; ns < map.copies.length; ns++) if (map.copies[ns] >= 2) planned.push(...own.plannedMoves(this.state, ns, this.mustCopy[ns]));
    if (planned.length === 0) return;
    this.moves.start(planned);
    this.checkMoves();
    this.ensureTimer();
  }

  private checkMoves(): void {
    if (!this.moves.check()) return;
    this.host.released();
    this.reconcile();
    this.rebuilds.refill();
  }

  private ensureTimer(): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = setInterval(() => {
      this.tick();
      if (!this.moves.active && this.staleCopies.pendingCount === 0 && !this.rebuilds.waitingForChannel && this.timer !== null) {
        clearInterval(this.timer);
        this.timer = null;
      }
    }, FAILOVER_TICK_MS);
  }

  /** Progress checks, also run whenever a worker acknowledges replication. */
  tick(): void {
    if (this.moves.active) this.checkMoves();
    if (this.rebuilds.active) this.rebuilds.check();
    if (this.staleCopies.pendingCount > 0) this.staleCopies.checkClears(this.host.channels, this.state.up, this.sync);
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
      return { worker: h.index, master, replica, outOfSync, ...this.rebuilds.info(h.index) };
    });
    let held = 0;
    for (const h of this.held) for (let p = 0; p < PARTITION_COUNT; p++) held += h[p];
    return { mapVersion: map.version, partitionsMoving: held, movesDone: this.moves.done, workers: perWorker };
  }
}
