// Proves the SDK's partition routing against a real node: each keyed call lands on the endpoint of
// its partition's master (counted by the node's per-endpoint counters in INFO, not by timing) and a
// batch is split per endpoint; a crashed worker's partitions follow the refreshed map to the
// promoted master and come back to the restarted worker's endpoint; a write in flight on a worker
// connection that dies is in doubt and never sent again, while reads ride through; routing
// 'front' sends everything through the front; with security on the client logs in on every endpoint.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect, Key, ops, Status, type Client } from '../../src/client/index';
import { RouteMap } from '../../src/client/route-map';
import { startNode } from '../../src/primary/node';
import { startTestNode, testNodeConfig, waitStable } from '../helpers/node';
import { waitFor, waitForValue } from '../helpers/wait';
import { workerWhen } from '../helpers/worker-info';

type EndpointCounts = { localRequests: number; forwarded: number };

const endpointCounts = async (client: Client): Promise<EndpointCounts[]> => ((await client.info()).endpoints as EndpointCounts[]).map(({ localRequests, forwarded }) => ({ localRequests, forwarded }));

/** The worker mastering the key's partition in the map the client received at connect. */
const masterAtConnect = (client: Client, key: Key): number => (client.server.map as { masters: Uint8Array[] }).masters[0][key.partitionId];

const keysOf = (set: string, count: number) => Array.from({ length: count }, (_, i) => new Key('test', set, i));

/** The next loss of a worker endpoint's connection. */
const nextLoss = (client: Client) => new Promise<{ worker: number; error: { code: number } }>((resolve) => client.once('endpointDisconnected', resolve));

t.test('each keyed call goes to its master endpoint, and a batch is split per endpoint', async (t) => {
  const { client } = await startTestNode(t);
  t.equal(client.routes.routing, 'partition', 'partition routing is the default');
  t.same(
    client.routes.endpoints.map((e) => [e.worker, e.connected]),
    [
      [0, true],
      [1, true],
    ],
    'connected to both worker endpoints at connect',
  );
  const keys = keysOf('rt', 200);
  await Promise.all(keys.map((k) => client.put(k, { v: k.value })));
  const perWorker = [0, 1].map((w) => keys.filter((k) => masterAtConnect(client, k) === w).length);
  t.ok(perWorker[0] > 0 && perWorker[1] > 0, `keys on both workers (${perWorker})`);

  const before = await endpointCounts(client);
  const got = await Promise.all(keys.map((k) => client.get(k)));
  const after = await endpointCounts(client);
  t.same(
    got.map((r) => r.bins.v),
    keys.map((k) => k.value),
    'every read answered',
  );
  t.same(
    after.map((e, w) => e.localRequests - before[w].localRequests),
    perWorker,
    'every GET was served by its master on its own endpoint',
  );
  t.same(
    after.map((e, w) => e.forwarded - before[w].forwarded),
    [0, 0],
    'none was sent to an endpoint that had to forward it',
  );

  const mixed = [...keys.slice(0, 50), new Key('test', 'rt', 'absent')];
  const b0 = await endpointCounts(client);
  const batch = await client.batchGet(mixed);
  const b1 = await endpointCounts(client);
  t.same(
    batch.map((r) => r?.bins.v ?? null),
    [...keys.slice(0, 50).map((k) => k.value), null],
    'batch answers merged back in key order',
  );
  for (const w of [0, 1]) {
    const arrived = b1[w].localRequests + b1[w].forwarded - b0[w].localRequests - b0[w].forwarded;
    t.ok(arrived > 0, `part of the batch went to worker ${w}'s endpoint (${arrived})`);
  }
});

t.test("routing 'front' sends every call through the front", async (t) => {
  const { client: admin, url } = await startTestNode(t);
  const client = await connect({ hosts: new URL(url).host, routing: 'front' });
  t.teardown(() => client.close());
  t.same(client.routes, { routing: 'front', mapVersion: null, endpoints: [] });
  const keys = keysOf('fr', 50);
  const before = await endpointCounts(admin);
  await Promise.all(keys.map((k) => client.put(k, { v: 1 })));
  await Promise.all(keys.map((k) => client.get(k)));
  await client.batchGet(keys);
  const after = await endpointCounts(admin);
  t.same(after, before, 'no worker endpoint saw a request');
});

