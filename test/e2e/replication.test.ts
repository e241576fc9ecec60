// Replica workers (docs/replication.md): every partition has a master and replicas on other
// workers; a write is answered once its replicas hold it; a dead master's partitions are promoted
// at once; a restarted worker takes back its journal or is copied; a partition with no copy left
// is unavailable, never wrong; a file namespace's cold start never serves a copy that fell behind.
// The failover runs with a client routing by partition (the SDK's default) and with one sending
// everything through the front.
import t from 'tap';
import type { Test } from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect, Key, status, type Client, type Routing } from '../../src/index';
import { holderOf } from '../../src/partition/map';
import { partitionOf } from '../../src/partition/digest';
import { sleep, startTestNode, waitStable } from '../helpers/node';
import { compareCopies, waitInSync } from '../helpers/replicas';
import { waitFor, waitForValue } from '../helpers/wait';

interface WorkerInfo {
  state: string;
  restarts: number;
  roles: { master: number; replica: number; outOfSync: number };
  lastRebuild: { partitions: number; records: number } | null;
  rebuilds: { count: number; records: number };
}
const workersOf = async (c: Client) => (await c.info()).workers as WorkerInfo[];

/** Waits for the workers' INFO entries to satisfy `pred`, and returns them; fails the test on a timeout. */
const workersWhen = (c: Client, pred: (ws: WorkerInfo[]) => boolean, what: string) => waitForValue(() => workersOf(c), pred, { what });

const keys = (set: string, n: number) => Array.from({ length: n }, (_, i) => new Key('test', set, i));
const masterOf = (k: Key, n: number) => holderOf(partitionOf(k.digest), n, 0);

t.test('every partition has a master and a replica; the copies are identical', async (t) => {
  const { node, client } = await startTestNode(t, (c) => {
    c.workers.count = 3;
  });
  const ks = keys('r', 3000);
  await Promise.all(ks.map((k, i) => client.put(k, { i })));
  await Promise.all(ks.slice(0, 500).map((k) => client.remove(k)));
  await Promise.all(ks.slice(500, 1000).map((k) => client.touch(k)));
  t.ok(await waitInSync(client), 'in sync');
  const { problems, records } = compareCopies(node);
  t.same(problems.slice(0, 5), [], 'each record is on both its holders, at the same generation');
  t.equal(records, 2500, 'deletes reached the replicas too');
  const ws = await workersOf(client);
  for (const w of ws) {
    t.ok(w.roles.master >= 1365 && w.roles.master <= 1366, `worker masters a third (${w.roles.master})`);
    t.ok(Math.abs(w.roles.replica - w.roles.master) <= 1, `and about as many as replica (${w.roles.replica})`);
  }
  // INFO's counts are published by the workers a little after the writes.
  type NsInfo = { records: number; copies: number; replicationFactor: number };
  const ns = await waitForValue(
    async () => (await client.info()).namespaces as NsInfo[],
    (n) => n[0].records === 2500 && n[0].copies === 5000,
    { what: 'INFO to count 2500 records and 5000 copies', timeoutMs: 5000, intervalMs: 60 },
  );
  t.same([ns[0].replicationFactor, ns[0].records, ns[0].copies], [2, 2500, 5000], 'INFO counts each record once, and its copies');
});

t.test('the replication factor is capped at the workers', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.namespaces[0].replicationFactor = 4;
  });
  const ns = (await client.info()).namespaces as { replicationFactor: number }[];
  t.equal(ns[0].replicationFactor, 2);
});

t.test('a dead master fails over at once, and its replacement copies only what it mastered (partition-routed client)', (t) => failover(t, 'partition'));
t.test('a dead master fails over at once, and its replacement copies only what it mastered (front client)', (t) => failover(t, 'front'));

