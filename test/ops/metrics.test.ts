// Proves /metrics reports what happened: after a known workload, the request counters and
// histograms (summed over the workers' and the primary's shared blocks) match the workload and
// INFO's own counts, the families read from INFO equal INFO, and every family is documented in
// docs/operations.md and every one the Grafana dashboard uses exists.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Key, status } from '../../src/index';
import { DIRECT_READ_TIMING_EVERY } from '../../src/constants';
import { startTestNode } from '../helpers/node';
import { parseExposition, sampleSum, sampleValue, type Exposition } from '../helpers/metrics-text';

const ROOT = path.join(__dirname, '..', '..', '..');

async function scrape(port: number): Promise<Exposition> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return parseExposition(await res.text());
}

type WorkerInfo = { index: number; state: string; restarts: number; requests: number; scanPages: number; records: number; heapUsedBytes: number };
type NsInfo = { name: string; records: number; copies: number; memoryBytes: number; memoryBytesMax: number; stopWrites: boolean };

t.test("requests served on worker endpoints are counted and timed like the front's", async (t) => {
  // The default client routes each key to its master's endpoint: reads and writes of a memory
  // namespace, and a batch whose keys one worker masters, are answered there (src/worker/local-*.ts).
  const { node, client } = await startTestNode(t);
  const port = node.address.port;
  const keys = Array.from({ length: 20 }, (_, i) => new Key('test', 'r', i));
  for (const k of keys) await client.put(k, { v: 1 });
  for (const k of keys) await client.get(k);
  for (let i = 0; i < 4; i++) await t.rejects(client.get(new Key('test', 'r', 1000 + i)), { code: status.KEY_NOT_FOUND });
  const mine = keys.filter((k) => (client.server.map as { masters: Uint8Array[] }).masters[0][k.partitionId] === 0).slice(0, 3);
  await client.batchGet(mine);
  const m = await scrape(port);
  t.equal(sampleValue(m, 'aerie_requests_total', { op: 'put', code: '0', result: 'OK' }), keys.length, 'puts counted');
  t.equal(sampleValue(m, 'aerie_requests_total', { op: 'get', code: '0' }), keys.length, 'gets found counted');
  t.equal(sampleValue(m, 'aerie_requests_total', { op: 'get', code: String(status.KEY_NOT_FOUND), result: 'KEY_NOT_FOUND' }), 4, 'gets not found counted');
  t.equal(sampleSum(m, 'aerie_requests_total', { op: 'batch_get' }), mine.length, 'a batch served by one worker counts its keys');
  t.equal(sampleValue(m, 'aerie_request_duration_seconds_count', { op: 'get' }), keys.length + 4, 'every get timed');
});

