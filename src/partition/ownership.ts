// Who serves a keyed request, decided in one place for every thread that routes one: a worker's
// endpoint serves what its worker masters and nobody is moving, and forwards the rest; the
// primary holds a request whose partition is changing master and otherwise sends it to the
// partition's master. Both read the same shared memory: the map (src/partition/map.ts) and the
// holds (src/partition/holds.ts).

import type { PartitionHolds } from './holds';
import type { PartitionMap } from './map';

/** A worker endpoint's choice for one request. */
export const EndpointRoute = {
  /** This worker masters the partition and no move has begun: apply it here. */
  SERVE: 0,
  /** Another worker masters it, a move has begun, or this worker's stores are held: forward it. */
  FORWARD: 1,
} as const;
export type EndpointRoute = (typeof EndpointRoute)[keyof typeof EndpointRoute];

/**
 * For worker `self`'s endpoint. A caller that applies the request on SERVE must have raised its
 * busy word first (PartitionHolds.beginLocal), so a move that begins after this look waits for it.
 */
export function endpointRoute(map: PartitionMap, holds: PartitionHolds, ns: number, partitionId: number, self: number, paused: boolean): EndpointRoute {
  if (paused || holds.isHeld(ns, partitionId) || map.master(ns, partitionId) !== self) return EndpointRoute.FORWARD;
  return EndpointRoute.SERVE;
}

/** The primary's choice: HOLD_HERE while the partition changes master, else its master's index. */
export const HOLD_HERE = -1;

/** `held`: the holds per namespace (null: no namespace is replicated, so nothing ever moves). */
export function primaryTarget(map: PartitionMap, held: Uint8Array[] | null, ns: number, partitionId: number): number {
  if (held !== null && held[ns][partitionId] === 1) return HOLD_HERE;
  return map.master(ns, partitionId);
}
