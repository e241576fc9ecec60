// Proves the admin feed's contract over the wire (op WATCH, docs/protocol.md §14): the answer a
// page starts from, one push a second whose per-op samples add up to exactly the requests made,
// unsubscribing, the bound on watchers, a worker endpoint refusing it, the actions offered per
// role on a node with security, and the page's own origin accepted for the upgrade while others
// are refused.
import t from 'tap';
import WebSocket from 'ws';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key } from '../../src/client/index';
import { ADMIN_WATCHERS_MAX, PARTITION_COUNT } from '../../src/constants';
import { Status } from '../../src/errors';
import { Op, PUSH_ID } from '../../src/protocol/ops';
import { startNode } from '../../src/primary/node';
import { ownOrigin } from '../../src/security/upgrade-check';
import { startTestNode, testNodeConfig } from '../helpers/node';
import { rawPeer, type RawPeer } from '../helpers/raw';
import { waitFor, waitForValue } from '../helpers/wait';

interface Watching {
  intervalMs: number;
  ops: string[];
  history: number[][];
  events: { seq: number; message: string }[];
  allowed: { snapshot: boolean; fault: boolean; restart: boolean };
  state: { workers: { index: number; state: string }[]; namespaces: { name: string }[]; grids: Uint8Array[] };
}

interface Push {
  event: string;
  sample: number[];
  events: { seq: number; message: string }[];
  state: Watching['state'];
}

const pushes = (peer: RawPeer): Push[] => peer.responses.filter((m) => m[0] === PUSH_ID && (m[2] as Push)?.event === 'admin').map((m) => m[2] as Push);

async function watch(peer: RawPeer, id: number, body: unknown = { on: true }): Promise<{ code: number; body: unknown }> {
  peer.request(id, Op.WATCH, body);
  const [, code, answer] = await peer.waitFor(id, 10_000);
  return { code: code as number, body: answer };
}

t.test('WATCH: the start, pushes that add up to the requests made, unsubscribing, limits', async (t) => {
  const { node, client, url } = await startTestNode(t);
  const peer = await rawPeer(url);
  t.teardown(() => peer.ws.close());
  const start = await watch(peer, 1);
  t.equal(start.code, Status.OK);
  const w = start.body as Watching;
  t.equal(w.intervalMs, 1000);
  t.same(w.ops.slice(0, 2), ['put', 'get']);
  t.ok(Array.isArray(w.history) && w.history.length >= 1, 'samples kept since the node started');
  t.ok(
    w.history.every((s) => s.length === 1 + 4 * w.ops.length),
    'each sample: a time, then four figures per op',
  );
  t.same(w.allowed, { snapshot: true, fault: false, restart: true }, 'no security: every action, but no drill while faultInjection is off');
  t.same(
    w.state.workers.map((x) => x.state),
    ['up', 'up'],
  );
  t.equal(w.state.grids[0].length, PARTITION_COUNT);
  t.ok(
    w.state.grids[0].every((b, p) => b >> 6 === 0 && (b & 0x3f) === p % 2),
    'every partition on its first holder (worker p mod 2), state master',
  );
  t.ok(
    w.events.some((e) => /listening on/.test(e.message)),
    'recent events include the start-up lines',
  );

  // A known workload: 12 puts and 5 gets, counted once each over the pushes that follow.
  const puts = 12;
  const gets = 5;
  for (let i = 0; i < puts; i++) await client.put(new Key('test', 'feed', i), { i });
  for (let i = 0; i < gets; i++) await client.get(new Key('test', 'feed', i));
  const putIndex = 1 + 4 * w.ops.indexOf('put');
  const getIndex = 1 + 4 * w.ops.indexOf('get');
  const sum = (index: number) => pushes(peer).reduce((acc, p) => acc + p.sample[index], 0);
  await waitForValue(
    () => [sum(putIndex), sum(getIndex)],
    (v) => v[0] >= puts && v[1] >= gets,
    { what: 'the pushes to count the puts and gets' },
  );
  const seen = pushes(peer).length;
  await waitFor(() => pushes(peer).length >= seen + 1, { what: 'one more push' });
  t.same([sum(putIndex), sum(getIndex)], [puts, gets], 'every request counted once, in exactly one second');
  t.equal(sum(putIndex + 1), 0, 'no errors');
  const last = pushes(peer).at(-1)!;
  t.same(
    last.state.workers.map((x) => x.index),
    [0, 1],
  );
  t.same(
    last.state.namespaces.map((n) => n.name),
    ['test'],
  );

  // Unsubscribed: no more pushes, while another watcher still gets them.
  t.equal((await watch(peer, 2, { on: false })).code, Status.OK);
  const before = pushes(peer).length;
  const other = await rawPeer(url);
  t.teardown(() => other.ws.close());
  t.equal((await watch(other, 1, null)).code, Status.OK, 'a nil body subscribes');
  await waitFor(() => pushes(other).length >= 2, { what: 'two pushes to the other watcher' });
  t.equal(pushes(peer).length, before, 'the unsubscribed connection got none');
  t.equal((await watch(peer, 3, { on: 'yes' })).code, Status.PARAMETER);

  // At most ADMIN_WATCHERS_MAX watch at once (other is one).
  const crowd: RawPeer[] = [];
  t.teardown(() => {
    for (const p of crowd) p.ws.close();
  });
  for (let i = 1; i < ADMIN_WATCHERS_MAX; i++) {
    const p = await rawPeer(url);
    crowd.push(p);
    t.equal((await watch(p, 1)).code, Status.OK);
  }
  const late = await rawPeer(url);
  crowd.push(late);
  t.equal((await watch(late, 1)).code, Status.QUOTA_EXCEEDED, `watcher ${ADMIN_WATCHERS_MAX + 1} refused`);
  crowd[0].ws.close();
  await waitForValue(
    async () => (await watch(late, Date.now() % 1e6)).code,
    (code) => code === Status.OK,
    { what: 'a closed watcher to free its place' },
  );

  // The feed lives on the primary: a worker's endpoint refuses WATCH.
  const endpoints = ((await client.info()) as unknown as { endpoints: { port: number }[] }).endpoints;
  const atWorker = await rawPeer(`ws://127.0.0.1:${endpoints[0].port}`);
  t.teardown(() => atWorker.ws.close());
  t.equal((await watch(atWorker, 1)).code, Status.UNSUPPORTED_FEATURE);
  t.ok(node.address.port > 0);
});

