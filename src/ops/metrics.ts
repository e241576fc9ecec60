// GET /metrics: the Prometheus text format, through prom-client. The node's families are read at
// scrape time (from INFO and the threads' request counters: src/ops/node-families.ts,
// request-families.ts); the process's own (CPU, heap, event-loop lag, GC) are prom-client's
// default metrics, collected once per process whatever the number of nodes in it.

import type { ServerResponse } from 'node:http';
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import { family, type Family } from './family';
import { infoFamilies, type InfoView } from './node-families';
import { notReadyReasons } from './readiness';
import { requestFamilies } from './request-families';
import type { OpsSources } from './sources';

let processRegistry: Registry | null = null;

/** prom-client's default metrics, started on the first scrape: they are the process's, not a node's. */
function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** The replication channels' backlog: what each replica has not acknowledged yet (docs/replication.md). */
function channelFamilies(sources: OpsSources): Family[] {
  return [
    family('aerie_replication_backlog_bytes', "Bytes a master worker wrote to a replica's channel that the replica has not acknowledged (applied, and logged for a file namespace).", 'gauge', () =>
      sources.replicationChannels().map((c) => ({ labels: { from: c.from, to: c.to }, value: c.backlogBytes })),
    ),
    family('aerie_replication_lag_seconds', 'How long ago the master had written no more than its replica has acknowledged now (0: caught up); sampled every 100 ms, read up to 6.4 s.', 'gauge', () =>
      sources.replicationLagMs().map((c) => ({ labels: { from: c.from, to: c.to }, value: c.lagMs / 1000 })),
    ),
    family('aerie_replication_channel_overflowed', '1 while a channel overflowed: its replica will be copied whole instead.', 'gauge', () =>
      sources.replicationChannels().map((c) => ({ labels: { from: c.from, to: c.to }, value: c.overflowed ? 1 : 0 })),
    ),
  ];
}

/** Snapshots on disk per namespace, and when the newest was taken: time() minus it is the snapshot's age. */
function snapshotFamilies(sources: OpsSources): Family[] {
  return [
    family('aerie_snapshots', 'Snapshots of the namespace on disk.', 'gauge', () => sources.snapshots().map((s) => ({ labels: { namespace: s.namespace }, value: s.count }))),
    family('aerie_snapshot_last_timestamp_seconds', 'When the newest snapshot was taken (absent: none); its age is time() minus this.', 'gauge', () =>
      sources.snapshots().flatMap((s) => (s.newestAtMs === null ? [] : [{ labels: { namespace: s.namespace }, value: s.newestAtMs / 1000 }])),
    ),
  ];
}

export class MetricsEndpoint {
  private readonly registry = new Registry();
  /** INFO as read at the start of the scrape under way: every family reads this one copy. */
  private current: InfoView | null = null;
  /** A scrape under way: concurrent requests share it, so a burst of scrapes costs one. */
  private scraping: Promise<string> | null = null;

  constructor(private readonly sources: OpsSources) {
    const info = () => this.current as InfoView;
    const ready: Family = family('aerie_ready', '1 when /readyz answers 200, else 0.', 'gauge', () => [{ labels: {}, value: notReadyReasons(sources.readiness()).length === 0 ? 1 : 0 }]);
    for (const f of [ready, ...infoFamilies(info), ...requestFamilies(() => sources.requestBlocks()), ...channelFamilies(sources), ...snapshotFamilies(sources)]) {
      // prom-client formats any object with its get() contract (src/ops/family.ts).
      this.registry.registerMetric(f as unknown as Metric);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The whole exposition text. */
  scrape(): Promise<string> {
    this.scraping ??= this.scrapeOnce().finally(() => {
      this.scraping = null;
    });
    return this.scraping;
  }

  private async scrapeOnce(): Promise<string> {
    this.current = this.sources.info() as unknown as InfoView;
    // Registry.metrics() calls every family's get() before its first await: all read `current`.
    const node = await this.registry.metrics();
    this.current = null;
    return node + (await processMetrics().metrics());
  }

  async answer(res: ServerResponse, headOnly: boolean): Promise<void> {
    try {
      const text = await this.scrape();
      res.writeHead(200, { 'content-type': this.contentType, 'cache-control': 'no-store' }).end(headOnly ? undefined : text);
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics failed: ${String((err as Error)?.message ?? err)}\n`);
    }
  }
}
