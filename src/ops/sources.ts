// What the HTTP endpoints read from the node: INFO's body, each thread's request counters, and
// the state readiness is decided from. The composition root (src/primary/node.ts) provides them,
// so this room imports nothing of the primary's.

import type { RequestMetrics } from '../shm/request-metrics';
import type { ReadinessInputs } from './readiness';

export interface OpsSources {
  /** The INFO body (src/primary/info.ts). */
  info(): Record<string, unknown>;
  /** Each worker's request counters, then the primary's. */
  requestBlocks(): ReadonlyArray<RequestMetrics>;
  readiness(): ReadinessInputs;
  /** Each replication channel (master worker -> replica worker): bytes sent and not yet acknowledged, and whether it overflowed. */
  replicationChannels(): ReadonlyArray<ChannelBacklog>;
  /** The port clients (and the admin page's WebSocket) connect to. */
  frontPort(): number;
}

export interface ChannelBacklog {
  from: number;
  to: number;
  backlogBytes: number;
  overflowed: boolean;
}