t.test('request counters and histograms match a known workload and INFO', async (t) => {
  // Through the front: its reads of a memory namespace come from shared memory, timed one in
  // DIRECT_READ_TIMING_EVERY (checked below); a worker endpoint times every request it serves.
  const { node, client } = await startTestNode(t, undefined, { routing: 'front' });
  const port = node.address.port;
  const PUTS = 40;
  for (let i = 0; i < PUTS; i++) await client.put(new Key('test', 's', i), { v: i });
  for (let i = 0; i < 30; i++) await client.get(new Key('test', 's', i)); // found
  for (let i = 0; i < 5; i++) await t.rejects(client.get(new Key('test', 's', 1000 + i)), { code: status.KEY_NOT_FOUND });
  await client.remove(new Key('test', 's', 0));
  await client.batchGet([new Key('test', 's', 1), new Key('test', 's', 2), new Key('test', 's', 999)]);
  const page = await client.scanPage('test', 's', { pageSize: 1000 });
  t.ok(page.records.length > 0);
  // Refused before any worker sees it: counted by the primary, not timed.
  await t.rejects(client.put(new Key('nope', 's', 1), { v: 1 }), { code: status.INVALID_NAMESPACE });

  const m = await scrape(port);
  const info = await client.info();
  t.equal(m.types.get('aerie_requests_total'), 'counter');
  t.equal(m.types.get('aerie_request_duration_seconds'), 'histogram');
  t.equal(sampleValue(m, 'aerie_requests_total', { op: 'put', code: '0', result: 'OK' }), PUTS, 'puts ok');
  t.equal(sampleValue(m, 'aerie_requests_total', { op: 'get', code: '0' }), 30, 'gets found');
  t.equal(sampleValue(m, 'aerie_requests_total', { op: 'get', code: String(status.KEY_NOT_FOUND), result: 'KEY_NOT_FOUND' }), 5, 'gets not found');
  t.equal(sampleValue(m, 'aerie_requests_total', { op: 'remove', code: '0' }), 1);
  t.equal(sampleSum(m, 'aerie_requests_total', { op: 'batch_get' }), 3, 'a batch counts its keys');
  t.equal(sampleValue(m, 'aerie_requests_total', { op: 'batch_get', code: String(status.KEY_NOT_FOUND) }), 1);
  t.equal(sampleValue(m, 'aerie_requests_total', { op: 'put', code: String(status.INVALID_NAMESPACE), result: 'INVALID_NAMESPACE' }), 1, 'a refusal');

  // INFO counts every request a worker handled plus the reads the primary answered; scan pages apart.
  const workers = info.workers as WorkerInfo[];
  const handled = workers.reduce((a, w) => a + w.requests, 0);
  const counted = sampleSum(m, 'aerie_requests_total') - sampleSum(m, 'aerie_requests_total', { op: 'scan' }) - 1; // less the refusal
  t.equal(counted, handled, `requests: ${counted} in /metrics, ${handled} in INFO`);
  t.equal(
    sampleSum(m, 'aerie_requests_total', { op: 'scan' }),
    workers.reduce((a, w) => a + w.scanPages, 0),
    'scan pages',
  );

  // The histogram: cumulative buckets ending at +Inf = _count = the requests timed.
  for (const op of ['put', 'get', 'remove', 'scan']) {
    const buckets = m.samples.filter((s) => s.name === 'aerie_request_duration_seconds_bucket' && s.labels.op === op);
    t.ok(buckets.length > 2, `${op}: buckets`);
    t.ok(
      buckets.every((b, i) => i === 0 || b.value >= buckets[i - 1].value),
      `${op}: cumulative`,
    );
    t.equal(buckets.at(-1)!.labels.le, '+Inf');
    const count = sampleValue(m, 'aerie_request_duration_seconds_count', { op });
    t.equal(buckets.at(-1)!.value, count, `${op}: +Inf bucket = count`);
    const timed = sampleSum(m, 'aerie_requests_total', { op }) - (op === 'put' ? 1 : 0);
    if (op === 'get') {
      // Reads of a memory namespace come from the primary, which times one in DIRECT_READ_TIMING_EVERY, weighted.
      t.ok(count! % DIRECT_READ_TIMING_EVERY === 0 && Math.abs(count! - timed) <= DIRECT_READ_TIMING_EVERY, `${op}: ${count} in the histogram for ${timed} reads, sampled`);
    } else t.equal(count, timed, `${op}: every request timed but the refusal`);
    t.ok(sampleValue(m, 'aerie_request_duration_seconds_sum', { op })! > 0, `${op}: sum`);
  }
});

