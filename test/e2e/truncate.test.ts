// Proves truncate through a real node: a set or a whole namespace is emptied on every worker, a
// cut-off keeps records updated after it, bad requests get their codes, a file namespace replays
// the truncate at a cold start (twice, with writes after it kept), and a worker failing with the
// truncate in flight makes the answer in doubt rather than failed.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key, status } from '../../src/index';
import type { Client } from '../../src/client/index';
import { rawPeer } from '../helpers/raw';
import { sleep, startTestNode, waitStable } from '../helpers/node';

const keys = (set: string | null, n: number, from = 0) => Array.from({ length: n }, (_, i) => new Key('test', set, `${set}-${from + i}`));
const putAll = (client: Client, ks: Key[], v: number) => Promise.all(ks.map((k) => client.put(k, { v })));
const present = async (client: Client, ks: Key[]) => (await client.batchGet(ks)).filter((r) => r !== null).length;

t.test('truncate a set, with a cut-off, then the namespace', async (t) => {
  const { client } = await startTestNode(t);
  const a = keys('a', 300);
  const b = keys('b', 200);
  const none = keys(null, 50);
  await putAll(client, [...a, ...b, ...none], 1);

  t.same(await client.truncate('test', 'a'), { deleted: 300 }, 'every record of the set, on both workers');
  t.equal(await present(client, a), 0);
  t.equal(await present(client, b), 200, 'other sets untouched');
  t.equal(await present(client, none), 50, 'records without a set untouched');
  await client.put(a[0], { v: 2 });
  t.same((await client.get(a[0])).bins, { v: 2 }, 'the set takes writes again');

  const c = keys('c', 100);
  await putAll(client, c, 1);
  const cutoff = Date.now();
  await sleep(5);
  await putAll(client, c.slice(0, 20), 2); // updated after the cut-off: kept
  const later = keys('c', 50, 100);
  await putAll(client, later, 2);
  t.same(await client.truncate('test', 'c', { beforeMs: cutoff }), { deleted: 80 }, 'only records last updated by the cut-off');
  t.equal(await present(client, c.slice(20)), 0);
  t.equal(await present(client, [...c.slice(0, 20), ...later]), 70);

  t.same(await client.truncate('test', 'never-written'), { deleted: 0 }, 'a set nobody wrote holds nothing');
  const all = await client.truncate('test');
  t.equal(all.deleted, 1 + 200 + 50 + 70, 'the namespace: every set and no set');
  let scanned = 0;
  for await (const _ of client.scan('test')) scanned++;
  t.equal(scanned, 0, 'a scan finds nothing');
});

t.test('bad truncate requests get their codes and change nothing', async (t) => {
  const { client, url } = await startTestNode(t);
  const k = new Key('test', 's', 1);
  await client.put(k, { v: 1 });
  await t.rejects(client.truncate('nope'), { code: status.INVALID_NAMESPACE });
  await t.rejects(client.truncate('test', 's', { beforeMs: Date.now() + 60_000 }), { code: status.PARAMETER }, 'a cut-off in the future');
  await t.rejects(client.truncate('test', 's', { beforeMs: -1 }), { code: status.PARAMETER }, 'refused by the SDK');
  const raw = await rawPeer(url);
  raw.request(1, 16, { ns: 'test', set: 's', beforeMs: 'yesterday' });
  t.equal((await raw.waitFor(1))[1], status.PARAMETER, 'a cut-off of the wrong type');
  raw.request(2, 16, { ns: 'test', set: 's', befor: 1 });
  t.equal((await raw.waitFor(2))[1], status.PARAMETER, 'a misspelt field fails on every worker');
  raw.request(3, 16, { ns: 'test', set: 7 });
  t.equal((await raw.waitFor(3))[1], status.PARAMETER, 'a set that is not a string');
  raw.ws.close();
  t.same((await client.get(k)).bins, { v: 1 }, 'nothing was deleted');
});

t.test('a file namespace replays the truncate at every cold start', async (t) => {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'aerie-truncate-')), 'data');
  const fileNs = (c: import('../../src/config').NodeConfig) => {
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = dataDir;
  };
  const gone = keys('gone', 200);
  const kept = keys('kept', 100);
  const after = keys('gone', 10, 1000);
  {
    const { node, client } = await startTestNode(t, fileNs);
    await putAll(client, [...gone, ...kept], 1);
    t.same(await client.truncate('test', 'gone'), { deleted: 200 });
    await putAll(client, after, 2); // written after the truncate: replay must keep them
    await client.close();
    await node.close();
  }
  for (const start of ['first', 'second']) {
    const { node, client } = await startTestNode(t, fileNs);
    t.equal(await present(client, gone), 0, `${start} restart: truncated records stay deleted`);
    t.equal(await present(client, kept), 100, `${start} restart: the other set is intact`);
    t.same(
      (await client.batchGet(after)).map((r) => r?.bins.v),
      after.map(() => 2),
      `${start} restart: later writes kept`,
    );
    await client.close();
    await node.close();
  }
});

t.test('a worker failing with the truncate in flight makes it in doubt', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    // One copy: the dead worker's partitions wait for it, so what it did not truncate shows.
    c.namespaces[0].replicationFactor = 1;
    c.supervisor.faultInjection = true;
    c.supervisor.heartbeatTimeoutMs = 300;
    c.supervisor.crashLoopMax = 100;
  });
  await putAll(client, keys('d', 100), 1);
  await client.injectFault({ worker: 1, kind: 'hang' }); // answered, then the thread spins
  const err = await client.truncate('test', 'd').then(
    () => null,
    (e: { code: number; inDoubt: boolean }) => e,
  );
  t.ok(err !== null, 'not reported as done');
  t.equal(err?.code, status.TIMEOUT, 'one worker applied it, the other died with it: timeout');
  t.equal(err?.inDoubt, true, 'in doubt, never a plain failure');
  await waitStable(client, 600);
  const left = await present(client, keys('d', 100));
  t.ok(left > 0 && left < 100, `worker 0's part is gone, worker 1's is still there (${left} left)`);
  t.same(await client.truncate('test', 'd'), { deleted: left }, 'truncating again finishes the job');
});
