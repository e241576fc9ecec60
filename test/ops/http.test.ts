// Proves the plain HTTP endpoints' contract on a real node (codes, content types, bodies; the
// admin page's files and their headers) and
// that /readyz flips to 503 with the right reason during a drained shutdown, while a failover's
// partitions have no serving master, and in a stop-writes state (memory, disk), and back to 200.
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key, status } from '../../src/index';
import { Op } from '../../src/protocol/ops';
import { fillUntilRefused } from '../helpers/fill';
import { startTestNode, type TestNode } from '../helpers/node';
import { rawPeer } from '../helpers/raw';
import { waitForValue } from '../helpers/wait';

const MIB = 1024 * 1024;

interface Readyz {
  status: number;
  ready: boolean;
  codes: string[];
}

async function readyz(port: number): Promise<Readyz> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  const body = (await res.json()) as { ready: boolean; reasons: { code: string; message: string }[] };
  return { status: res.status, ready: body.ready, codes: body.reasons.map((r) => r.code) };
}

const waitReadyz = (port: number, accept: (r: Readyz) => boolean, what: string, timeoutMs = 20_000) => waitForValue(() => readyz(port), accept, { what, timeoutMs });

t.test('each endpoint answers its contract on the front port', async (t) => {
  const { node } = await startTestNode(t);
  const base = `http://127.0.0.1:${node.address.port}`;
  t.equal(node.adminAddress, null, 'no admin port unless configured');

  const live = await fetch(`${base}/livez`);
  t.equal(live.status, 200);
  t.match(live.headers.get('content-type'), /^text\/plain/);
  t.equal(await live.text(), 'ok\n');

  const ready = await fetch(`${base}/readyz`);
  t.equal(ready.status, 200);
  t.match(ready.headers.get('content-type'), /^application\/json/);
  t.same(await ready.json(), { ready: true, reasons: [] });

  const metrics = await fetch(`${base}/metrics?x=1`);
  t.equal(metrics.status, 200, 'a query string is ignored');
  t.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8', "Prometheus' text format");
  t.match(await metrics.text(), /^aerie_ready 1$/m);

  const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(await head.text(), '', 'HEAD: no body');

  // The admin page (built into dist/admin by scripts/bundle-admin.js, as `npm test` does first).
  for (const path of ['/', '/admin']) {
    const page = await fetch(`${base}${path}`);
    t.equal(page.status, 200, `${path} serves the admin page`);
    t.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    t.match(page.headers.get('content-security-policy'), /default-src 'self'/, 'scripts from the node only');
    t.match(page.headers.get('content-security-policy'), /frame-ancestors 'none'/, 'no site may frame it');
    t.match(await page.text(), `content="${node.address.port}"`, 'the page names the front port');
  }
  const script = await fetch(`${base}/admin/admin.js`);
  t.equal(script.status, 200);
  t.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
  t.notMatch(await script.text(), /https?:\/\/(?!127\.0\.0\.1)[a-z]/i, 'the script loads nothing from the network');
  t.equal((await fetch(`${base}/admin/admin.css`)).headers.get('content-type'), 'text/css; charset=utf-8');
  t.equal((await fetch(`${base}/admin/other.js`)).status, 404);
  const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
});

t.test('/readyz answers 503 "draining" on the admin port during a drained shutdown', async (t) => {
  const { node, client, url } = await startTestNode(t, (c) => {
    c.service.adminPort = 0;
  });
  const admin = node.adminAddress!.port;
  t.not(admin, node.address.port);
  t.same(await readyz(admin), { status: 200, ready: true, codes: [] });
  const page = await fetch(`http://127.0.0.1:${admin}/`);
  t.equal(page.status, 200, 'the admin port serves the admin page too');
  t.match(await page.text(), `content="${node.address.port}"`, 'which connects to the front port');
  // A peer that never answers the go-away holds the drain open (up to SHUTDOWN_DRAIN_MS).
  const peer = await rawPeer(url);
  peer.request(1, Op.PING, null);
  await peer.waitFor(1);
  await client.close();
  const closing = node.close();
  const draining = await waitReadyz(admin, (r) => r.status === 503, '503 while the node drains');
  t.same(draining, { status: 503, ready: false, codes: ['draining'] });
  await closing;
  await t.rejects(fetch(`http://127.0.0.1:${admin}/livez`), 'the admin port closes once the node has stopped');
});

