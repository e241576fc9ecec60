// Proves, through a real node with errors injected at the log's write(), fdatasync and statfs calls
// (the FAULT op's disk kinds, src/storage/storage-faults.ts), that a full or failing device is a
// coded, visible state and never loses an acknowledged write: under the reserve, writes fail
// SERVER_MEM while deletes go on and INFO says why; an ENOSPC write leaves its writes in doubt,
// then refuses cleanly; writes resume by themselves once space returns; an fsync error fails the
// log for good without a crash loop; and after a restart every acknowledged record is served.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AerieError, Key, status } from '../../src/index';
import type { Client } from '../../src/client/index';
import { partitionOf } from '../../src/partition/digest';
import { sleep, startTestNode, type ConfigPatch } from '../helpers/node';
import { waitForValue } from '../helpers/wait';

type NsInfo = { name: string; stopWrites: boolean; disk: { state: string; freeBytes: number; reserveBytes: number; refused: number; reason: string | null } | null };
type WorkerInfo = { state: string; restarts: number };

async function namespaceInfo(client: Client): Promise<NsInfo> {
  return ((await client.info()).namespaces as NsInfo[])[0];
}

/** Polls INFO until the namespace's disk state is `state`, and returns it; fails the test on a timeout. */
const waitDiskState = (client: Client, state: string) =>
  waitForValue(
    () => namespaceInfo(client),
    (ns) => ns.disk?.state === state,
    { what: `disk state ${state}`, timeoutMs: 15_000, intervalMs: 20 },
  );

/** The code a call failed with (0 when it succeeded), and whether it is in doubt. */
async function outcome(p: Promise<unknown>): Promise<{ code: number; inDoubt: boolean; message: string }> {
  try {
    await p;
    return { code: 0, inDoubt: false, message: '' };
  } catch (err) {
    if (!(err instanceof AerieError)) throw err;
    return { code: err.code, inDoubt: err.inDoubt, message: err.message };
  }
}

/** Retries a put until it succeeds (writes resume by themselves); fails the test on a timeout. */
async function putUntilAccepted(client: Client, key: Key, bins: { v: number }): Promise<void> {
  await waitForValue(
    () => outcome(client.put(key, bins)),
    (o) => o.code === 0,
    { what: 'writes to resume', timeoutMs: 15_000, intervalMs: 50 },
  );
}

async function injectAll(client: Client, kind: 'disk-full' | 'disk-low' | 'sync-eio' | 'disk-ok', workers = [0, 1]): Promise<void> {
  for (const worker of workers) await client.injectFault({ worker, kind });
}

function fileNamespace(dataDir: string, replicationFactor: number): ConfigPatch {
  return (c) => {
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = dataDir;
    c.namespaces[0].replicationFactor = replicationFactor;
    c.supervisor.faultInjection = true;
  };
}

/** Every key in `expected` reads back with its value; every key in `gone` is absent. */
async function checkAll(t: Test, client: Client, expected: Map<Key, number>, gone: Key[], what: string): Promise<void> {
  const keys = [...expected.keys()];
  const got = await client.batchGet(keys);
  const wrong = keys.filter((k, i) => got[i]?.bins.v !== expected.get(k));
  t.equal(wrong.length, 0, `${what}: all ${keys.length} acknowledged records read back`);
  const back = (await client.batchGet(gone)).filter((r) => r !== null);
  t.equal(back.length, 0, `${what}: none of the ${gone.length} deleted records is back`);
}

