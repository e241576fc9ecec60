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
  /** Each channel's replication lag in ms now (src/ops/replication-lag.ts, sampled by the admin feed). */
  replicationLagMs(): ReadonlyArray<{ from: number; to: number; lagMs: number }>;
  /** Per namespace: the snapshots on disk and when the newest was taken (null: none). */
  snapshots(): ReadonlyArray<{ namespace: string; count: number; newestAtMs: number | null }>;
}

export interface ChannelBacklog {
  from: number;
  to: number;
  backlogBytes: number;
  overflowed: boolean;
  /** Free-running u32 positions: bytes the master wrote, and the replica acknowledged. */
  written: number;
  acknowledged: number;
}
