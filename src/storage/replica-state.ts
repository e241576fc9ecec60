// Which copies of a file namespace's partitions may be behind, kept on disk so that a cold start
// never serves from one (docs/replication.md). Each worker logs every write it applies, as master
// or replica, so a cold start rebuilds every copy as it was; but a copy whose worker was away
// while the others took writes, or was being rebuilt, is older than the rest. The primary writes
// this file (atomically, fsynced) before any write goes on without a copy, and a cold start masters
// each partition on a holder whose copy is current and rebuilds the others from it.
//
// A node that stopped cleanly (every worker closed its log without error, every replication
// channel applied to its end) says so in the same file: its copies are then known equal, and the
// next start trusts them all instead of copying every replica from its master. The start writes
// the file again without the mark before any write is acknowledged, so a later kill -9 is never
// taken for a clean stop.
//
// <dataDir>/<ns>/replicas.json: {format: 1, workers: n, stale: [hex bitmap of 4096 partitions per worker], cleanStop?: true}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { PARTITION_COUNT } from '../constants';
import { AerieError, Status } from '../errors';
import { ensureDirectory, writeFileAtomic } from './segment-files';

const FILE = 'replicas.json';
const FORMAT = 1;

function fileOf(dataDir: string, ns: string): string {
  return path.join(dataDir, ns, FILE);
}

export interface ReplicaState {
  /** Per worker, 1 for each partition whose copy there is stale. */
  stale: Uint8Array[];
  /** The node stopped cleanly after writing this: every copy not stale equals its master's. */
  cleanStop: boolean;
}

/** The copies recorded stale, and whether the node stopped cleanly; null when the file is absent. */
export function readReplicaState(dataDir: string, ns: string, workers: number): ReplicaState | null {
  const file = fileOf(dataDir, ns);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AerieError(Status.SERVER_ERROR, `cannot read ${file}: ${(err as Error).message}`);
  }
  let doc: { format?: unknown; workers?: unknown; stale?: unknown; cleanStop?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new AerieError(Status.SERVER_ERROR, `${file} is not valid JSON`);
  }
  if (doc.format !== FORMAT || !Array.isArray(doc.stale) || doc.stale.some((h) => typeof h !== 'string' || h.length !== PARTITION_COUNT / 4)) {
    throw new AerieError(Status.SERVER_ERROR, `${file} is not a replica state file of format ${FORMAT}`);
  }
  if (doc.workers !== workers) {
    throw new AerieError(Status.SERVER_ERROR, `namespace ${ns}: its copies were kept by ${String(doc.workers)} workers; set workers.count to ${String(doc.workers)}`);
  }
  const stale = (doc.stale as string[]).map((hex) => {
    const bits = Buffer.from(hex, 'hex');
    const flags = new Uint8Array(PARTITION_COUNT);
    for (let p = 0; p < PARTITION_COUNT; p++) flags[p] = (bits[p >> 3] >> (p & 7)) & 1;
    return flags;
  });
  return { stale, cleanStop: doc.cleanStop === true };
}

/** Records the stale copies (atomically, fsynced); `cleanStop` only as the node's last write at a clean stop. */
export function writeStaleCopies(dataDir: string, ns: string, stale: Uint8Array[], cleanStop = false): void {
  const hex = stale.map((flags) => {
    const bits = Buffer.alloc(PARTITION_COUNT / 8);
    for (let p = 0; p < PARTITION_COUNT; p++) if (flags[p] !== 0) bits[p >> 3] |= 1 << (p & 7);
    return bits.toString('hex');
  });
  const file = fileOf(dataDir, ns);
  ensureDirectory(path.dirname(file));
  writeFileAtomic(file, JSON.stringify({ format: FORMAT, workers: stale.length, stale: hex, ...(cleanStop ? { cleanStop: true } : {}) }));
}