t.test("a crashed worker's partitions follow the new map to the promoted master, then come back to its endpoint", async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    // The replacement starts 3 s after the crash: long enough to see the promoted master serve.
    c.supervisor.restartDelayMsMin = 3000;
    c.supervisor.restartDelayMsMax = 3000;
  });
  const key = keysOf('fo', 100).find((k) => masterAtConnect(client, k) === 1)!;
  await client.put(key, { v: 1 });
  const versionBefore = client.routes.mapVersion!;
  const lost = nextLoss(client);
  await client.injectFault({ worker: 1, kind: 'crash' });
  t.equal((await lost).worker, 1, "worker 1's endpoint connection was lost");

  // While worker 1 is down its replica (worker 0) masters the partition: once the client has the
  // new map, a GET of the key is served by worker 0 on its own endpoint.
  await waitFor(
    async () => {
      const before = await endpointCounts(client);
      const record = await client.get(key);
      const after = await endpointCounts(client);
      return record.bins.v === 1 && after[0].localRequests === before[0].localRequests + 1;
    },
    { what: 'a GET of the failed-over key served by worker 0 on its endpoint', timeoutMs: 20_000, intervalMs: 20 },
  );
  t.ok(client.routes.mapVersion! > versionBefore, 'the client refreshed its map after the failover');
  t.equal(client.routes.endpoints[1].connected, false, "worker 1's endpoint is not connected while it is down");
  t.same((await client.put(key, { v: 2 })).gen, 2, 'writes go on meanwhile');

  // The replacement takes its partitions back: the client reconnects to its endpoint and routes there again.
  await workerWhen(client, 1, (w) => w.state === 'up' && w.restarts === 1 && w.partitions > 0, 'back and mastering');
  await waitStable(client, 500);
  const served = await waitForValue(
    async () => {
      const before = await endpointCounts(client);
      const record = await client.get(key);
      const after = await endpointCounts(client);
      return { v: record.bins.v, local: after[1].localRequests - before[1].localRequests };
    },
    (r) => r.v === 2 && r.local === 1,
    { what: "a GET of the key served by worker 1 again on its endpoint's new connection", timeoutMs: 20_000, intervalMs: 20 },
  );
  t.equal(served.v, 2, 'the write made during the failover is there');
  t.equal(client.routes.endpoints[1].connected, true, 'reconnected to the restarted worker');
});

t.test('a write in flight on a worker connection that dies is in doubt and never re-sent; reads ride through', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    c.supervisor.heartbeatTimeoutMs = 300;
  });
  const keys = keysOf('dd', 100).filter((k) => masterAtConnect(client, k) === 1);
  const counter = keys[0];
  const register = keys[1];
  await client.put(register, { v: 5 });
  let ok = 0;
  const doubts: number[] = [];
  const failures: number[] = [];
  const readProblems: string[] = [];
  let running = true;
  const incrementing = async () => {
    while (running) {
      try {
        await client.operate(counter, [ops.incr('n', 1)]);
        ok++;
      } catch (error) {
        const { code, inDoubt } = error as { code: number; inDoubt: boolean };
        if (inDoubt) doubts.push(code);
        else failures.push(code);
      }
    }
  };
  const reading = async () => {
    while (running) {
      try {
        const v = (await client.get(register)).bins.v;
        if (v !== 5) readProblems.push(`read ${String(v)}`);
      } catch (error) {
        readProblems.push(`read failed with ${(error as { code: number }).code}`);
      }
    }
  };
  const loops = [...Array.from({ length: 8 }, incrementing), ...Array.from({ length: 4 }, reading)];
  await waitFor(() => ok > 50, { what: 'increments acknowledged before the fault' });
  const lost = nextLoss(client);
  // Worker 1 spins: nothing on its endpoint is answered until the supervisor ends the thread,
  // which closes its sockets with the increments and reads in flight on them.
  await client.injectFault({ worker: 1, kind: 'hang' });
  t.equal((await lost).worker, 1, "worker 1's endpoint connection died");
  const okAtLoss = ok;
  await waitFor(() => ok > okAtLoss + 50, { what: 'increments acknowledged after the failover' });
  running = false;
  await Promise.all(loops);
  await waitStable(client, 600);
  t.ok(doubts.length > 0, `increments in flight on the dead connection ended in doubt (${doubts.length})`);
  t.ok(
    doubts.every((code) => code === Status.CONNECTION_CLOSED || code === Status.TIMEOUT),
    `in doubt as a lost connection (${[...new Set(doubts)]})`,
  );
  t.same(failures, [], 'no increment reported failed: each one sent may have happened');
  t.same(readProblems, [], 'every read answered, with the value written');
  const n = (await client.get(counter)).bins.n as number;
  t.ok(n >= ok && n <= ok + doubts.length, `count ${n} within [${ok}, ${ok + doubts.length}]: nothing re-sent`);
});

