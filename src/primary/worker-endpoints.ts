// The primary's bookkeeping of the workers' own client endpoints (docs/protocol.md §13): the
// ports they bound (into the partition map, so HELLO and clients see them), their rows of INFO,
// what a thread's death frees, and refusing to start on a port that is taken.

import { AerieError, Status } from '../errors';
import { workerEndpoint } from '../endpoint/connection-counts';
import { WorkerStat } from '../shm/stats';
import type { EndpointFromWorker } from '../worker/thread-messages';
import type { ForwardedRequests } from './forwarded';
import type { SharedState } from './shared-state';
import type { WorkerHandle } from './worker-handle';

/** Handles a message from a worker's endpoint: its port, or a request it forwards. */
export function endpointMessages(shared: SharedState, forwarded: ForwardedRequests, logError: (m: string) => void) {
  return (h: WorkerHandle, m: EndpointFromWorker): void => {
    if (m.type !== 'endpoint') return forwarded.onMessage(h.index, m);
    if (m.error !== null) logError(`worker ${h.index}: ${m.error}; clients reach its partitions through the front`);
    else shared.map.setEndpointPort(h.index, m.port);
  };
}

/** A worker's thread died: its endpoint's sockets closed with it, what they awaited is dropped. */
export function endpointDown(shared: SharedState, forwarded: ForwardedRequests, workerIndex: number): void {
  forwarded.workerDown(workerIndex);
  shared.connections.reset(workerEndpoint(workerIndex));
  shared.holds.clearLocal(workerIndex);
}

/** At start, after every worker is up: a port that could not be bound is a configuration error. */
export async function checkEndpoints(workers: WorkerHandle[]): Promise<void> {
  await Promise.all(workers.map((w) => w.endpointReported));
  const failed = workers.find((w) => w.endpoint?.error);
  if (failed !== undefined) throw new AerieError(Status.SERVER_ERROR, `worker ${failed.index}'s endpoint: ${failed.endpoint!.error} (service.workerPorts)`);
}

/** INFO `endpoints`: one row per worker. */
export function endpointsInfo(workers: WorkerHandle[], shared: SharedState): unknown[] {
  return workers.map((w) => ({
    worker: w.index,
    port: shared.map.endpointPort(w.index),
    error: w.endpoint?.error ?? null,
    sockets: shared.connections.socketsOf(workerEndpoint(w.index)),
    sessions: shared.connections.sessionsOf(workerEndpoint(w.index)),
    localRequests: shared.stats[w.index].get(WorkerStat.LOCAL_REQUESTS),
    forwarded: shared.stats[w.index].get(WorkerStat.FORWARDED),
  }));
}