t.test('with security: WATCH needs a login, and offers the actions of the user roles', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-feed-security-'));
  writeFileSync(path.join(dir, 'admin-password'), 'admin-secret-16180\n');
  const node = await startNode(
    testNodeConfig((c) => {
      c.supervisor.faultInjection = true;
      c.security = { ...c.security, enabled: true, adminPasswordFile: path.join(dir, 'admin-password'), dataDir: path.join(dir, 'security') };
    }),
  );
  t.teardown(() => node.close());
  const url = `ws://127.0.0.1:${node.address.port}`;
  const admin = await rawPeer(url, { user: 'admin', password: 'admin-secret-16180' });
  t.teardown(() => admin.ws.close());
  admin.request(1, Op.USER, { action: 'create', user: 'ops', password: 'ops-secret-27182', roles: ['sys-admin'] });
  admin.request(2, Op.USER, { action: 'create', user: 'viewer', password: 'viewer-secret-14142', roles: ['read'] });
  admin.request(3, Op.USER, { action: 'create', user: 'backup', password: 'backup-secret-17320', roles: ['data-admin'] });
  for (const id of [1, 2, 3]) t.equal((await admin.waitFor(id, 20_000))[1], Status.OK);

  const anonymous = await rawPeer(url, false);
  t.teardown(() => anonymous.ws.close());
  t.equal((await watch(anonymous, 1)).code, Status.NOT_AUTHENTICATED, 'no login, no feed');

  const allowedOf = async (user: string, password: string) => {
    const p = await rawPeer(url, { user, password });
    t.teardown(() => p.ws.close());
    const answer = await watch(p, 1);
    t.equal(answer.code, Status.OK, `${user} may watch`);
    return (answer.body as Watching).allowed;
  };
  t.same(await allowedOf('viewer', 'viewer-secret-14142'), { snapshot: false, fault: false, restart: false }, 'read: no action');
  t.same(await allowedOf('ops', 'ops-secret-27182'), { snapshot: false, fault: true, restart: true }, 'sys-admin: drills and restarts');
  t.same(await allowedOf('backup', 'backup-secret-17320'), { snapshot: true, fault: false, restart: false }, 'data-admin: snapshots');
});

t.test("the page's own origin may upgrade; another origin or port may not", async (t) => {
  const { node } = await startTestNode(t, (c) => {
    c.service.adminPort = 0;
  });
  const port = node.address.port;
  const upgrade = (origin: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { origin, perMessageDeflate: false });
      ws.once('open', () => {
        ws.close();
        resolve(101);
      });
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('error', () => undefined);
    });
  t.equal(await upgrade(`http://127.0.0.1:${port}`), 101, 'the front port');
  t.equal(await upgrade(`http://localhost:${node.adminAddress!.port}`), 101, 'the admin port, by a loopback name');
  t.equal(await upgrade(`http://127.0.0.1:${port === 1 ? 2 : 1}`), 403, 'another port');
  t.equal(await upgrade(`http://evil.example:${port}`), 403, 'another name on the same port (DNS rebinding)');

  const policy = { allowedOrigins: [], allowedHosts: ['db.lan'] };
  t.ok(ownOrigin('http://10.1.2.3:3000', '0.0.0.0', policy, [3000]), 'a wide bind: an address');
  t.ok(ownOrigin('https://db.lan:3000', '0.0.0.0', policy, [3000]), 'a wide bind: a name in allowedHosts');
  t.notOk(ownOrigin('http://evil.example:3000', '0.0.0.0', policy, [3000]), 'a wide bind: never another name');
  t.notOk(ownOrigin('http://10.1.2.3:3000', '127.0.0.1', policy, [3000]), 'a loopback bind: loopback names only');
  t.ok(ownOrigin('http://[::1]:3000', '127.0.0.1', policy, [3000]), 'IPv6 loopback');
  t.notOk(ownOrigin('http://127.0.0.1', '127.0.0.1', policy, [80]), 'no port: not a page the node served');
});
