// Proves the storage and replication families of /metrics against INFO and a known workload: a
// file namespace's log bytes made durable, syncs and their time equal INFO's figures (and cover
// the records written), a snapshot shows in the snapshot count and timestamp, the replication lag
// reads 0 once replicas caught up; and the lag sampler's arithmetic on known positions (u32
// wrap-around included).
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key } from '../../src/index';
import { REPLICATION_LAG_SAMPLES } from '../../src/constants';
import { ReplicationLag } from '../../src/ops/replication-lag';
import { startTestNode } from '../helpers/node';
import { parseExposition, sampleSum, sampleValue, type Exposition } from '../helpers/metrics-text';
import { waitForValue } from '../helpers/wait';

async function scrape(port: number): Promise<Exposition> {
  return parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
}

type LogInfo = { bytesSynced: number; syncs: number; syncMs: number };

t.test('log, snapshot and replication lag families after a known workload', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-metrics-storage-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { node, client } = await startTestNode(t, (c) => {
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = dir;
  });
  const port = node.address.port;
  const RECORDS = 200;
  const VALUE = 'x'.repeat(100);
  const before = await scrape(port);
  t.equal(sampleValue(before, 'aerie_snapshots', { namespace: 'test' }), 0, 'no snapshot yet');
  t.equal(sampleValue(before, 'aerie_snapshot_last_timestamp_seconds', { namespace: 'test' }), undefined, 'no timestamp without a snapshot');
  for (let i = 0; i < RECORDS; i++) await client.put(new Key('test', 's', i), { v: VALUE });

  // Once every write is acknowledged, /metrics and INFO agree (read until two reads match: a
  // timer sync may land between them).
  const [m, log] = await waitForValue(
    async () => [await scrape(port), ((await client.info()).namespaces[0] as unknown as { log: LogInfo }).log] as const,
    ([e, l]) => sampleValue(e, 'aerie_log_syncs_total', { namespace: 'test' }) === l.syncs,
    { what: '/metrics and INFO to show the same syncs' },
  );
  t.equal(sampleValue(m, 'aerie_log_synced_bytes_total', { namespace: 'test' }), log.bytesSynced, 'bytes as INFO says');
  t.ok(log.bytesSynced >= RECORDS * VALUE.length * 2, `${log.bytesSynced} bytes durable for ${RECORDS} records of ${VALUE.length} bytes, on master and replica`);
  t.ok(log.syncs >= 2, `${log.syncs} syncs (commit-to-device: at least one per group)`);
  t.ok(log.syncs <= RECORDS * 2 + 10, 'no more syncs than writes on both copies, plus segment and directory syncs');
  t.equal(sampleValue(m, 'aerie_log_sync_seconds_total', { namespace: 'test' }), log.syncMs / 1000, 'sync time as INFO says');
  t.ok(log.syncMs > 0, 'syncs take time');

  // Replicas caught up: every channel's lag is 0.
  const caughtUp = await waitForValue(
    () => scrape(port),
    (e) => sampleSum(e, 'aerie_replication_backlog_bytes') === 0,
    { what: 'replicas to acknowledge everything' },
  );
  t.equal(caughtUp.samples.filter((s) => s.name === 'aerie_replication_lag_seconds').length, 2, 'a lag per channel');
  t.equal(sampleSum(caughtUp, 'aerie_replication_lag_seconds'), 0);

  const startedMs = Date.now();
  const snapshot = await client.createSnapshot('test');
  const after = await scrape(port);
  t.equal(sampleValue(after, 'aerie_snapshots', { namespace: 'test' }), 1);
  const at = sampleValue(after, 'aerie_snapshot_last_timestamp_seconds', { namespace: 'test' })!;
  t.ok(at * 1000 >= startedMs - 1000 && at * 1000 <= Date.now(), `the snapshot ${snapshot.id} taken at ${at}`);
});

t.test('the lag sampler on known positions', async (t) => {
  const lag = new ReplicationLag();
  const channel = (written: number, acknowledged: number) => ({ from: 0, to: 1, written, acknowledged });
  lag.sample([channel(100, 100)], 1000);
  lag.sample([channel(200, 100)], 1100);
  lag.sample([channel(300, 150)], 1200);
  t.equal(lag.lagMs(channel(300, 300), 1250), 0, 'caught up');
  t.equal(lag.lagMs(channel(300, 150), 1250), 250, 'the master had written no more than 150 at 1000');
  t.equal(lag.lagMs(channel(300, 200), 1250), 150, 'no more than 200 at 1100');
  t.equal(lag.lagMs(channel(300, 50), 1250), 250, 'older than every sample: their span');
  t.equal(lag.lagMs({ from: 1, to: 0, written: 5, acknowledged: 1 }, 1250), 0, 'a channel never sampled');

  const wrap = new ReplicationLag();
  const top = 2 ** 32 - 10;
  wrap.sample([channel(top, top)], 0);
  wrap.sample([channel(20, top)], 100); // written wrapped past 2^32
  t.equal(wrap.lagMs(channel(20, top + 5), 150), 150, 'compared modulo 2^32');
  t.equal(wrap.lagMs(channel(20, 20), 150), 0);

  const long = new ReplicationLag();
  for (let i = 0; i <= REPLICATION_LAG_SAMPLES; i++) long.sample([channel(1000 + i, 0)], i * 100);
  t.equal(long.lagMs(channel(2000, 0), REPLICATION_LAG_SAMPLES * 100), (REPLICATION_LAG_SAMPLES - 1) * 100, 'bounded by the samples kept');
});
