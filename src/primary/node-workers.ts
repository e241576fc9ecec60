// The node's workers: their handles, the supervisor that restarts them, and the replication
// parts that act on their deaths and returns (failover, the writes waiting for replicas). What the
// node does when a worker dies, fails for good, comes back or dies applying a request lives here.

import { workerPort, type NodeConfig } from '../config';
import * as C from '../constants';
import type { SecurityShare } from '../security/node-security';
import type { NodeLog } from '../log';
import { ReqOffset } from '../protocol/internal';
import { partDirectory } from '../snapshot/files';
import { Failover } from './failover';
import type { ForwardedRequests } from './forwarded';
import { ReplicaWaits } from '../replication/waits';
import type { Router, RouterReplication } from './router';
import type { SharedState } from './shared-state';
import { Supervisor } from './supervisor';
import { NODE_VERSION as VERSION } from './version';
import { WorkerHandle } from './worker-handle';
import { checkEndpoints, endpointDown, endpointMessages } from './worker-endpoints';
import { logSettings } from '../log';

/** Failover, the writes waiting for replicas, and what the router needs of both. */
export interface ReplicationParts {
  waits: ReplicaWaits;
  failover: Failover;
  /** Null when no namespace keeps more than one copy. */
  forRouter: RouterReplication | null;
}

export function buildReplication(config: NodeConfig, shared: SharedState, workers: WorkerHandle[], router: () => Router, log: NodeLog): ReplicationParts {
  const { channels, map, workerCount } = shared;
  const waits = new ReplicaWaits(channels, {
    answer: (slot, code, bytes, start, end) => router().answerReplicated(slot, code, bytes, start, end),
    inDoubt: (slot) => router().answerReplicaInDoubt(slot),
  });
  const failover = new Failover({
    workers,
    map,
    channels,
    waits,
    namespaces: config.namespaces,
    holds: shared.holds,
    inSync: shared.inSync,
    released: () => router().releaseHeld(),
    refuse: (slots) => router().refuseSlots(slots),
    log,
  });
  const onOverflow = () => {
    for (let from = 0; from < workerCount; from++) {
      for (let to = 0; to < workerCount; to++) if (from !== to && channels.overflowed(from, to)) failover.channelOverflowed(from, to);
    }
  };
  return { waits, failover, forRouter: shared.replicated ? { failover, waits, channels, onOverflow } : null };
}

export function buildSupervisor(
  config: NodeConfig,
  shared: SharedState,
  workers: WorkerHandle[],
  parts: { router: Router; failover: Failover; forwarded: ForwardedRequests },
  log: NodeLog,
): Supervisor {
  const { replicated } = shared;
  const { router, failover, forwarded } = parts;
  return new Supervisor(workers, shared.stats, config, {
    onWorkerDown: (h) => {
      h.pump(); // answers the thread published before it died are real answers
      endpointDown(shared, forwarded, h.index);
      // A truncate the thread may not have applied leaves its copies unlike their masters'.
      const missedTruncates = replicated ? router.truncatesOn(h.index) : [];
      router.failWorker(h.index, h.backlogSlots());
      if (replicated) {
        // Its partitions fail over: what waited for this thread was never sent, so it is refused
        // (not applied) rather than left for a thread that may no longer master it.
        router.refuseSlots(h.takeBacklog());
        failover.onWorkerDown(h, missedTruncates);
      }
    },
    onWorkerFailed: (h) => {
      router.refuseSlots(h.takeBacklog());
      log.error(`worker ${h.index} given up on: ${describeUnavailable(config, shared, workers, failover, h.index)}`, { worker: h.index });
    },
    beforeRestart: (h) => {
      if (replicated) failover.beforeRestart(h);
    },
    onDiedApplying: (h, message, blamed) => {
      const quarantined = router.quarantine.noteDeath(message, blamed);
      const op = message[ReqOffset.OP];
      const digest = message.subarray(ReqOffset.DIGEST, ReqOffset.DIGEST + C.DIGEST_BYTES).toString('hex');
      log.event(
        'error',
        'request-quarantined',
        `worker ${h.index} died applying a request (op ${op}, digest ${digest}): ${quarantined ? 'it is quarantined, refused if sent again' : 'suspected; quarantined if it is in flight at another such death'}`,
        { worker: h.index, op, digest, quarantined },
      );
    },
    log,
  });
}

/**
 * What a given-up worker leaves unserved, per namespace: of the partitions it was configured to
 * master, those another holder in sync serves (or will, once failover moves them), and the rest.
 */