async function failover(t: Test, routing: Routing): Promise<void> {
  const {
    node,
    client: helperClient,
    url,
  } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
  });
  const client = routing === 'partition' ? helperClient : await connect({ hosts: new URL(url).host, timeoutMs: 10_000, routing });
  t.teardown(() => client.close());
  const ks = keys('f', 2000);
  await Promise.all(ks.map((k, i) => client.put(k, { i })));
  // Writes go on while worker 1 dies; every acknowledged one must survive.
  let running = true;
  const acked = new Map<number, number>();
  const doubt = new Map<number, number[]>();
  const writer = (async () => {
    for (let round = 1; running; round++) {
      await Promise.all(
        ks.slice(0, 200).map(async (k, i) => {
          try {
            await client.put(k, { i: round * 10_000 + i });
            acked.set(i, round * 10_000 + i);
          } catch (e) {
            if ((e as { inDoubt?: boolean }).inDoubt) doubt.set(i, [...(doubt.get(i) ?? []), round * 10_000 + i]);
          }
        }),
      );
    }
  })();
  await sleep(100);
  const faultAt = Date.now();
  await client.injectFault({ worker: 1, kind: 'crash' });
  const onDead = ks.find((k) => masterOf(k, 2) === 1)!;
  // The first successful read of a partition that worker 1 mastered, after the fault.
  await waitFor(async () => (await client.get(onDead), true), { what: 'a read of a partition worker 1 mastered to be served', intervalMs: 1 });
  t.comment(`first read served on a failed-over partition ${Date.now() - faultAt} ms after the fault`);
  const ws = await workersWhen(client, (w) => w[1].state === 'up' && w[1].lastRebuild !== null, 'worker 1 up and rebuilt');
  running = false;
  await writer;
  t.ok(await waitInSync(client), 'in sync again');
  t.equal(ws[1].lastRebuild?.partitions, 2048, 'it copied the partitions it mastered; its replica partitions came back from their journal');
  t.same(ws[1].rebuilds, { count: 1, records: ws[1].lastRebuild?.records }, 'one rebuild counted, with its records');
  t.same(ws[0].rebuilds, { count: 0, records: 0 }, 'worker 0 was never rebuilt');
  const got = await client.batchGet(ks);
  for (let i = 0; i < 200; i++) {
    const v = got[i]?.bins.i;
    const allowed = [acked.get(i), ...(doubt.get(i) ?? [])];
    if (!allowed.includes(v as number)) t.fail(`key ${i}: ${String(v)}, acknowledged ${acked.get(i)}, in doubt ${JSON.stringify(doubt.get(i) ?? [])}`);
  }
  t.same(
    got.slice(200).map((r) => r?.bins.i),
    ks.slice(200).map((_, i) => i + 200),
    'untouched records all there',
  );
  t.same(compareCopies(node).problems.slice(0, 5), [], 'copies identical after the rebuild');
  const roles = (await workersOf(client)).map((w) => w.roles.master);
  t.same(roles, [2048, 2048], 'each worker masters its own partitions again');
}

t.test('memory that cannot be adopted is copied whole from the other holders', async (t) => {
  const { node, client } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    c.supervisor.crashLoopMax = 10;
    c.supervisor.restartDelayMsMin = 10;
    c.supervisor.restartDelayMsMax = 20;
  });
  const ks = keys('m', 1000);
  await Promise.all(ks.map((k, i) => client.put(k, { i })));
  new Int32Array(node.workers[1].stores[0].indexSab!)[0] ^= 0x5a5a; // its index header, damaged
  await client.injectFault({ worker: 1, kind: 'exit' });
  const ws = await workersWhen(client, (w) => w[1].state === 'up' && w[1].restarts >= 2 && w[1].lastRebuild !== null, 'worker 1 up after two restarts and rebuilt');
  t.equal(ws[1].restarts, 2, 'one replacement died adopting; the next started empty');
  t.equal(ws[1].lastRebuild?.partitions, 4096, 'and was copied every partition it holds');
  t.ok(await waitInSync(client), 'in sync');
  t.same(
    (await client.batchGet(ks)).map((r) => r?.bins.i),
    ks.map((_, i) => i),
    'every record served',
  );
  t.same(compareCopies(node).problems.slice(0, 5), [], 'copies identical');
});