t.test('with security on, the client logs in on every worker endpoint and routes there', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-routing-sec-'));
  writeFileSync(path.join(dir, 'admin.pw'), 'routing-admin-pass-5521');
  const node = await startNode(
    testNodeConfig((c) => {
      c.security = { ...c.security, enabled: true, adminPasswordFile: path.join(dir, 'admin.pw'), dataDir: path.join(dir, 'sec') };
    }),
  );
  t.teardown(() => node.close());
  const client = await connect({ hosts: `127.0.0.1:${node.address.port}`, user: 'admin', password: 'routing-admin-pass-5521' });
  t.teardown(() => client.close());
  t.equal(typeof client.routes.mapVersion, 'number', 'the map arrived');
  t.same(
    client.routes.endpoints.map((e) => [e.worker, e.connected]),
    [
      [0, true],
      [1, true],
    ],
    'logged in on both worker endpoints',
  );
  const before = await endpointCounts(client);
  const keys = keysOf('sec', 20);
  await Promise.all(keys.map((k) => client.put(k, { v: 1 })));
  t.same(
    (await client.batchGet(keys)).map((r) => r?.bins.v),
    keys.map(() => 1),
    'every call answered',
  );
  const after = await endpointCounts(client);
  // Served there or forwarded from there: either way the calls reached the worker endpoints.
  const arrived = after.reduce((n, e, i) => n + e.localRequests + e.forwarded - before[i].localRequests - before[i].forwarded, 0);
  t.ok(arrived >= keys.length, `the calls arrived on the worker endpoints (${arrived})`);
});

t.test('a HELLO map the client cannot read routes nothing', async (t) => {
  const masters = [new Uint8Array(4096)];
  const good = { namespaces: ['test'], map: { version: 3, endpoints: ['0.0.0.0:3001', null], masters, replicas: [] } };
  const map = RouteMap.fromHello(good);
  t.same(map?.ports, [3001, 0], 'ports only: the host is the one the front was reached at');
  t.equal(map?.masterOf(new Key('test', null, 'k')), 0);
  t.equal(map?.masterOf(new Key('other', null, 'k')), -1, 'a namespace not in the map');
  t.ok(map?.isOlderThan(4) && !map.isOlderThan(3) && !map.isOlderThan(2), 'a newer version is told apart');
  const wrapping = RouteMap.fromHello({ ...good, map: { ...good.map, version: 0xffffffff } });
  t.ok(wrapping?.isOlderThan(0), 'versions compare as uint32 serials: one past 2^32 - 1 is newer');
  const bad = [
    {},
    { namespaces: ['test'], map: { ...good.map, version: -1 } },
    { namespaces: ['test'], map: { ...good.map, endpoints: [7] } },
    { namespaces: ['test'], map: { ...good.map, masters: [new Uint8Array(10)] } },
    { namespaces: ['test', 'x'], map: good.map },
  ];
  for (const server of bad) t.equal(RouteMap.fromHello(server), null, JSON.stringify(server).slice(0, 60));
});
