// Proves every worker thread serves clients on its own port (issue 12, items 1-4): HELLO there
// returns the partition map; keys of every partition are written and read there, whoever masters
// them (a read of its own memory partition served by the worker itself, the rest forwarded); a batch across owners and an admin request work there; the front still routes; a crashed
// worker takes only its own sockets, its replacement listens on the same port, the map's version
// moves and the next answer says so; and writes acknowledged through a worker endpoint survive it.
import t from 'tap';
import { createServer } from 'node:net';
import { connect, Key } from '../../src/index';
import { computeDigest, partitionOf } from '../../src/partition/digest';
import { Op, PUSH_ID } from '../../src/protocol/ops';
import { Status } from '../../src/errors';
import { startTestNode } from '../helpers/node';
import { ask, helloMap, rawPeer, type HelloMap } from '../helpers/raw';
import { waitForValue } from '../helpers/wait';

const keyIn = (worker: number, map: HelloMap, from = 0): number => {
  for (let i = from; ; i++) if (map.masters[0][partitionOf(computeDigest('ep', i))] === worker) return i;
};

/** A free loopback port (bound, then let go). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('a worker endpoint serves every key and admin request, and its HELLO holds the map', async (t) => {
  const { node, url } = await startTestNode(t);
  const front = await rawPeer(url);
  const map = helloMap(front);
  t.equal(map.endpoints.length, 2, 'one endpoint per worker');
  t.ok(
    map.endpoints.every((e) => e !== null && /^127\.0\.0\.1:\d+$/.test(e)),
    'each worker listens',
  );
  t.equal(map.masters.length, 1, 'one namespace');
  t.equal(map.masters[0].length, 4096, 'a byte per partition');
  t.equal(map.replicas[0].length, 4096, 'two copies: one replica byte per partition');
  for (let p = 0; p < 4096; p++) {
    if (map.masters[0][p] !== p % 2 || map.replicas[0][p] !== 1 - (p % 2)) {
      t.fail(`partition ${p}: master ${map.masters[0][p]}, replica ${map.replicas[0][p]}`);
      break;
    }
  }
  const info0 = node.info() as { endpoints: { port: number }[] };
  t.same(
    info0.endpoints.map((e) => `127.0.0.1:${e.port}`),
    map.endpoints,
    'INFO shows the ports the map names',
  );

  const w0 = await rawPeer(`ws://${map.endpoints[0]}`);
  t.same(helloMap(w0), map, 'a worker endpoint answers HELLO with the same map');
  const mine = keyIn(0, map);
  const theirs = keyIn(1, map);
  t.equal((await ask(w0, Op.PUT, { ns: 'test', set: 'ep', key: mine, bins: { v: 'a' } }))[0], 0, 'a put of a key it masters');
  t.equal((await ask(w0, Op.PUT, { ns: 'test', set: 'ep', key: theirs, bins: { v: 'b' } }))[0], 0, 'a put of a key it does not master (forwarded)');
  const [code, got] = await ask(w0, Op.GET, { ns: 'test', set: 'ep', key: theirs });
  t.equal(code, 0);
  t.same((got as { bins: unknown }).bins, { v: 'b' }, 'read back through the worker endpoint');
  type EndpointInfo = { localRequests: number; forwarded: number };
  const counts = () => (node.info() as { endpoints: EndpointInfo[] }).endpoints[0];
  const before0 = counts();
  const [mcode, own] = await ask(w0, Op.GET, { ns: 'test', set: 'ep', key: mine });
  t.equal(mcode, 0);
  t.same((own as { bins: unknown }).bins, { v: 'a' }, 'a key it masters, read on its endpoint');
  const after0 = counts();
  t.equal(after0.localRequests, before0.localRequests + 1, 'served by the worker itself');
  t.equal(after0.forwarded, before0.forwarded, 'not forwarded');
  t.equal((await ask(w0, Op.EXISTS, { ns: 'test', set: 'ep', key: theirs }))[0], 0);
  t.equal(counts().forwarded, after0.forwarded + 1, "a read of another worker's partition is forwarded");
  t.equal((await ask(w0, Op.GET, { ns: 'nope', key: mine }))[0], Status.INVALID_NAMESPACE, 'an unknown namespace is refused as on the front');
  const [, viaFront] = await ask(front, Op.GET, { ns: 'test', set: 'ep', key: mine });
  t.same((viaFront as { bins: unknown }).bins, { v: 'a' }, 'the front routes as before and sees it');
  const [bcode, batch] = await ask(w0, Op.BATCH_GET, { keys: [mine, theirs, 999_999].map((key) => ({ ns: 'test', set: 'ep', key })) });
  t.equal(bcode, 0, 'a batch across both owners');
  const records = (batch as { records: unknown[][] }).records;
  t.same(
    records.map((r) => r[0]),
    [0, 0, Status.KEY_NOT_FOUND],
    'every element answered in key order',
  );
  const [icode, info] = await ask(w0, Op.INFO, null);
  t.equal(icode, 0, 'INFO through a worker endpoint');
  t.ok(Array.isArray((info as { workers: unknown }).workers), 'the primary answered it');
  const [fcode] = await ask(w0, Op.FAULT, { worker: 0, kind: 'crash' });
  t.equal(fcode, Status.FAIL_FORBIDDEN, 'FAULT reaches the primary, which refuses it when faults are off');
  const [scode, scan] = await ask(w0, Op.SCAN, { ns: 'test', pageSize: 100 });
  t.equal(scode, 0, 'a scan page through a worker endpoint');
  t.ok(Array.isArray((scan as { records: unknown }).records));
  const [pcode] = await ask(w0, Op.PING, null);
  t.equal(pcode, 0);
  const before = await rawPeer(`ws://${map.endpoints[0]}`, false);
  before.request(5, Op.GET, { ns: 'test', key: 1 });
  t.equal((await before.waitFor(5))[1], Status.NOT_AUTHENTICATED, 'HELLO first, as on the front');
  for (const p of [front, w0, before]) p.ws.close();
});

t.test('a crashed worker takes only its sockets, listens on the same port again, and clients hear the map moved', async (t) => {
  const ports = [await freePort(), await freePort()];
  const { node, url } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    c.service.workerPorts = ports;
  });
  const front = await rawPeer(url);
  const map = helloMap(front);
  t.same(
    map.endpoints,
    ports.map((p) => `127.0.0.1:${p}`),
    'the listed ports',
  );
  const w0 = await rawPeer(`ws://${map.endpoints[0]}`);
  const w1 = await rawPeer(`ws://${map.endpoints[1]}`);
  // Acknowledged writes through worker 1's endpoint, of keys it masters: its replica must keep them.
  const keys: number[] = [];
  for (let k = keyIn(1, map); keys.length < 50; k = keyIn(1, map, k + 1)) keys.push(k);
  for (const k of keys) t.equal((await ask(w1, Op.PUT, { ns: 'test', set: 'ep', key: k, bins: { v: k } }))[0], 0);
  const w1Closed = w1.closed;
  t.equal((await ask(w0, Op.FAULT, { worker: 1, kind: 'crash' }))[0], 0, 'the fault is injected through a worker endpoint');
  const closed = await w1Closed;
  t.ok(closed.code !== 1000, `the dead worker's connection closed (${closed.code})`);
  t.equal(w0.ws.readyState, w0.ws.OPEN, "the other worker's connection stays open");
  // The map moved (worker 1's partitions to their replica): the next answer on any endpoint says so.
  await waitForValue(
    () => (node.info() as { workers: { restarts: number }[] }).workers[1].restarts,
    (r) => r >= 1,
    { what: 'worker 1 restarted', timeoutMs: 20_000, intervalMs: 20 },
  );
  const [gcode, got] = await ask(w0, Op.GET, { ns: 'test', set: 'ep', key: keys[0] });
  t.equal(gcode, 0, 'an acknowledged write survives the crash');
  t.same((got as { bins: unknown }).bins, { v: keys[0] });
  const push = w0.responses.find((m) => m[0] === PUSH_ID && (m[2] as { event?: string }).event === 'map');
  t.ok(push !== undefined, 'a map push arrived with the answer');
  t.ok((push![2] as { version: number }).version > map.version, 'it names a newer version');
  // The replacement listens on the same port; HELLO there has the newest map.
  const again = await waitForValue(
    async () => rawPeer(`ws://${map.endpoints[1]}`).catch(() => null),
    (p) => p !== null,
    { what: 'worker 1 listening again', timeoutMs: 20_000, intervalMs: 50 },
  );
  t.same(helloMap(again!).endpoints, map.endpoints, 'on the same port');
  for (const k of keys) {
    const [c, r] = await ask(again!, Op.GET, { ns: 'test', set: 'ep', key: k });
    if (c !== 0 || (r as { bins: { v: number } }).bins.v !== k) t.fail(`key ${k}: code ${c}`);
  }
  t.pass('every acknowledged write is there through the new endpoint');
  for (const p of [front, w0, again!]) p.ws.close();
});

t.test('a hung worker, once terminated, closes the sockets of its endpoint', async (t) => {
  const { url } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    c.supervisor.heartbeatTimeoutMs = 300;
  });
  const front = await rawPeer(url);
  const map = helloMap(front);
  const w0 = await rawPeer(`ws://${map.endpoints[0]}`);
  const w1 = await rawPeer(`ws://${map.endpoints[1]}`);
  const w1Closed = w1.closed;
  t.equal((await ask(front, Op.FAULT, { worker: 1, kind: 'hang' }))[0], 0, 'worker 1 spins');
  const closed = await w1Closed;
  t.ok(closed.code !== 1000, `its connection closed when it was terminated (${closed.code})`);
  t.equal((await ask(w0, Op.PING, null))[0], 0, "the other worker's endpoint still answers");
  for (const p of [front, w0]) p.ws.close();
});

t.test("a worker endpoint keeps the front's limits, and the connection cap is the node's", async (t) => {
  const { node, url } = await startTestNode(t, (c) => {
    c.service.connectionsMax = 5; // the SDK client of startTestNode holds three: the front and each worker's endpoint
    c.service.helloTimeoutMs = 200;
    c.service.frameBytesMax = 1024 * 1024;
  });
  const front = await rawPeer(url);
  const map = helloMap(front);
  const sockets = () => (node.info() as { endpoints: { sockets: number }[] }).endpoints[1].sockets;
  const held = sockets(); // the SDK client's connection to worker 1's endpoint
  const silent = await rawPeer(`ws://${map.endpoints[1]}`, false);
  t.equal((await silent.closed).code, 1008, 'no HELLO in time: closed as on the front');
  await waitForValue(sockets, (n) => n === held, { what: "the closed socket leaves worker 1's count", timeoutMs: 10_000, intervalMs: 20 });
  const w0 = await rawPeer(`ws://${map.endpoints[0]}`);
  // Sockets are capped at the same figure (the descriptor budget's smaller cap): the fourth is
  // dropped as it arrives, or closed 1013 if it got as far as its upgrade.
  const outcome = await rawPeer(`ws://${map.endpoints[1]}`, false).then(
    (p) => p.closed.then((c) => c.code),
    (e: NodeJS.ErrnoException) => e.code,
  );
  t.ok(outcome === 1013 || outcome === 'ECONNRESET', `a fourth connection, on another endpoint, is past the node-wide cap (${outcome})`);
  w0.ws.on('error', () => undefined); // the node may reset the socket after its close frame
  w0.send(Buffer.alloc(1024 * 1024 + 1));
  t.equal((await w0.closed).code, 1009, 'a frame past frameBytesMax');
  front.ws.close();
});

t.test("shutdown drains a worker endpoint's clients as the front's", async (t) => {
  const { node, url } = await startTestNode(t);
  const front = await rawPeer(url);
  const map = helloMap(front);
  const w1 = await rawPeer(`ws://${map.endpoints[1]}`);
  t.equal((await ask(w1, Op.PUT, { ns: 'test', set: 'ep', key: keyIn(0, map), bins: { v: 1 } }))[0], 0);
  const closing = node.close();
  await waitForValue(
    () => w1.responses.find((m) => m[0] === PUSH_ID && (m[2] as { event?: string }).event === 'goaway') ?? null,
    (m) => m !== null,
    {
      what: 'a goaway push on the worker endpoint',
      timeoutMs: 10_000,
      intervalMs: 10,
    },
  );
  t.equal((await ask(w1, Op.PUT, { ns: 'test', set: 'ep', key: 1, bins: { v: 1 } }))[0], Status.PARTITION_UNAVAILABLE, 'new requests are refused, definitely');
  w1.request(77, Op.DRAINED, null);
  t.equal((await w1.waitFor(77))[1], 0, 'DRAINED is answered');
  t.equal((await w1.closed).code, 1001, 'then the connection closes, going away');
  await closing;
  front.ws.close();
});

t.test('with one copy, a worker endpoint applies writes of its own partitions itself, and they survive its crash', async (t) => {
  const { node, url } = await startTestNode(t, (c) => {
    c.namespaces[0].replicationFactor = 1;
    c.supervisor.faultInjection = true;
  });
  const front = await rawPeer(url);
  const map = helloMap(front);
  t.equal(map.replicas[0].length, 0, 'one copy: no replica bytes');
  const w1 = await rawPeer(`ws://${map.endpoints[1]}`);
  type EndpointInfo = { localRequests: number; forwarded: number };
  const counts = () => (node.info() as { endpoints: EndpointInfo[] }).endpoints[1];
  const first = keyIn(1, map);
  const c0 = counts();
  t.equal((await ask(w1, Op.PUT, { ns: 'test', set: 'ep', key: first, bins: { v: 0 } }))[0], 0);
  t.equal(counts().forwarded, c0.forwarded + 1, 'a new set: forwarded, so the primary registers it');
  const keys: number[] = [];
  for (let k = keyIn(1, map, first + 1); keys.length < 30; k = keyIn(1, map, k + 1)) keys.push(k);
  const c1 = counts();
  for (const k of keys) t.equal((await ask(w1, Op.PUT, { ns: 'test', set: 'ep', key: k, bins: { v: k } }))[0], 0);
  t.equal((await ask(w1, Op.REMOVE, { ns: 'test', set: 'ep', key: first }))[0], 0);
  const c2 = counts();
  t.equal(c2.localRequests, c1.localRequests + keys.length + 1, 'puts and a remove of its own partitions served by the worker');
  t.equal(c2.forwarded, c1.forwarded, 'none forwarded');
  t.equal((await ask(w1, Op.PUT, { ns: 'test', set: 'ep', key: keyIn(0, map), bins: { v: 1 } }))[0], 0, "another worker's key");
  t.equal(counts().forwarded, c2.forwarded + 1, 'is forwarded');
  const closed = w1.closed;
  t.equal((await ask(front, Op.FAULT, { worker: 1, kind: 'crash' }))[0], 0);
  await closed;
  // The replacement adopts the store from shared memory: every acknowledged write is there.
  for (const k of keys) {
    const [c, r] = await ask(front, Op.GET, { ns: 'test', set: 'ep', key: k });
    if (c !== 0 || (r as { bins: { v: number } }).bins.v !== k) t.fail(`key ${k}: code ${c}`);
  }
  t.equal((await ask(front, Op.EXISTS, { ns: 'test', set: 'ep', key: first }))[0], Status.KEY_NOT_FOUND, 'the remove held too');
  front.ws.close();
});

t.test("an ephemeral endpoint's new port after a restart is in the map and INFO, under a new version", async (t) => {
  const { node, url } = await startTestNode(t, (c) => {
    c.namespaces[0].replicationFactor = 1; // no failover: only the endpoint can move the map
    c.supervisor.faultInjection = true;
  });
  const front = await rawPeer(url);
  const before = helloMap(front);
  t.equal((await ask(front, Op.FAULT, { worker: 1, kind: 'exit' }))[0], 0);
  const portNow = () => node.info() as { endpoints: { port: number }[] };
  // The map keeps the old port until the new thread reports the one it bound.
  const oldPort = Number(before.endpoints[1]!.split(':')[1]);
  await waitForValue(
    () => node.workers[1],
    (w) => w.restarts >= 1 && w.endpoint !== null && w.endpoint.port !== 0,
    {
      what: 'worker 1 back and listening',
      timeoutMs: 20_000,
      intervalMs: 20,
    },
  );
  const again = await rawPeer(url);
  const after = helloMap(again);
  const newPort = portNow().endpoints[1].port;
  t.equal(after.endpoints[1], `127.0.0.1:${newPort}`, 'the map names the port INFO shows');
  t.equal(after.endpoints[0], before.endpoints[0], "the other worker's is unchanged");
  if (newPort !== oldPort) t.ok(after.version > before.version, 'a new port comes under a newer version');
  else t.equal(after.version, before.version, 'the kernel gave the same port back: the map did not change');
  const w1 = await rawPeer(`ws://${after.endpoints[1]}`);
  t.equal((await ask(w1, Op.PING, null))[0], 0, 'and it answers there');
  for (const p of [front, again, w1]) p.ws.close();
});

t.test('the SDK through the front is unaffected by worker endpoints', async (t) => {
  const { url } = await startTestNode(t);
  const client = await connect({ hosts: new URL(url).host, routing: 'front' });
  t.teardown(() => client.close());
  await client.put(new Key('test', 'ep', 'x'), { v: 1 });
  t.same((await client.get(new Key('test', 'ep', 'x'))).bins, { v: 1 });
});
