// The admin page's live feed (op WATCH, docs/protocol.md §14): once a second the primary samples
// the request counters, and each subscribed connection is pushed one message with the workers,
// namespaces, partition grids, that second's requests and the events it has not seen. Everything
// is read from INFO and shared memory, built once per tick whatever the number of watchers, and a
// watcher that does not read its socket skips pushes instead of piling them up.

import { ADMIN_FEED_INTERVAL_MS, ADMIN_PUSH_BACKLOG_BYTES_MAX, ADMIN_WATCHERS_MAX, PARTITION_COUNT, REPLICATION_LAG_SAMPLE_MS } from '../../constants';
import { AerieError, Status } from '../../errors';
import type { RequestMetrics } from '../../shm/request-metrics';
import { type ChannelPositions, ReplicationLag } from '../replication-lag';
import type { RecentEvents } from './events';
import { partitionGrid, type GridInputs } from './partition-grid';
import { OP_NAMES, RequestHistory, type RequestSample } from './request-history';

/** A subscribed connection (src/endpoint/session.ts). */
export interface Watcher {
  readonly closed: boolean;
  /** Bytes its socket has not sent yet. */
  queuedBytes(): number;
  push(value: unknown): void;
}

/** What the connection's user may do from the page (each action is still checked as its own op). */
export interface AllowedActions {
  snapshot: boolean;
  fault: boolean;
  restart: boolean;
}

export interface FeedSources {
  info(): Record<string, unknown>;
  requestBlocks(): ReadonlyArray<RequestMetrics>;
  grid(): GridInputs;
  /** supervisor.faultInjection: drills are offered only where the node takes them. */
  faultInjection: boolean;
  /** The replication channels' positions, sampled for their lag as a time. */
  channels(): ReadonlyArray<ChannelPositions>;
}

/** The fields of INFO's workers the page shows. */
const WORKER_FIELDS = ['index', 'state', 'restarts', 'lastFailure', 'partitions', 'roles', 'rebuild', 'records', 'heapUsedBytes', 'eventLoopLagMs', 'heartbeatAgeMs'];
const NAMESPACE_FIELDS = ['name', 'storage', 'replicationFactor', 'records', 'copies', 'memoryBytes', 'memoryBytesMax', 'memoryUsedPct', 'stopWrites', 'stopWritesReason', 'stopWritesPct'];
const NODE_FIELDS = ['version', 'uptimeMs', 'partitionMapVersion', 'connections', 'requestsInFlight'];

function pick(from: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = from[f] ?? null;
  return out;
}

/** A sample as one flat list: [timeMs, then per op (OP_NAMES order) requests, errors, p50Ms, p99Ms]. */
function flat(s: RequestSample): number[] {
  const out = [s.timeMs];
  for (const o of s.ops) out.push(o.requests, o.errors, o.p50Ms, o.p99Ms);
  return out;
}

interface Subscription {
  /** The last event this watcher was sent. */
  eventSeq: number;
}

export class AdminFeed {
  private readonly history: RequestHistory;
  private readonly watchers = new Map<Watcher, Subscription>();
  private timer: NodeJS.Timeout | null = null;
  private readonly grids: Uint8Array[];
  private readonly lag = new ReplicationLag();
  private lagTicks = 0;

  constructor(
    private readonly sources: FeedSources,
    private readonly events: RecentEvents,
    namespaceCount: number,
  ) {
    this.history = new RequestHistory(sources.requestBlocks);
    this.grids = Array.from({ length: namespaceCount }, () => new Uint8Array(PARTITION_COUNT));
  }

  /**
   * Samples from now on: the replication channels every REPLICATION_LAG_SAMPLE_MS, the requests
   * (and the pushes) every ADMIN_FEED_INTERVAL_MS, so the page has history the moment it opens.
   */
  start(): void {
    this.history.sample(Date.now());
    this.timer = setInterval(() => {
      this.lag.sample(this.sources.channels(), Date.now());
      if (++this.lagTicks % (ADMIN_FEED_INTERVAL_MS / REPLICATION_LAG_SAMPLE_MS) === 0) this.tick();
    }, REPLICATION_LAG_SAMPLE_MS);
    this.timer.unref();
  }

  /** Each replication channel's lag now, in ms (src/ops/replication-lag.ts). */
  replicationLagMs(): { from: number; to: number; lagMs: number }[] {
    const now = Date.now();
    return this.sources.channels().map((c) => ({ from: c.from, to: c.to, lagMs: this.lag.lagMs(c, now) }));
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.watchers.clear();
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Subscribes `w`; answers what the page starts from. QUOTA_EXCEEDED past ADMIN_WATCHERS_MAX. */
  subscribe(w: Watcher, allowed: AllowedActions): unknown {
    this.prune();
    if (!this.watchers.has(w) && this.watchers.size >= ADMIN_WATCHERS_MAX) {
      throw new AerieError(Status.QUOTA_EXCEEDED, `at most ${ADMIN_WATCHERS_MAX} connections watch the node at once`);
    }
    this.watchers.set(w, { eventSeq: this.events.lastSeq });
    return {
      intervalMs: ADMIN_FEED_INTERVAL_MS,
      ops: OP_NAMES,
      history: this.history.history().map(flat),
      events: this.events.since(0),
      allowed: { ...allowed, fault: allowed.fault && this.sources.faultInjection },
      state: this.state(),
    };
  }

  unsubscribe(w: Watcher): void {
    this.watchers.delete(w);
  }

  private prune(): void {
    for (const w of this.watchers.keys()) if (w.closed) this.watchers.delete(w);
  }

  private tick(): void {
    const sample = flat(this.history.sample(Date.now()));
    this.prune();
    if (this.watchers.size === 0) return;
    const state = this.state();
    for (const [w, sub] of this.watchers) {
      if (w.queuedBytes() > ADMIN_PUSH_BACKLOG_BYTES_MAX) continue;
      const events = this.events.since(sub.eventSeq);
      if (events.length > 0) sub.eventSeq = events[events.length - 1].seq;
      w.push({ event: 'admin', sample, events, state });
    }
  }

  /** The node as the page shows it now. */
  private state(): Record<string, unknown> {
    const info = this.sources.info();
    const grid = this.sources.grid();
    return {
      timeMs: Date.now(),
      node: pick(info, NODE_FIELDS),
      workers: ((info.workers ?? []) as Record<string, unknown>[]).map((w) => pick(w, WORKER_FIELDS)),
      namespaces: ((info.namespaces ?? []) as Record<string, unknown>[]).map((n) => pick(n, NAMESPACE_FIELDS)),
      grids: this.grids.map((out, ns) => partitionGrid(grid, ns, out)),
    };
  }
}
