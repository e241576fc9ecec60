// Rebuilds: a live worker holding copies out of sync is copied them from their masters, round by
// round (src/worker/migrate-out.ts sends, src/worker/copy-round.ts receives). A round ends when the
// worker has applied its channel up to the round's END; its partitions are then in sync.

import { MIGRATE_PARTITIONS_PER_ROUND, MIGRATE_ROUND_TIMEOUT_MS } from '../constants';
import { AerieError } from '../errors';
import type { NodeLog } from '../log';
import type { PartitionMap } from '../partition/map';
import { reached, type ReplicationChannels } from '../replication/channels';
import { type CopyState, copyRounds, outOfSync } from './ownership';
import type { StaleCopies } from './stale-copies';
import type { WorkerHandle } from './worker-handle';

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

export interface RebuildHost {
  workers: WorkerHandle[];
  map: PartitionMap;
  channels: ReplicationChannels;
  state: CopyState;
  staleCopies: StaleCopies;
  /**
   * [ns]: resyncs so far. A round that started before the latest one copied from a store a
   * restore replaced, so it ends without putting its partitions in sync: they are copied again.
   */
  resyncs: Int32Array;
  log: NodeLog;
  stopped(): boolean;
  /** A rebuild finished: masters may move back to the rebuilt worker. */
  finished(): void;
  /** A round waits for a channel position: progress checks must run. */
  waiting(): void;
}

export class Rebuilds {
  private readonly fills = new Map<number, Fill>();
  /** Last completed rebuild per worker, for INFO. */
  private readonly last = new Map<number, { partitions: number; records: number; elapsedMs: number }>();
  /** Per worker since the node started: rebuilds completed and the records they copied (for /metrics). */
  private readonly completed = new Map<number, { count: number; records: number }>();

  constructor(private readonly host: RebuildHost) {}

  get active(): boolean {
    return this.fills.size > 0;
  }

  /** Whether a round waits for its END to be applied (the progress timer must run). */
  get waitingForChannel(): boolean {
    for (const f of this.fills.values()) if (f.waitTail >= 0) return true;
    return false;
  }

  /**
   * Starts a rebuild for every live worker holding partitions out of sync whose masters can give
   * them (a partition whose master is away or moving waits for a later call).
   */
  refill(): void {
    if (this.host.stopped()) return;
    const { map, workers, state } = this.host;
    for (const h of workers) {
      const w = h.index;
      if (h.state !== 'up' || this.fills.has(w)) continue;
      const rounds: Round[] = [];
      for (let ns = 0; ns < map.copies.length; ns++) {
        if (map.copies[ns] < 2) continue;
        rounds.push(...this.roundsFor(w, ns, outOfSync(state, ns, w)));
      }
      if (rounds.length === 0) continue;
      const partitionsTotal = rounds.reduce((sum, r) => sum + r.partitions.length, 0);
      this.host.log.event('warn', 'rebuild-start', `worker ${w}: rebuilding ${partitionsTotal} partitions from their masters`, { worker: w, partitions: partitionsTotal });
      const fill: Fill = { worker: h, rounds, current: null, waitTail: -1, records: 0, partitionsTotal, partitionsDone: 0, startedMs: Date.now() };
      this.fills.set(w, fill);
      this.nextRound(fill);
    }
  }

  /** The worker died: its rebuild stops (a later refill starts afresh). */
  interrupt(w: number): void {
    const fill = this.fills.get(w);
    if (fill === undefined) return;
    this.fills.delete(w);
    this.host.log.event('warn', 'rebuild-interrupted', `worker ${w}: rebuild interrupted`, {
      worker: w,
      partitions: fill.partitionsDone,
      partitionsTotal: fill.partitionsTotal,
      records: fill.records,
      durationMs: Date.now() - fill.startedMs,
    });
  }