/** A node whose workers restart `restartDelayMs` after a crash (long enough for probes to see it). */
const crashDrillNode = (t: Parameters<typeof startTestNode>[0], replicationFactor: number, restartDelayMs: number): Promise<TestNode> =>
  startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    c.supervisor.restartDelayMsMin = restartDelayMs;
    c.supervisor.restartDelayMsMax = restartDelayMs;
    c.namespaces[0].replicationFactor = replicationFactor;
  });

t.test('a worker down with no replica: partitions_unserved until it is back', async (t) => {
  const { node, client } = await crashDrillNode(t, 1, 1500);
  const port = node.address.port;
  t.equal((await readyz(port)).status, 200);
  await client.injectFault({ worker: 1, kind: 'crash' });
  const down = await waitReadyz(port, (r) => r.status === 503, '503 while worker 1 is down');
  t.same(down.codes, ['partitions_unserved'], 'its partitions have no serving master');
  await waitReadyz(port, (r) => r.status === 200, '200 once worker 1 is back');
  t.ok(node.workers[1].restarts >= 1, 'worker 1 was restarted');
});

t.test('a worker down whose replicas took over: ready again while it is still down', async (t) => {
  const { node, client } = await crashDrillNode(t, 2, 10_000);
  const port = node.address.port;
  await client.put(new Key('test', 's', 1), { v: 1 });
  await client.injectFault({ worker: 1, kind: 'crash' });
  await waitForValue(
    () => node.workers[1].state,
    (s) => s === 'down',
    { what: 'worker 1 down' },
  );
  // The failover moves worker 1's partitions to their replicas on worker 0 (a hold of tens of
  // milliseconds, during which they have no serving master); then the node is ready again.
  const ready = await waitReadyz(port, (r) => r.status === 200, "200 once the replicas serve worker 1's partitions");
  t.same(ready.codes, []);
  t.equal(node.workers[1].state, 'down', 'worker 1 is still down: its restart is due in 10 s');
  t.equal((await client.get(new Key('test', 's', 1)))?.bins.v, 1, 'its records are served');
});

t.test('memory stop-writes: 503 "stop_writes" while writes are refused', async (t) => {
  // 64 KiB records keep blocks at 256 KiB, 1/16 of a 4 MiB share: stop-writes comes first.
  const { node, client } = await startTestNode(t, (c) => {
    c.namespaces[0].memoryBytesMax = 8 * MIB;
    c.namespaces[0].recordBytesMax = 64 * 1024;
  });
  const port = node.address.port;
  t.equal((await readyz(port)).status, 200);
  const refused = await fillUntilRefused(client, 8 * 1024, 2000);
  t.equal(refused.code, status.SERVER_MEM);
  const stopped = await waitReadyz(port, (r) => r.status === 503, '503 in stop-writes');
  t.same(stopped.codes, ['stop_writes']);
  t.ok(await client.get(new Key('test', 'fill', 0)), 'reads go on: only readiness says not to send traffic');
});

t.test('disk stop-writes: 503 "stop_writes" while the log device is under its reserve, 200 once space returns', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-readyz-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { node, client } = await startTestNode(t, (c) => {
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = dir;
    c.supervisor.faultInjection = true;
  });
  const port = node.address.port;
  await client.put(new Key('test', 's', 1), { v: 1 });
  t.equal((await readyz(port)).status, 200);
  for (const worker of [0, 1]) await client.injectFault({ worker, kind: 'disk-low' });
  const stopped = await waitReadyz(port, (r) => r.status === 503, '503 under the disk reserve');
  t.same(stopped.codes, ['stop_writes']);
  for (const worker of [0, 1]) await client.injectFault({ worker, kind: 'disk-ok' });
  await waitReadyz(port, (r) => r.status === 200, '200 once space returns');
});