t.test('a device under its reserve, then full, then back: coded refusals, deletes, resume, restart', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-diskfull-')), 'data');
  t.teardown(() => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));
  const patch = fileNamespace(dataDir, 2);
  const { node, client } = await startTestNode(t, patch);
  const expected = new Map<Key, number>();
  const keys = Array.from({ length: 400 }, (_, i) => new Key('test', 'd', i));
  await Promise.all(keys.slice(0, 300).map((k, i) => client.put(k, { v: i })));
  keys.slice(0, 300).forEach((k, i) => expected.set(k, i));
  t.equal((await namespaceInfo(client)).disk?.state, 'ok');

  // 1. Free space under the reserve: stop-writes, coded and explained; deletes and truncates go on.
  await injectAll(client, 'disk-low');
  const low = await waitDiskState(client, 'stop-writes');
  t.equal(low.stopWrites, true, 'INFO: stop-writes');
  t.ok(low.disk!.freeBytes < low.disk!.reserveBytes, 'INFO: free bytes under the reserve');
  t.type(low.disk?.reason, 'string', 'INFO says why');
  const refused = await outcome(client.put(keys[300], { v: 300 }));
  t.equal(refused.code, status.SERVER_MEM, 'a write is refused SERVER_MEM');
  t.equal(refused.inDoubt, false, 'refused before anything was applied: failed, not in doubt');
  t.not(refused.message, 'SERVER_MEM', 'the refusal carries an explanation');
  t.equal(await client.exists(keys[300]), null, 'and nothing was written');
  const gone = keys.slice(0, 20);
  for (const k of gone) {
    await client.remove(k);
    expected.delete(k);
  }
  t.same(await client.truncate('test', 'never-written'), { deleted: 0 }, 'a truncate is logged into the reserve');

  await injectAll(client, 'disk-ok');
  await waitDiskState(client, 'ok');
  await putUntilAccepted(client, keys[300], { v: 300 });
  expected.set(keys[300], 300);

  // 2. A write() fails ENOSPC: the writes of that batch are in doubt, then refused until space returns.
  await injectAll(client, 'disk-full');
  const during = await Promise.all(keys.slice(301, 340).map((k, i) => outcome(client.put(k, { v: 301 + i }))));
  t.equal(during.filter((o) => o.code === 0).length, 0, 'nothing is acknowledged while the log cannot write');
  t.ok(
    during.every((o) => (o.code === status.TIMEOUT && o.inDoubt) || o.code === status.SERVER_MEM),
    `each in doubt or refused: ${JSON.stringify([...new Set(during.map((o) => o.code))])}`,
  );
  const full = await waitDiskState(client, 'full');
  t.ok(full.disk!.refused >= 0, 'refusals are counted');
  const deleteWhileFull = await outcome(client.remove(keys[30]));
  t.equal(deleteWhileFull.code, status.SERVER_MEM, 'a delete cannot be logged on a full device: refused, not lost');
  const workers = (await client.info()).workers as WorkerInfo[];
  t.same(
    workers.map((w) => [w.state, w.restarts]),
    [
      ['up', 0],
      ['up', 0],
    ],
    'no worker crashed',
  );

  // 3. Space back: writes resume by themselves, no restart.
  await injectAll(client, 'disk-ok');
  await waitDiskState(client, 'ok');
  await putUntilAccepted(client, keys[340], { v: 340 });
  expected.set(keys[340], 340);
  // The in-doubt writes waited in the log's buffer and were written once space returned.
  const inDoubt = keys.slice(301, 340).filter((_, i) => during[i].code === status.TIMEOUT);
  for (const k of inDoubt) {
    const r = await client.get(k).catch(() => null);
    if (r !== null) expected.set(k, r.bins.v as number);
  }
  await checkAll(t, client, expected, gone, 'after the device filled and emptied');

  // 4. A restart serves every acknowledged record, and takes writes.
  await node.close();
  const again = await startTestNode(t, patch);
  await checkAll(t, again.client, expected, gone, 'after a restart');
  await again.client.put(keys[399], { v: 399 });
  t.same(
    ((await again.client.info()).workers as WorkerInfo[]).map((w) => w.restarts),
    [0, 0],
    'no worker restarted',
  );
});

