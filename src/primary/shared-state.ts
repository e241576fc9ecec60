// What the primary and its workers share, built once at start before any thread runs: the
// partition map, replication channels, set registries, stats blocks, and the base snapshots the
// workers of a file namespace load first.

import { replicationOf, workerCount, type NodeConfig } from '../config';
import { AerieError, Status } from '../errors';
import { PartitionMap } from '../partition/map';
import { PartitionHolds } from '../partition/holds';
import { ConnectionCounts } from '../endpoint/connection-counts';
import { ReplicationChannels } from '../replication/channels';
import { InSyncCopies } from '../replication/in-sync';
import { SetRegistry } from '../shm/set-registry';
import { StatsBlock } from '../shm/stats';
import { readBase, readManifest, removeIncomplete, snapshotDirectory } from '../snapshot/files';
import { loadSetNames, namespaceDirectory, saveSetNames } from '../storage/set-names';

/** A file namespace's base snapshot: its directory and, per worker, the log sequence it covers. */
export interface BaseSnapshot {
  dir: string;
  sequences: number[];
}

export interface SharedState {
  workerCount: number;
  /** Copies per partition, per namespace. */
  copies: number[];
  /** Some namespace keeps more than one copy: the workers talk over replication channels. */
  replicated: boolean;
  map: PartitionMap;
  /** Partitions changing master, and reads workers serve themselves (src/partition/holds.ts). */
  holds: PartitionHolds;
  /** Client sockets and sessions of every endpoint (the front's and each worker's). */
  connections: ConnectionCounts;
  channels: ReplicationChannels;
  /** Which copies count, for master workers that wait for their replicas (src/replication/in-sync.ts). */
  inSync: InSyncCopies;
  /** Per worker, its request ring once it is up (its peers ring its doorbell). */
  peerRings: (SharedArrayBuffer | null)[];
  /** Per namespace. */
  sets: SetRegistry[];
  /** Per namespace, null for a namespace without a base snapshot. */
  bases: (BaseSnapshot | null)[];
  /** Per worker. */
  stats: StatsBlock[];
  /** Truncates a new worker applies as it starts: [namespace index, set id, cutoff ms]. */
  truncateCutoffs: [number, number, number][];
}

export function buildSharedState(config: NodeConfig): SharedState {
  const count = workerCount(config);
  const copies = config.namespaces.map((ns) => replicationOf(ns, count));
  const replicated = copies.some((c) => c > 1);
  return {
    workerCount: count,
    copies,
    replicated,
    map: PartitionMap.create(count, copies),
    connections: ConnectionCounts.create(count),
    holds: PartitionHolds.create(config.namespaces.length, count),
    // Channels between workers only when some namespace has two copies.
    channels: ReplicationChannels.create(count, replicated ? config.workers.replicationChannelBytes : 0),
    inSync: InSyncCopies.create(config.namespaces.length, count),
    peerRings: new Array<SharedArrayBuffer | null>(count).fill(null),
    sets: buildSetRegistries(config),
    bases: loadBaseSnapshots(config, count),
    stats: Array.from({ length: count }, () => StatsBlock.create(config.namespaces.length)),
    truncateCutoffs: [],
  };
}

/** One registry per namespace; a file namespace keeps the same names and ids as before a restart. */
function buildSetRegistries(config: NodeConfig): SetRegistry[] {
  return config.namespaces.map((ns) => {
    const registry = SetRegistry.create();
    if (ns.storage === 'file') {
      // New names are saved before they are used.
      const dir = namespaceDirectory(ns.dataDir, ns.name);
      for (const name of loadSetNames(dir)) registry.assign(name);
      registry.onAssign = (names) => saveSetNames(dir, names);
    }
    return registry;
  });
}

/**
 * A file namespace's cold start loads its base snapshot, then the log after it; what a crash left
 * of a snapshot being written or deleted is removed first.
 */
function loadBaseSnapshots(config: NodeConfig, count: number): (BaseSnapshot | null)[] {
  return config.namespaces.map((ns) => {
    removeIncomplete(ns.dataDir, ns.name);
    const base = ns.storage === 'file' ? readBase(ns.dataDir, ns.name) : null;
    if (base === null) return null;
    const dir = snapshotDirectory(ns.dataDir, ns.name, base.snapshot);
    if (readManifest(dir) === null) throw new AerieError(Status.SERVER_ERROR, `namespace ${ns.name}: its base snapshot ${base.snapshot} is missing from ${dir}`);
    if (base.sequences.length !== count) {
      throw new AerieError(Status.SERVER_ERROR, `namespace ${ns.name}: its base snapshot was taken with ${base.sequences.length} workers; set workers.count to ${base.sequences.length}`);
    }
    return { dir, sequences: base.sequences };
  });
}
