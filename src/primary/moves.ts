// Partitions changing master, through a hold (docs/replication.md):
//
//  1. its requests are held on the primary (they are not sent anywhere);
//  2. the old master answers every request it was sent before the hold (skipped if it is dead:
//     its requests were answered for it, writes in doubt);
//  3. every live in-sync holder, the new master among them, applies the old master's channel up to
//     its tail, so the new master has every write the old one replicated and the other replicas
//     cannot apply the old master's last writes after the new master's first;
//  4. the map changes (new version) and the held requests are routed to the new master.

import type { NamespaceConfig } from '../config';
import { HOLD_TIMEOUT_MS, PARTITION_COUNT } from '../constants';
import type { NodeLog } from '../log';
import type { PartitionHolds } from '../partition/holds';
import type { PartitionMap } from '../partition/map';
import { reached, type ReplicationChannels } from '../replication/channels';
import type { PlannedMove } from './ownership';
import type { StaleCopies } from './stale-copies';
import type { WorkerHandle } from './worker-handle';

interface Move extends PlannedMove {
  /** answers: the old master finishes what it was sent; drain: holders apply its channel. */
  phase: 'answers' | 'drain';
  answeredTarget: number;
  tails: { holder: number; tail: number }[];
  startedMs: number;
  warned: boolean;
}

export interface MoveHost {
  workers: WorkerHandle[];
  map: PartitionMap;
  channels: ReplicationChannels;
  holds: PartitionHolds;
  namespaces: NamespaceConfig[];
  staleCopies: StaleCopies;
  /** Refuses requests never sent to any thread (not applied): the router answers them. */
  refuse(slots: number[]): void;
  log: NodeLog;
}

export class Moves {
  private list: Move[] = [];
  /** Moves completed, for INFO. */
  done = 0;

  constructor(private readonly host: MoveHost) {}

  get active(): boolean {
    return this.list.length > 0;
  }

  /** Whether a partition of the namespace is moving. */
  moving(ns: number): boolean {
    return this.list.some((m) => m.ns === ns);
  }

  /** Holds the planned partitions and starts their moves. */
  start(planned: PlannedMove[]): void {
    const { workers, holds, namespaces } = this.host;
    for (const plan of planned) {
      for (const p of plan.partitions) holds.hold(plan.ns, p);
      this.list.push({ ...plan, phase: 'answers', answeredTarget: workers[plan.from].sent, tails: [], startedMs: Date.now(), warned: false });
      const namespace = namespaces[plan.ns].name;
      const oldMasterUp = workers[plan.from].state === 'up';
      // A dead master's backlog holds what was routed to it since it died (it kept the partition
      // while no other copy was in sync): never sent, so refused, not left for its next thread,
      // which would apply it on a copy it no longer masters after writes the new master answered.
      if (!oldMasterUp) this.host.refuse(workers[plan.from].takeBacklogOf(plan.ns, marks(plan.partitions)));
      this.host.log.event('warn', 'move-start', `namespace ${namespace}: moving ${plan.partitions.length} partitions from worker ${plan.from} to worker ${plan.to}`, {
        namespace,
        from: plan.from,
        to: plan.to,
        partitions: plan.partitions.length,
        oldMasterUp,
      });
    }
  }

  /** Advances every move; true when one ended (switched, or let go because its new master died). */
  check(): boolean {
    let changed = false;
    const remaining: Move[] = [];
    for (const move of this.list) {
      const outcome = this.advance(move);
      if (outcome === 'waiting') remaining.push(move);
      else changed = true;
    }
    this.list = remaining;
    return changed;
  }

  private advance(move: Move): 'waiting' | 'ended' {
    const { workers, map, channels, holds } = this.host;
    const from = workers[move.from];
    if (workers[move.to].state !== 'up') {
      // The new master died first: let go and decide again.
      for (const p of move.partitions) holds.held[move.ns][p] = 0;
      return 'ended';
    }
    if (move.phase === 'answers') {
      // A worker serving a read itself when the hold came finishes it first (holds.ts).
      if (from.state === 'up' && (from.answered < move.answeredTarget || holds.localBusy(move.from))) return 'waiting';
      move.phase = 'drain';
      for (let k = 0; k < map.copies[move.ns]; k++) {
        const holder = map.holder(move.ns, move.partitions[0], k);
        if (holder === move.from || workers[holder].state !== 'up') continue;
        if (channels.ring(move.from, holder) !== null) move.tails.push({ holder, tail: channels.tail(move.from, holder) });
      }
    }
    if (!move.tails.every(({ holder, tail }) => reached(channels.head(move.from, holder), tail))) {
      this.warnSlow(move);
      return 'waiting';
    }
    this.switchMaster(move, from.state === 'up');
    return 'ended';
  }

  private warnSlow(move: Move): void {
    const elapsedMs = Date.now() - move.startedMs;
    if (move.warned || elapsedMs <= HOLD_TIMEOUT_MS) return;
    move.warned = true;
    const namespace = this.host.namespaces[move.ns].name;
    this.host.log.event('warn', 'move-slow', `namespace ${namespace}: worker ${move.to} has not caught up with worker ${move.from} after ${HOLD_TIMEOUT_MS} ms; partitions still held`, {
      namespace,
      from: move.from,
      to: move.to,
      partitions: move.partitions.length,
      durationMs: elapsedMs,
    });
  }

  private switchMaster(move: Move, oldMasterUp: boolean): void {
    const { map, holds, staleCopies } = this.host;
    // On disk before the switch: the new master's copy is current (it applied and logged all of
    // the old master's channel), and a dead old master's falls behind from now on.
    staleCopies.mark(move.ns, move.to, move.partitions, 0);
    if (!oldMasterUp) staleCopies.mark(move.ns, move.from, move.partitions, 1);
    for (const p of move.partitions) {
      map.setMaster(move.ns, p, move.to);
      holds.held[move.ns][p] = 0;
    }
    map.bump();
    this.done++;
    const namespace = this.host.namespaces[move.ns].name;
    const durationMs = Date.now() - move.startedMs;
    // A failover promotes a replica over a dead master; a handback moves partitions off a live one
    // (a rebuilt worker takes its own back, or a damaged copy gives way).
    this.host.log.event(
      'warn',
      oldMasterUp ? 'handback' : 'failover',
      `namespace ${namespace}: worker ${move.to} masters ${move.partitions.length} partitions from worker ${move.from} (map version ${map.version}, ${durationMs} ms)`,
      { namespace, from: move.from, to: move.to, partitions: move.partitions.length, mapVersion: map.version, durationMs },
    );
  }
}

function marks(partitions: number[]): Uint8Array {
  const m = new Uint8Array(PARTITION_COUNT);
  for (const p of partitions) m[p] = 1;
  return m;
}