function describeUnavailable(config: NodeConfig, shared: SharedState, workers: WorkerHandle[], failover: Failover, workerIndex: number): string {
  const { map } = shared;
  const parts: string[] = [];
  for (let nsIndex = 0; nsIndex < config.namespaces.length; nsIndex++) {
    let served = 0;
    let unavailable = 0;
    for (let partition = 0; partition < C.PARTITION_COUNT; partition++) {
      if (map.holder(nsIndex, partition, 0) !== workerIndex) continue;
      let otherInSync = false;
      for (let copy = 1; copy < map.copies[nsIndex] && !otherInSync; copy++) {
        const holder = map.holder(nsIndex, partition, copy);
        otherInSync = workers[holder].state === 'up' && failover.sync[nsIndex][holder][partition] === 1;
      }
      if (otherInSync) served++;
      else unavailable++;
    }
    const name = config.namespaces[nsIndex].name;
    if (unavailable > 0) parts.push(`namespace ${name}: ${unavailable} of its partitions are UNAVAILABLE (no other copy in sync)${served > 0 ? `, ${served} served by replicas` : ''}`);
    else if (served > 0) parts.push(`namespace ${name}: its ${served} partitions are served by replicas`);
  }
  return parts.join('; ');
}

export function buildWorkerHandle(
  config: NodeConfig,
  shared: SharedState,
  workerIndex: number,
  workers: WorkerHandle[],
  parts: { router: Router; supervisor: Supervisor; replication: ReplicationParts; forwarded: ForwardedRequests; security: SecurityShare | null },
  log: NodeLog,
): WorkerHandle {
  const { router, supervisor, replication, forwarded } = parts;
  const { replicated, peerRings, channels } = shared;
  const base = {
    workerIndex,
    workerCount: shared.workerCount,
    partitionMap: shared.map.sab,
    copies: shared.copies,
    replRings: channels.rings,
    replFlags: channels.flagsSab,
    peerRequestRings: peerRings,
    truncateCutoffs: shared.truncateCutoffs,
    stats: shared.stats[workerIndex].sab,
    setRegistries: shared.sets.map((s) => s.sab),
    namespaces: config.namespaces,
    log: logSettings(config),
    bases: shared.bases.map((b) => (b === null ? null : { directory: partDirectory(b.dir, workerIndex), sequence: b.sequences[workerIndex] })),
    endpoint: {
      port: workerPort(config, workerIndex),
      config,
      version: VERSION,
      connections: shared.connections.sab,
      holds: shared.holds.sab,
      inSync: shared.inSync.sab,
      quarantine: router.quarantine.table.sab,
      security: parts.security,
    },
  };
  return new WorkerHandle(
    base,
    {
      onResponse: (slot, code, bytes, start, end) => router.onResponse(slot, code, bytes, start, end),
      onExit: (h, why) => supervisor.onExit(h, why),
      onReady: (h) => {
        supervisor.onReady(h);
        // Its peers ring this ring's doorbell after writing its channels; a peer started
        // before it learns it here (one started later finds it in its init).
        peerRings[h.index] = h.requestRingSab;
        const sab = h.requestRingSab;
        if (replicated && sab !== null) for (const other of workers) if (other !== h) other.post({ type: 'peer-ring', worker: h.index, sab });
        if (h.restarts > 0) {
          log.event('info', 'worker-restart', `worker ${h.index} is back (restart ${h.restarts})`, {
            worker: h.index,
            restarts: h.restarts,
            durationMs: h.lastRestartMs,
            adopted: h.adoptedNamespaces.includes(true),
          });
          if (replicated) replication.failover.onWorkerReady(h);
        }
      },
      onEndpoint: endpointMessages(shared, forwarded, log.error),
      onForwarded: (h, kind, a, b, c, d, bytes, start, end) => forwarded.onForwarded(h.index, kind, a, b, c, d, bytes, start, end),
      onAck: (h) => {
        router.checkOverflow();
        replication.waits.onAck(h.index);
        replication.failover.tick();
      },
      log,
    },
    config.workers.heapMbMax,
  );
}

export async function startWorkers(workers: WorkerHandle[], supervisor: Supervisor): Promise<void> {
  try {
    await Promise.all(workers.map((w) => w.start(false)));
    await checkEndpoints(workers);
  } catch (error) {
    // One worker could not start (its log is unreadable, say): stop the others, so the process
    // ends with the error instead of living on with a partial node that never listens.
    supervisor.stop();
    await Promise.all(workers.map((w) => w.stop()));
    throw error;
  }
}