t.test('free space is read from the real device: far under the reserve, writes and deletes stop from the start', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-diskreserve-')), 'data');
  t.teardown(() => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));
  // A reserve far above any machine's free space: the real free bytes are under its delete floor.
  const { client } = await startTestNode(t, (c) => {
    fileNamespace(dataDir, 2)(c);
    c.namespaces[0].diskMinFreeBytes = 2 ** 50;
  });
  const ns = await waitDiskState(client, 'full');
  t.ok(ns.disk!.freeBytes > 0 && ns.disk!.freeBytes < ns.disk!.reserveBytes, "INFO: the device's free bytes, under the reserve");
  t.equal(ns.disk!.reserveBytes, 2 ** 50);
  t.equal(ns.stopWrites, true);
  t.equal((await outcome(client.put(new Key('test', 's', 1), { v: 1 }))).code, status.SERVER_MEM, 'writes refused');
  t.equal((await outcome(client.truncate('test', 's'))).code, status.SERVER_MEM, 'under the delete floor, truncates are refused too');
  const workers = (await client.info()).workers as WorkerInfo[];
  t.same(
    workers.map((w) => w.state),
    ['up', 'up'],
    'and the node serves',
  );
});

t.test('an fsync error fails the log for good: in doubt, then SERVER_ERROR, no crash loop, all acknowledged back after restart', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-diskeio-')), 'data');
  t.teardown(() => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));
  const patch = fileNamespace(dataDir, 1);
  const { node, client } = await startTestNode(t, patch);
  const keys = Array.from({ length: 200 }, (_, i) => new Key('test', 'e', i));
  const onZero = keys.filter((k) => partitionOf(k.digest) % 2 === 0);
  const expected = new Map<Key, number>();
  await Promise.all(keys.map((k, i) => client.put(k, { v: i })));
  keys.forEach((k, i) => expected.set(k, i));

  await injectAll(client, 'sync-eio', [0]);
  const first = await outcome(client.put(onZero[0], { v: -1 }));
  t.equal(first.code, status.TIMEOUT, 'the write whose fdatasync failed is in doubt');
  t.equal(first.inDoubt, true);
  const ns = await waitDiskState(client, 'failed');
  t.equal(ns.stopWrites, true);
  t.equal((await outcome(client.put(onZero[1], { v: -1 }))).code, status.SERVER_ERROR, 'later writes refused');
  t.equal((await outcome(client.remove(onZero[1]))).code, status.SERVER_ERROR, 'so are deletes');
  await injectAll(client, 'disk-ok', [0]);
  await sleep(600); // more than a free-space check interval: a failed log stays failed
  t.equal((await namespaceInfo(client)).disk?.state, 'failed', 'an fsync error is never retried');
  const workers = (await client.info()).workers as WorkerInfo[];
  t.same(
    workers.map((w) => [w.state, w.restarts]),
    [
      ['up', 0],
      ['up', 0],
    ],
    'no crash, no restart',
  );

  await node.close();
  const again = await startTestNode(t, patch);
  const r = await again.client.get(onZero[0]);
  t.ok(r.bins.v === -1 || r.bins.v === expected.get(onZero[0]), 'the in-doubt write is either there or not');
  expected.delete(onZero[0]);
  await checkAll(t, again.client, expected, [], 'after a restart');
  await again.client.put(onZero[1], { v: 'after' });
  t.equal((await namespaceInfo(again.client)).disk?.state, 'ok', 'a restarted node writes again');
});

t.test('a write whose own roll-over meets an fsync error is in doubt, never failed', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-diskroll-')), 'data');
  t.teardown(() => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));
  const patch: ConfigPatch = (c) => {
    fileNamespace(dataDir, 1)(c);
    // Two records never share a segment: the second put's append rolls over, syncing the first.
    c.namespaces[0].recordBytesMax = 3000;
    c.namespaces[0].segmentBytes = 4096;
  };
  const { node, client } = await startTestNode(t, patch);
  const onZero = Array.from({ length: 50 }, (_, i) => new Key('test', 'r', i)).filter((k) => partitionOf(k.digest) % 2 === 0);
  const big = 'y'.repeat(2500);
  await client.put(onZero[0], { v: 0, big });
  await injectAll(client, 'sync-eio', [0]);
  const second = await outcome(client.put(onZero[1], { v: 1, big }));
  t.equal(second.code, status.TIMEOUT, 'applied in memory, then its log failed: in doubt');
  t.equal(second.inDoubt, true);
  await waitDiskState(client, 'failed');
  await node.close();
  const again = await startTestNode(t, patch);
  t.equal((await again.client.get(onZero[0])).bins.v, 0, 'the acknowledged write is back after a restart');
});