t.test('the families read from INFO equal INFO, and survive a worker restart', async (t) => {
  const { node, client } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
  });
  for (let i = 0; i < 100; i++) await client.put(new Key('test', 's', i), { v: i });
  await client.injectFault({ worker: 0, kind: 'crash' });
  // Wait for the restart through INFO, then read both.
  const { waitForValue } = await import('../helpers/wait');
  await waitForValue(
    async () => (await client.info()).workers as WorkerInfo[],
    (ws) => ws[0].restarts === 1 && ws.every((w) => w.state === 'up'),
    { what: 'worker 0 restarted and up' },
  );
  const m = await scrape(node.address.port);
  const info = await client.info();
  const ns = (info.namespaces as NsInfo[])[0];
  t.equal(sampleValue(m, 'aerie_namespace_records', { namespace: 'test' }), ns.records);
  t.equal(ns.records, 100);
  t.equal(sampleValue(m, 'aerie_namespace_copies', { namespace: 'test' }), ns.copies);
  t.equal(sampleValue(m, 'aerie_namespace_memory_limit_bytes', { namespace: 'test' }), ns.memoryBytesMax);
  t.equal(sampleValue(m, 'aerie_namespace_stop_writes', { namespace: 'test' }), 0);
  t.equal(sampleValue(m, 'aerie_connections'), (info.connections as { open: number }).open);
  const workers = info.workers as WorkerInfo[];
  t.equal(sampleValue(m, 'aerie_worker_restarts_total', { worker: '0' }), 1);
  t.equal(sampleValue(m, 'aerie_worker_restarts_total', { worker: '1' }), 0);
  t.equal(sampleValue(m, 'aerie_worker_state', { worker: '0', state: 'up' }), 1);
  t.equal(sampleValue(m, 'aerie_worker_state', { worker: '0', state: 'down' }), 0);
  t.equal(sampleValue(m, 'aerie_worker_last_failure_info', { worker: '0' }), 1, `its last failure: ${JSON.stringify(m.samples.find((s) => s.name === 'aerie_worker_last_failure_info')?.labels)}`);
  t.equal(sampleValue(m, 'aerie_worker_last_failure_info', { worker: '1' }), undefined, 'worker 1 never failed');
  for (const w of workers) t.equal(sampleValue(m, 'aerie_worker_records', { worker: String(w.index) }), w.records);
  // The request counters live in shared memory the primary holds: the crash did not reset them.
  t.equal(sampleValue(m, 'aerie_requests_total', { op: 'put', code: '0' }), 100, 'put counts survive the restart');
  t.equal(sampleValue(m, 'aerie_ready'), 1);
  t.equal(sampleValue(m, 'aerie_build_info', { version: info.version as string }), 1);
  t.ok(sampleValue(m, 'nodejs_heap_size_used_bytes')! > 0, "prom-client's process metrics are there");
});

t.test('replication channels: a series per channel, back to 0 once the replicas acknowledged', async (t) => {
  const { node, client } = await startTestNode(t, (c) => {
    c.namespaces[0].replicationFactor = 2;
  });
  for (let i = 0; i < 200; i++) await client.put(new Key('test', 's', i), { v: i });
  const { waitForValue } = await import('../helpers/wait');
  const m = await waitForValue(
    () => scrape(node.address.port),
    (e) => sampleSum(e, 'aerie_replication_backlog_bytes') === 0,
    { what: 'every channel acknowledged' },
  );
  const channels = m.samples
    .filter((s) => s.name === 'aerie_replication_backlog_bytes')
    .map((s) => `${s.labels.from}->${s.labels.to}`)
    .sort();
  t.same(channels, ['0->1', '1->0'], 'one channel each way between the two workers');
  t.equal(sampleSum(m, 'aerie_replication_channel_overflowed'), 0);
  const sent = ((await client.info()).workers as { replicationSent: number }[]).reduce((a, w) => a + w.replicationSent, 0);
  t.ok(sent >= 200, `${sent} replication messages sent`);
  t.equal(sampleSum(m, 'aerie_worker_replication_sent_total'), sent, 'as INFO says');
});

t.test('every aerie_ family is documented, and the dashboard uses only families that exist', async (t) => {
  const { node, client } = await startTestNode(t);
  await client.put(new Key('test', 's', 1), { v: 1 });
  const m = await scrape(node.address.port);
  const families = [...m.types.keys()];
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
  // The doc abbreviates a family's siblings as `…_suffix` after naming the first in full.
  const documented = (name: string) => doc.includes(`\`${name}\``) || [...doc.matchAll(/`…(_[a-z_]+)`/g)].some((x) => name.endsWith(x[1]));
  const undocumented = families.filter((f) => f.startsWith('aerie_') && !documented(f));
  t.same(undocumented, [], 'every aerie_ family is in docs/operations.md');
  const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'grafana-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((x) => [...x.expr.matchAll(/\b((?:aerie|nodejs|process)_[a-z0-9_]+)/g)].map((g) => g[1]))));
  const known = (name: string) => m.types.has(name) || m.types.has(name.replace(/_(bucket|sum|count)$/, ''));
  t.same(
    [...used].filter((u) => !known(u)),
    [],
    'every family the dashboard queries exists',
  );
  t.ok(used.size >= 15, `the dashboard queries ${used.size} families`);
});
