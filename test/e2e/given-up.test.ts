// Proves that a crash loop is never an outage for good: a worker given up on is tried again after
// its back-off, or at once with `aerie worker restart` (any worker, up or not), with every
// acknowledged record back; that INFO's record count equals a scan's while a worker is given up
// on; and that a worker running out of heap is reported as out of memory, not hung.
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Key, status } from '../../src/index';
import type { Client } from '../../src/client/index';
import { partitionOf } from '../../src/partition/digest';
import { sleep, startTestNode } from '../helpers/node';
import { workerInfo, workerWhen } from '../helpers/worker-info';
import { waitForValue } from '../helpers/wait';

const run = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');

/** A worker's restarts here include back-offs and rebuilds from its replicas: allow them time. */
const WORKER_WAIT_MS = 30_000;

/** INFO's record count for the namespace, as the workers last published it. */
const infoRecords = async (client: Client) => ((await client.info()).namespaces as { records: number }[])[0].records;

/**
 * Crashes worker 1 until the supervisor gives up on it (crashLoopMax 2); the second time once it
 * masters its partitions again (rebuilt from its replicas), as a worker failing in service does.
 */
async function crashLoop(client: Client, records: number): Promise<void> {
  await client.injectFault({ worker: 1, kind: 'crash' });
  await workerWhen(client, 1, (w) => w.state === 'up' && w.restarts >= 1 && w.partitions > 0, 'came back after the first crash', WORKER_WAIT_MS);
  // Its per-namespace figures are published every 50 ms: the count is whole once they are.
  await waitForValue(
    () => infoRecords(client),
    (n) => n === records,
    { what: `INFO to count ${records} records again` },
  );
  await client.injectFault({ worker: 1, kind: 'crash' });
  await workerWhen(client, 1, (w) => w.state === 'failed', 'given up on', WORKER_WAIT_MS);
}

async function putAll(client: Client, keys: Key[]): Promise<void> {
  await Promise.all(keys.map((k, i) => client.put(k, { i })));
}

async function allThere(client: Client, keys: Key[]): Promise<number> {
  const got = await client.batchGet(keys);
  return got.filter((r, i) => r?.bins.i === i).length;
}

/**
 * A node (crashLoopMax 2, giveUpRetryMs as given) holding `count` records of `set`, whose worker 1
 * has just been given up on.
 */
async function givenUp(t: Test, set: string, count: number, giveUpRetryMs: number, replicationFactor = 2) {
  const node = await startTestNode(t, (c) => {
    c.namespaces[0].replicationFactor = replicationFactor;
    c.supervisor.faultInjection = true;
    c.supervisor.crashLoopMax = 2;
    c.supervisor.giveUpRetryMs = giveUpRetryMs;
  });
  const keys = Array.from({ length: count }, (_, i) => new Key('test', set, i));
  await putAll(node.client, keys);
  await crashLoop(node.client, count);
  return { ...node, keys };
}

t.test('a given-up worker is tried again after its back-off', async (t) => {
  // One copy: its partitions have no other home, only the retry serves them.
  const { client, keys } = await givenUp(t, 'retry', 300, 1500, 1);
  const dead = keys.find((k) => partitionOf(k.digest) % 2 === 1)!;
  await t.rejects(client.put(dead, { i: -1 }), { code: status.PARTITION_UNAVAILABLE, inDoubt: false }, 'unavailable while given up on');
  const back = await workerWhen(client, 1, (w) => w.state === 'up', 'retried', WORKER_WAIT_MS);
  t.equal(back.restarts, 2, 'restarted once more, by the back-off');
  t.equal(await allThere(client, keys), keys.length, 'every acknowledged record is back');
  await client.put(dead, { i: 0 });
});

t.test('aerie worker restart brings back a worker given up on for good, and restarts one that is up', async (t) => {
  const { client, url, keys } = await givenUp(t, 'restart', 300, 0); // never retried by itself
  await sleep(200); // a quiet window: a retry by itself (giveUpRetryMs 0 forbids it) would show
  t.equal((await workerInfo(client, 1)).state, 'failed', 'not retried by itself');
  const r = await client.restartWorker(1);
  t.equal(r.worker, 1);
  t.equal(r.state, 'up', 'answered once up');
  t.equal(r.restarts, 2);
  t.equal(await allThere(client, keys), keys.length, 'every acknowledged record is there');

  const cli = await run(process.execPath, [CLI, 'worker', 'restart', '0', '--host', new URL(url).host]);
  t.match(cli.stdout, /^worker 0: up/, 'the CLI reports the worker up');
  const w0 = await workerInfo(client, 0);
  t.equal(w0.state, 'up');
  t.equal(w0.restarts, 1, 'an operator restart of a worker that was up');
  t.equal(await allThere(client, keys), keys.length, 'and its records are there');
  await t.rejects(client.restartWorker(7), { code: status.PARAMETER }, 'an unknown worker');
  const usage = await run(process.execPath, [CLI, 'worker', 'restart']).catch((e) => e);
  t.equal(usage.code, 2, 'a missing index is a usage error');
});

t.test('INFO counts each record once while a worker is given up on', async (t) => {
  const { client, keys } = await givenUp(t, 'count', 2000, 0);
  // Failover moves the given-up worker's partitions to their replicas; then a scan sees them all.
  const scanCount = async () => {
    let scanned = 0;
    for await (const _ of client.scan('test', 'count')) scanned++;
    return scanned;
  };
  const scanned = await waitForValue(scanCount, (n) => n === keys.length, { what: `a scan to find all ${keys.length} records`, intervalMs: 50 });
  t.equal(scanned, keys.length, 'a scan finds every record');
  // INFO's per-worker figures are published every 50 ms.
  const records = await waitForValue(
    () => infoRecords(client),
    (n) => n === scanned,
    { what: `INFO to count the ${scanned} records the scan found` },
  );
  t.equal(records, scanned, 'INFO records equal the scan');
});

t.test('a worker running out of heap is reported as out of memory', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    c.supervisor.heartbeatTimeoutMs = 1000;
    c.workers.heapMbMax = 512;
  });
  await client.injectFault({ worker: 0, kind: 'oom' });
  const w = await workerWhen(client, 0, (x) => x.state === 'up' && x.restarts === 1, 'restarted', WORKER_WAIT_MS);
  t.match(w.lastFailure ?? '', /memory/, `reported as out of memory: ${w.lastFailure}`);
});
