// Proves a client that never reads its socket cannot grow the node's memory past its answer budget:
// three such clients each send 1,200 GETs of a 1 MB record, the node's RSS (a separate process)
// stays within a bound, and a well-behaved SDK client meanwhile gets every answer; and that
// enough such clients to fill the node-wide budget are closed rather than stall everyone else.
import t from 'tap';
import * as fs from 'node:fs';
import WebSocket from 'ws';
import { pack } from 'msgpackr';
import { connect, Key } from '../../src/index';
import { memoryNodeConfig, rssOf, startCliNode } from '../helpers/cli-node';
import { sleep, startTestNode } from '../helpers/node';

const RECORD_BYTES = 1_000_000;
const ATTACKERS = 3;
const FRAMES_PER_ATTACKER = 4;
const GETS_PER_FRAME = 300;
/**
 * RSS growth allowed over the idle node: three connections at their 64 MiB answer budget, a
 * 16 MiB frame being copied for each, the SDK client's own answers in flight (100 MB), and
 * allocator slack. Without the budget one attacker alone took the node from 90 to 944 MiB.
 */
const RSS_GROWTH_BYTES_MAX = 512 * 1024 * 1024;

/** A client that says HELLO, then stops reading its socket and sends GETs of `key`. */
async function attacker(url: string, key: string, frames = FRAMES_PER_ATTACKER): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  const helloAnswered = new Promise<void>((resolve) => ws.once('message', () => resolve()));
  ws.send(pack([[0, 1, { protocol: 1 }]]));
  await helloAnswered;
  ws.pause(); // never reads again: the node's answers pile up in its socket
  for (let f = 0; f < frames; f++) {
    ws.send(pack(Array.from({ length: GETS_PER_FRAME }, (_, i) => [1 + f * GETS_PER_FRAME + i, 3, { ns: 'test', set: 's', key }])));
  }
  return ws;
}

t.test('slow readers are held to their answer budget', async (t) => {
  // What is measured here is memory, on a machine other suites load: a healthy worker copying
  // megabytes of answers can miss the default 500 ms heartbeat there (test/helpers/node.ts).
  const config = memoryNodeConfig('slow-reader');
  const parsed = JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(config, JSON.stringify({ ...parsed, supervisor: { heartbeatTimeoutMs: 5000 } }));
  const { child, host } = await startCliNode(config);
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const client = await connect({ hosts: host, timeoutMs: 30_000 });
  t.teardown(() => client.close());
  const key = new Key('test', 's', 'big');
  await client.put(key, { b: Buffer.alloc(RECORD_BYTES, 5) });
  await client.get(key);
  const idleRss = rssOf(child.pid!);

  const attackers: WebSocket[] = [];
  for (let a = 0; a < ATTACKERS; a++) attackers.push(await attacker(`ws://${host}`, 'big'));
  t.teardown(() => attackers.forEach((ws) => ws.terminate()));

  // The SDK client reads the same record meanwhile, 100 at a time, and samples the node's RSS.
  let peakRss = rssOf(child.pid!);
  let answered = 0;
  for (let round = 0; round < 5; round++) {
    const records = await Promise.all(Array.from({ length: 100 }, () => client.get(key)));
    answered += records.filter((r) => (r.bins.b as Buffer).length === RECORD_BYTES).length;
    peakRss = Math.max(peakRss, rssOf(child.pid!));
  }
  // Let the node go as far as it will with the attackers' requests, sampling as it does.
  for (let i = 0; i < 20; i++) {
    await sleep(50);
    peakRss = Math.max(peakRss, rssOf(child.pid!));
  }
  const info = await client.info();
  const growth = peakRss - idleRss;
  t.comment(
    `idle RSS ${(idleRss / 2 ** 20).toFixed(0)} MiB, peak ${(peakRss / 2 ** 20).toFixed(0)} MiB under ${ATTACKERS} readers that never read (${ATTACKERS * FRAMES_PER_ATTACKER * GETS_PER_FRAME} GETs of ${RECORD_BYTES} bytes)`,
  );
  t.equal(answered, 500, 'the SDK client got all 500 answers');
  t.ok(growth < RSS_GROWTH_BYTES_MAX, `RSS grew ${(growth / 2 ** 20).toFixed(0)} MiB, under ${RSS_GROWTH_BYTES_MAX / 2 ** 20} MiB`);
  t.equal((info.connections as { open: number }).open, ATTACKERS + 1, 'the attackers are held, not dropped');
  const budget = info.answerBytes as { used: number; perConnectionMax: number };
  t.ok(budget.used <= (ATTACKERS + 1) * budget.perConnectionMax, `answer bytes held: ${(budget.used / 2 ** 20).toFixed(0)} MiB, within ${ATTACKERS + 1} connections' budgets`);
  const workers = info.workers as { restarts: number; lastFailure: string | null }[];
  t.same(
    workers.map((w) => [w.restarts, w.lastFailure]),
    workers.map(() => [0, null]),
    'no worker restarted (else: why it died)',
  );
});

t.test('clients that do not read are closed when they hold the node-wide budget', async (t) => {
  const { client, url } = await startTestNode(t, (c) => {
    c.service.sendBufferBytesMax = 16 * 1024 * 1024;
    c.service.answerBytesMax = 40 * 1024 * 1024;
  });
  const key = new Key('test', 's', 'big');
  await client.put(key, { b: Buffer.alloc(RECORD_BYTES, 5) });
  const attackers: WebSocket[] = [];
  for (let a = 0; a < 4; a++) {
    attackers.push(await attacker(url, 'big', 1));
  }
  t.teardown(() => attackers.forEach((ws) => ws.terminate()));
  // Four connections at 16 MiB each would hold more than the node's 40 MiB: the SDK client's
  // reads wait until the readers that do not read are closed.
  const records = await Promise.all(Array.from({ length: 50 }, () => client.get(key)));
  t.equal(records.filter((r) => (r.bins.b as Buffer).length === RECORD_BYTES).length, 50, 'the SDK client got all 50 answers');
  // A client that does not read does not see its close frame either: the node's count tells.
  const info = await client.info();
  const { evictions, used, max } = info.answerBytes as { evictions: number; used: number; max: number };
  t.ok(evictions >= 1, `${evictions} readers that do not read were closed`);
  t.equal((info.connections as { closed: number }).closed, evictions, 'and no other connection');
  t.ok(used <= max, `answer bytes ${used} within the node's ${max}`);
});