  /** Rounds whose END the worker has applied: their partitions are in sync; the next round starts. */
  check(): void {
    const { state, staleCopies, channels, resyncs } = this.host;
    for (const fill of this.fills.values()) {
      const round = fill.current;
      if (round === null || fill.waitTail < 0) continue;
      if (!reached(channels.head(round.source, fill.worker.index), fill.waitTail)) continue;
      fill.current = null;
      fill.waitTail = -1;
      if (round.epoch !== resyncs[round.ns]) {
        // A restore replaced the store the round copied from: its copy may mix both (resync()).
        this.replan(fill, round.ns, round.partitions);
        this.nextRound(fill);
        continue;
      }
      for (const p of round.partitions) state.sync[round.ns][fill.worker.index][p] = 1;
      staleCopies.mark(round.ns, fill.worker.index, round.partitions, 0);
      fill.partitionsDone += round.partitions.length;
      this.nextRound(fill);
    }
  }

  /** INFO's figures for worker `w`: the rebuild under way (null: none) and the last one done. */
  info(w: number): {
    rebuild: Record<string, number> | null;
    lastRebuild: { partitions: number; records: number; elapsedMs: number } | null;
    rebuilds: { count: number; records: number };
  } {
    const fill = this.fills.get(w);
    return {
      rebuild:
        fill === undefined
          ? null
          : {
              partitionsRemaining: fill.partitionsTotal - fill.partitionsDone,
              partitionsTotal: fill.partitionsTotal,
              recordsMoved: fill.records,
              elapsedMs: Date.now() - fill.startedMs,
            },
      lastRebuild: this.last.get(w) ?? null,
      rebuilds: { ...(this.completed.get(w) ?? { count: 0, records: 0 }) },
    };
  }

  private nextRound(fill: Fill): void {
    const w = fill.worker.index;
    if (this.fills.get(w) !== fill || this.host.stopped()) return;
    const round = fill.rounds.shift();
    if (round === undefined) {
      this.done(fill);
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
    round.epoch = this.host.resyncs[round.ns];
    fill.current = round;
    workers[round.source]
      .control({ type: 'migrate', nsIndex: round.ns, target: w, partitions: round.partitions }, MIGRATE_ROUND_TIMEOUT_MS)
      .then((value) => {
        if (this.fills.get(w) !== fill) return;
        fill.records += (value as { records: number }).records;
        // END is in the channel: in sync once the worker has applied up to here.
        fill.waitTail = this.host.channels.tail(round.source, w);
        this.host.waiting();
      })
      .catch((err: Error) => {
        if (this.fills.get(w) !== fill) return;
        this.host.log.event('warn', 'rebuild-retry', `worker ${w}: copying ${round.partitions.length} partitions from worker ${round.source} failed (${err.message}); trying again`, {
          worker: w,
          source: round.source,
          partitions: round.partitions.length,
          reason: err.message,
          code: err instanceof AerieError ? err.code : null,
        });
        fill.current = null;
        this.replan(fill, round.ns, round.partitions);
        setTimeout(() => this.nextRound(fill), 50).unref();
      });
  }

  private done(fill: Fill): void {
    const w = fill.worker.index;
    const durationMs = Date.now() - fill.startedMs;
    this.fills.delete(w);
    this.last.set(w, { partitions: fill.partitionsDone, records: fill.records, elapsedMs: durationMs });
    const total = this.completed.get(w) ?? { count: 0, records: 0 };
    this.completed.set(w, { count: total.count + 1, records: total.records + fill.records });
    this.host.log.event('warn', 'rebuild', `worker ${w}: rebuilt ${fill.partitionsDone} partitions (${fill.records} records) in ${durationMs} ms`, {
      worker: w,
      partitions: fill.partitionsDone,
      records: fill.records,
      durationMs,
    });
    this.host.finished();
  }

  /** Puts partitions back in the plan, each under its current master (skipped if none can give it). */
  private replan(fill: Fill, ns: number, partitions: number[]): void {
    fill.rounds.push(...this.roundsFor(fill.worker.index, ns, partitions));
  }

  private roundsFor(w: number, ns: number, partitions: number[]): Round[] {
    return copyRounds(this.host.state, ns, w, partitions, MIGRATE_PARTITIONS_PER_ROUND).map((r) => ({ ns, ...r, epoch: -1 }));
  }
}