t.test('a partition whose every copy is down is unavailable; the others are served', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.workers.count = 3;
    c.supervisor.faultInjection = true;
    c.supervisor.crashLoopMax = 1; // given up on at the first failure
  });
  const ks = keys('u', 600);
  await Promise.all(ks.map((k, i) => client.put(k, { i })));
  await client.injectFault({ worker: 0, kind: 'crash' });
  await workersWhen(client, (w) => w[0].state === 'failed', 'worker 0 given up on');
  await t.resolves(client.get(ks.find((k) => masterOf(k, 3) === 0)!), 'one copy down: served by its replica');
  await client.injectFault({ worker: 1, kind: 'crash' });
  await workersWhen(client, (w) => w[1].state === 'failed', 'worker 1 given up on');
  const holders = (k: Key) => [0, 1].map((j) => holderOf(partitionOf(k.digest), 3, j));
  const lost = ks.filter((k) => holders(k).every((w) => w !== 2));
  const kept = ks.filter((k) => holders(k).includes(2));
  t.ok(lost.length > 0 && kept.length > 0);
  await t.rejects(client.get(lost[0], undefined, { maxRetries: 0 }), { code: status.PARTITION_UNAVAILABLE }, 'no copy left: unavailable, not empty');
  await t.rejects(client.put(lost[0], { i: -1 }), { code: status.PARTITION_UNAVAILABLE, inDoubt: false }, 'a write there is refused, not in doubt');
  const got = await client.batchGet(kept);
  t.same(
    got.map((r) => r?.bins.i),
    kept.map((k) => ks.indexOf(k)),
    'every partition with a copy on the survivor is served',
  );
  await t.resolves(client.put(kept[0], { i: 'new' }), 'and takes writes');
});

t.test('commit level master answers before the replica holds the write; all waits for it', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    c.supervisor.heartbeatTimeoutMs = 2000;
  });
  const onZero = keys('c', 100).filter((k) => masterOf(k, 2) === 0);
  await client.injectFault({ worker: 1, kind: 'stall' }); // the replica stops applying
  let allDone = false;
  const all = client.put(onZero[0], { v: 'all' }, undefined, { commitLevel: 'all' }).then((r) => {
    allDone = true;
    return r;
  });
  await client.put(onZero[1], { v: 'master' }, undefined, { commitLevel: 'master' });
  t.equal(allDone, false, 'the master-level write is answered while the all-level one waits for the stalled replica');
  await t.resolves(all, 'once the replica is declared hung, the write is answered: its master holds it');
  await waitStable(client, 300);
  t.ok(await waitInSync(client), 'the replica is rebuilt');
  t.same((await client.get(onZero[0])).bins, { v: 'all' });
  t.same((await client.get(onZero[1])).bins, { v: 'master' });
  await t.rejects(client.put(onZero[2], { v: 1 }, undefined, { commitLevel: 'some' as never }), { code: status.PARAMETER });
});

t.test('a worker given up on leaves every partition served by the survivors', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    c.supervisor.crashLoopMax = 1;
  });
  const ks = keys('g', 400);
  await Promise.all(ks.map((k, i) => client.put(k, { i })));
  await client.injectFault({ worker: 1, kind: 'crash' });
  await workersWhen(client, (w) => w[1].state === 'failed', 'worker 1 given up on');
  t.same(
    (await client.batchGet(ks)).map((r) => r?.bins.i),
    ks.map((_, i) => i),
    'all read',
  );
  await Promise.all(ks.map((k, i) => client.put(k, { i: i + 1 })));
  t.same(
    (await client.batchGet(ks)).map((r) => r?.bins.i),
    ks.map((_, i) => i + 1),
    'all written',
  );
  t.same(await client.truncate('test', 'g'), { deleted: 400 }, 'a truncate goes ahead without it');
});

