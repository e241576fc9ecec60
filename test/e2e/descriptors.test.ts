// Proves a node under `ulimit -n 1024` survives 1,000 slow-loris sockets (a partial HTTP upgrade,
// a byte every few seconds) while a worker is crashed and restarted: no worker fails for want of
// a descriptor, a client connected before keeps being served, and nothing acknowledged is lost;
// and that sockets are capped and timed out before and after their upgrade.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect, Key, type Client } from '../../src/index';
import { startCliNode } from '../helpers/cli-node';
import WebSocket from 'ws';
import { startTestNode } from '../helpers/node';
import { waitFor, waitForValue } from '../helpers/wait';

const DESCRIPTORS_MAX = 1024;
const SLOW_SOCKETS = 1000;
/** Each slow socket gives up by itself after this long, whatever the node does. */
const SLOW_SOCKET_LIFE_MS = 40_000;
const SLOW_BYTE_INTERVAL_MS = 2000;
const WAIT_MS = 60_000;

/** Opens a socket that starts an HTTP upgrade and never finishes it. Resolves when it is connected or refused. */
function slowSocket(port: number, sockets: Set<Socket>, closedByNode: { count: number }): Promise<void> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    sockets.add(socket);
    let mine = false;
    const drip = setInterval(() => socket.write('x'), SLOW_BYTE_INTERVAL_MS);
    const life = setTimeout(() => {
      mine = true;
      socket.destroy();
    }, SLOW_SOCKET_LIFE_MS);
    socket.on('connect', () => {
      socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Slow: ');
      resolve();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(drip);
      clearTimeout(life);
      sockets.delete(socket);
      if (!mine) closedByNode.count++;
      resolve();
    });
  });
}

type WorkerInfo = { index: number; state: string; restarts: number };

t.test('1,000 slow sockets under ulimit -n 1024 while a worker restarts', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-fds-'));
  const config = path.join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      service: { port: 0 },
      workers: { count: 2 },
      supervisor: { faultInjection: true, heartbeatTimeoutMs: 5000 },
      namespaces: [{ name: 'test', storage: 'memory' }],
      log: { level: 'warn' },
    }),
  );
  let stderr = '';
  const { child, host, exited } = await startCliNode(config, { descriptorsMax: DESCRIPTORS_MAX, stderr: (s) => (stderr += s) });
  const sockets = new Set<Socket>();
  let probe: Client | null = null;
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await probe?.close();
    child.kill('SIGKILL');
    await exited;
  });
  probe = await connect({ hosts: host, timeoutMs: 20_000 });
  const acknowledged: Key[] = [];
  for (let i = 0; i < 500; i++) {
    const key = new Key('test', 'fds', `before-${i}`);
    await probe.put(key, { i });
    acknowledged.push(key);
  }

  const port = Number(host.split(':')[1]);
  const closedByNode = { count: 0 };
  // Opened in bounded batches, so the listen backlog is never what refuses them.
  for (let i = 0; i < SLOW_SOCKETS; i += 50) {
    await Promise.all(Array.from({ length: 50 }, () => slowSocket(port, sockets, closedByNode)));
  }

  // A worker dies in the middle of the attack: its restart needs descriptors (its thread, its file).
  await probe.injectFault({ worker: 1, kind: 'crash' });
  const workersNow = async () => (await probe!.info()).workers as WorkerInfo[];
  await waitForValue(workersNow, (ws) => ws[1].restarts >= 1 && ws.every((w) => w.state === 'up'), { what: 'worker 1 to restart', timeoutMs: WAIT_MS, intervalMs: 100 });
  for (let i = 0; i < 500; i++) {
    const key = new Key('test', 'fds', `during-${i}`);
    await probe.put(key, { i });
    acknowledged.push(key);
  }
  await probe.ping();

  // Sockets that never finish the upgrade are the node's to drop, long before they give up.
  await waitFor(() => sockets.size === 0, { what: 'the node to drop every slow socket', timeoutMs: WAIT_MS, intervalMs: 100 });
  t.ok(closedByNode.count >= SLOW_SOCKETS - 10, `the node closed ${closedByNode.count} of ${SLOW_SOCKETS} slow sockets itself`);

  const info = await probe.info();
  const workers = info.workers as WorkerInfo[];
  t.same(
    workers.map((w) => w.state),
    ['up', 'up'],
    'every worker is up',
  );
  t.same(
    workers.map((w) => w.restarts),
    [0, 1],
    'one restart, the drill: no worker failed for want of a descriptor',
  );
  const found = await probe.batchGet(acknowledged);
  t.equal(found.filter((r) => r === null).length, 0, `all ${acknowledged.length} acknowledged records are there`);
  t.notMatch(stderr, /EMFILE/, 'no descriptor ran out');
  const descriptors = info.descriptors as { limit: number; socketsMax: number } | undefined;
  t.comment(`descriptors: ${JSON.stringify(descriptors)}`);
  t.ok(descriptors !== undefined && descriptors.limit === DESCRIPTORS_MAX && descriptors.socketsMax < DESCRIPTORS_MAX, 'INFO shows the limit and the sockets it allows');
});

t.test('sockets are capped from their first byte; a session without HELLO is closed', async (t) => {
  const { client, url, node } = await startTestNode(t, (c) => {
    c.service.connectionsMax = 6;
    c.service.handshakeTimeoutMs = 2000;
    c.service.helloTimeoutMs = 300;
  });
  const port = node.address.port;
  const sockets = new Set<Socket>();
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  const closedByNode = { count: 0 };
  // The SDK client holds three sockets (the front and each worker's endpoint): three more fit,
  // the other five are destroyed on arrival.
  for (let i = 0; i < 8; i++) await slowSocket(port, sockets, closedByNode);
  await waitFor(() => sockets.size === 0, { what: 'the node to drop every slow socket', timeoutMs: WAIT_MS, intervalMs: 100 });
  const counts = ((await client.info()).descriptors as { sockets: { refused: number; handshakeTimeouts: number; open: number } }).sockets;
  t.equal(counts.refused, 5, 'past the cap, destroyed at once');
  t.equal(counts.handshakeTimeouts, 3, 'the others, once their upgrade took too long');
  t.equal(counts.open, 1, 'the client is the one socket left');

  const ws = new WebSocket(url);
  const closeCode = await new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  t.equal(closeCode, 1008, 'upgraded but silent: closed for want of HELLO');
  await client.ping();
});
