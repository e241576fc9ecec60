// The admin page's partition map: one byte per partition of a namespace (a 64 × 64 grid), the
// low six bits the worker that masters it now, the top two its state. Read from the shared map,
// failover's holds and in-sync flags, and the workers' states: no worker is asked anything.

import { PARTITION_COUNT, WORKERS_MAX } from '../../constants';
import type { PartitionMap } from '../../partition/map';

/** A partition's state, in the top two bits of its byte. */
export const GridState = {
  /** Served by its first holder, every copy in sync. */
  MASTER: 0,
  /** Served by a replica: its first holder is down or was, and failover moved the master. */
  REPLICA: 1,
  /** Its master is moving (requests held), or a copy of it is being rebuilt. */
  MIGRATING: 2,
  /** No serving master: its master's worker is not up and no replica took it. */
  UNAVAILABLE: 3,
} as const;

export const GRID_OWNER_MASK = 0x3f;
export const GRID_STATE_SHIFT = 6;

/** What the grid is read from. */
export interface GridInputs {
  map: PartitionMap;
  /** [ns][partition]: 1 while the master is moving; null when nothing is replicated. */
  held: ReadonlyArray<Uint8Array> | null;
  workers: ReadonlyArray<{ state: string }>;
  /** [ns][worker][partition]: 1 where the worker holds the partition in sync; null when nothing is replicated. */
  sync: ReadonlyArray<ReadonlyArray<Uint8Array>> | null;
}

// Six bits of owner hold every worker index.
if (WORKERS_MAX > GRID_OWNER_MASK + 1) throw new Error('WORKERS_MAX no longer fits the grid byte');

/** Namespace `ns`'s grid, written into `out` (PARTITION_COUNT bytes). */
export function partitionGrid(s: GridInputs, ns: number, out: Uint8Array): Uint8Array {
  const held = s.held === null ? null : s.held[ns];
  const sync = s.sync === null ? null : s.sync[ns];
  const copies = s.map.copies[ns];
  for (let p = 0; p < PARTITION_COUNT; p++) {
    const master = s.map.master(ns, p);
    let state: number = GridState.MASTER;
    if (s.workers[master]?.state !== 'up') state = GridState.UNAVAILABLE;
    else if (held !== null && held[p] === 1) state = GridState.MIGRATING;
    else if (sync !== null && copyRebuilding(s, sync, ns, p, copies)) state = GridState.MIGRATING;
    else if (master !== s.map.holder(ns, p, 0)) state = GridState.REPLICA;
    out[p] = (state << GRID_STATE_SHIFT) | (master & GRID_OWNER_MASK);
  }
  return out;
}

/** A holder of `p` that is up but not in sync: it is being copied the partition. */
function copyRebuilding(s: GridInputs, sync: ReadonlyArray<Uint8Array>, ns: number, p: number, copies: number): boolean {
  for (let c = 0; c < copies; c++) {
    const w = s.map.holder(ns, p, c);
    if (s.workers[w]?.state === 'up' && sync[w][p] !== 1) return true;
  }
  return false;
}