t.test('a file namespace never cold-starts on a copy that fell behind', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-replicas-')), 'data');
  t.teardown(() => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));
  const patch = (c: import('../../src/config').NodeConfig) => {
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = dataDir;
    c.supervisor.faultInjection = true;
    c.supervisor.crashLoopMax = 1;
  };
  const ks = keys('d', 400);
  {
    const tt = t; // the first node lives in a subtest so its teardown runs before the restart
    await tt.test('first life: worker 1 is lost, writes go on', async (t) => {
      const { client } = await startTestNode(t, patch);
      // A cold start copies every replica from its master first: until then a master has no copy to fail over to.
      t.ok(await waitInSync(client), 'replicas copied after the cold start');
      await Promise.all(ks.map((k, i) => client.put(k, { i, life: 1 })));
      await client.injectFault({ worker: 1, kind: 'crash' });
      await workersWhen(client, (w) => w[1].state === 'failed', 'worker 1 given up on');
      await Promise.all(ks.map((k, i) => client.put(k, { i, life: 2 })));
      t.ok(fs.existsSync(path.join(dataDir, 'test', 'replicas.json')), 'the stale copies are on record');
    });
  }
  const { client } = await startTestNode(t, patch);
  const got = await client.batchGet(ks);
  t.same(
    got.map((r) => r?.bins.life),
    ks.map(() => 2),
    "every record at its newest value: worker 1's old copies are not served",
  );
  t.ok(await waitInSync(client), 'worker 1 is rebuilt from worker 0');
  const ws = await workersOf(client);
  t.ok((ws[1].lastRebuild?.partitions ?? 0) === 4096, 'every partition it holds was copied');
  t.same(
    ws.map((w) => w.roles.master),
    [2048, 2048],
    'then it masters its own partitions again',
  );
  t.same(
    (await client.batchGet(ks)).map((r) => r?.bins.life),
    ks.map(() => 2),
  );
});

t.test('a truncate under concurrent writes leaves master and replica identical', async (t) => {
  const { node, client } = await startTestNode(t);
  const ks = keys('t', 400);
  let running = true;
  const writer = (async () => {
    for (let round = 0; running; round++) await Promise.all(ks.map((k, i) => client.put(k, { i, round }).catch(() => undefined)));
  })();
  await sleep(50);
  for (let i = 0; i < 5; i++) {
    await client.truncate('test', 't');
    await sleep(10);
  }
  running = false;
  await writer;
  t.ok(await waitInSync(client), 'in sync');
  const { problems, records } = compareCopies(node);
  t.same(problems.slice(0, 5), [], `each copy of each record the same after the truncates (${records} records)`);
});

t.test('a replica whose channel overflows is restarted and copied afresh', async (t) => {
  const { node, client } = await startTestNode(t, (c) => {
    c.workers.replicationChannelBytes = 64 * 1024;
    c.namespaces[0].recordBytesMax = 16 * 1024;
    c.supervisor.faultInjection = true;
    c.supervisor.heartbeatTimeoutMs = 3000;
  });
  const ks = keys('o', 400);
  await Promise.all(ks.map((k, i) => client.put(k, { i })));
  const onZero = ks.filter((k) => masterOf(k, 2) === 0);
  await client.injectFault({ worker: 1, kind: 'stall' }); // the replica stops reading its channel
  // Commit level master: answered without the stalled replica, while its channel fills past 64 KiB.
  const big = 'x'.repeat(2000);
  for (const k of onZero) await client.put(k, { i: ks.indexOf(k), big }, undefined, { commitLevel: 'master' });
  // The next write that waits for replicas finds the overflow first: the replica stops counting
  // (so this write is not answered on a channel with a gap) and is restarted to be copied.
  await client.put(onZero[0], { i: ks.indexOf(onZero[0]), big: 'after' });
  const ws = await workersWhen(client, (w) => w[1].state === 'up' && w[1].restarts >= 1 && w[1].lastRebuild !== null, 'worker 1 up after a restart and rebuilt');
  t.ok(await waitInSync(client), 'in sync again');
  const info = (await client.info()).workers;
  t.ok(info[0].replicationOverflows >= 1, 'worker 0 counted the overflow');
  t.match(info[1].lastFailure ?? '', /overflowed/, 'worker 1 was restarted for it');
  t.equal(ws[1].lastRebuild?.partitions, 4096, 'and copied every partition it holds: its own, and those whose channel overflowed');
  const got = await client.batchGet(ks);
  t.same(
    got.map((r) => r?.bins.i),
    ks.map((_, i) => i),
    'every record served',
  );
  t.equal(got[ks.indexOf(onZero[0])]?.bins.big, 'after');
  t.same(compareCopies(node).problems.slice(0, 5), [], 'copies identical');
});
