// Proves a restore leaves every copy of a replicated namespace, memory and file: after truncate then
// a snapshot restore (or a backup restore), every record is held twice, copies agree, and a
// worker crash, its return and (file) a node restart lose none of the restored records; a truncate
// that races the restore is ordered before or after it, never inside it; and a truncate with or
// without a cut-off, then a crash, leaves exactly the records it should on every copy.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key, status } from '../../src/index';
import type { Client } from '../../src/client/index';
import type { NodeConfig } from '../../src/config';
import { backupNamespace } from '../../src/backup/backup';
import { restoreFile } from '../../src/backup/restore';
import { sleep, startTestNode, waitStable, type TestNode } from '../helpers/node';
import { compareCopies, waitInSync } from '../helpers/replicas';
import { waitForValue } from '../helpers/wait';

const RECORDS = 5000;
const keys = Array.from({ length: RECORDS }, (_, i) => new Key('test', 'r', i));

/** Records served with their value. A batch answered PARTITION_UNAVAILABLE (a move under way) is asked again, for 10 s at most. */
async function present(client: Client, from = 0, to = RECORDS): Promise<number> {
  let found = 0;
  for (let i = from; i < to; i += 500) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const got = await client.batchGet(keys.slice(i, Math.min(to, i + 500))).catch((err: { code?: number }) => {
        if (err.code !== status.PARTITION_UNAVAILABLE || Date.now() > deadline) throw err;
        return null;
      });
      if (got === null) {
        await sleep(20);
        continue;
      }
      got.forEach((r, j) => {
        if (r !== null && r.bins.v === i + j) found++;
      });
      break;
    }
  }
  return found;
}

async function load(client: Client, from = 0, to = RECORDS): Promise<void> {
  for (let i = from; i < to; i += 500) await Promise.all(keys.slice(i, Math.min(to, i + 500)).map((k, j) => client.put(k, { v: i + j })));
}

/** Every copy back and equal: COPIES = 2 × RECORDS once in sync, and no record differs between holders. */
async function checkCopies(t: Test, n: TestNode, when: string, records = RECORDS): Promise<void> {
  t.ok(await waitInSync(n.client), `${when}: every copy in sync`);
  // INFO's counts are published every 50 ms: wait (10 s at most) for them to reach the expected ones.
  const nsInfo = async () => ((await n.client.info()).namespaces as { records: number; copies: number }[])[0];
  const ns = await waitForValue(nsInfo, (x) => x.records === records && x.copies === 2 * records, {
    what: `${when}: INFO to count ${records} records and ${2 * records} copies`,
    timeoutMs: 10_000,
    intervalMs: 50,
  });
  t.equal(ns.records, records, `${when}: RECORDS`);
  t.equal(ns.copies, 2 * records, `${when}: COPIES is twice RECORDS`);
  t.same(compareCopies(n.node).problems, [], `${when}: the copies agree`);
}

/** Crashes worker 1, then checks every record is served at once, once it is back, and in sync. */
async function crashAndCheck(t: Test, n: TestNode, records = RECORDS): Promise<void> {
  await n.client.injectFault({ worker: 1, kind: 'crash' });
  t.equal(await present(n.client), records, 'every record served after the crash');
  await waitStable(n.client, 300);
  t.equal(await present(n.client), records, 'every record served once the worker is back');
  await checkCopies(t, n, 'after the crash', records);
}

for (const storage of ['memory', 'file'] as const) {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-restore-failover-')), 'data');
  const patch = (c: NodeConfig) => {
    c.supervisor.faultInjection = true;
    c.supervisor.restartDelayMsMin = 10;
    c.namespaces[0].storage = storage;
    c.namespaces[0].dataDir = dataDir;
    c.namespaces[0].replicationFactor = 2;
  };

  t.test(`${storage}: snapshot restore after a truncate, then a worker crash`, async (t) => {
    const n = await startTestNode(t, patch);
    await load(n.client);
    const snapshot = await n.client.createSnapshot('test');
    await n.client.truncate('test');
    t.equal(await present(n.client), 0, 'truncated');
    const restored = await n.client.restoreSnapshot('test', snapshot.id);
    t.equal(restored.records, RECORDS, 'restored');
    t.equal(restored.replicasInSync, true, 'answered once every replica was copied from its restored master');
    const roles = ((await n.client.info()).workers as { roles: { outOfSync: number } }[]).map((w) => w.roles.outOfSync);
    t.same(roles, [0, 0], 'no copy out of sync at the answer');
    await checkCopies(t, n, 'after the restore');
    await crashAndCheck(t, n);
    if (storage === 'file') {
      await n.client.close();
      await n.node.close();
      const again = await startTestNode(t, patch);
      t.equal(await present(again.client), RECORDS, 'every record served after a node restart');
      await checkCopies(t, again, 'after the restart');
    }
  });

  t.test(`${storage}: backup restore after a truncate, then a worker crash`, async (t) => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    const n = await startTestNode(t, patch);
    await load(n.client);
    const file = path.join(path.dirname(dataDir), 'test.bak');
    await backupNamespace(n.client, { ns: 'test', out: file });
    await n.client.truncate('test', null, { beforeMs: Date.now() });
    t.equal(await present(n.client), 0, 'truncated');
    const report = await restoreFile(n.client, { file, policy: 'replace' });
    t.equal(report.restored, RECORDS, 'restored through the write path');
    await checkCopies(t, n, 'after the backup restore');
    await crashAndCheck(t, n);
  });

  t.test(`${storage}: truncates with and without a cut-off, each meeting a crash`, async (t) => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    const n = await startTestNode(t, patch);
    const half = RECORDS / 2;
    await load(n.client, 0, half);
    await sleep(5);
    const cutoffMs = Date.now();
    await sleep(5);
    await load(n.client, half, RECORDS);
    await n.client.truncate('test', null, { beforeMs: cutoffMs });
    await n.client.injectFault({ worker: 1, kind: 'crash' });
    await waitStable(n.client, 300);
    t.equal(await present(n.client, 0, half), 0, 'records before the cut-off stay gone after the crash');
    t.equal(await present(n.client, half, RECORDS), half, 'records after it are all served after the crash');
    await checkCopies(t, n, 'after truncate --before and a crash', half);

    await n.client.truncate('test');
    await n.client.injectFault({ worker: 0, kind: 'crash' });
    await waitStable(n.client, 300);
    t.equal(await present(n.client), 0, 'a full truncate stays whole after a crash');
    await checkCopies(t, n, 'after truncate and a crash', 0);
    // Written after the truncate: newer than its cut-off, so every copy keeps them through a crash.
    await load(n.client);
    await crashAndCheck(t, n);
  });

  t.test(`${storage}: truncates racing a snapshot restore leave equal copies`, async (t) => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    const n = await startTestNode(t, patch);
    await load(n.client);
    const snapshot = await n.client.createSnapshot('test');
    const racing = Array.from({ length: 5 }, (_, i) => new Promise((r) => setTimeout(r, i * 5)).then(() => n.client.truncate('test')));
    await n.client.restoreSnapshot('test', snapshot.id);
    const truncated = await Promise.allSettled(racing);
    t.same(
      truncated.filter((r) => r.status === 'rejected'),
      [],
      'every truncate answered ok',
    );
    // Each truncate lands wholly before the restore (undone by it) or after it (all gone).
    const served = await present(n.client);
    t.ok(served === 0 || served === RECORDS, `${served} records served: all or none`);
    await checkCopies(t, n, 'after the race', served);
    await crashAndCheck(t, n, served);
  });
}

// A restore that lands while a crashed replica is being copied from its masters: a copy round
// that began on the old stores and ended after the restore carried records the snapshot lacks, and
// used to mark its partitions in sync, so the replica kept them (soak seed 2027813484: COPIES was
// 2 × RECORDS + 1 after a kill -9 and a restore). Such a round is now copied again.
for (const storage of ['memory', 'file'] as const)
  t.test(`${storage}: a snapshot restore meeting a replica rebuild leaves equal copies`, async (t) => {
    const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-restore-rebuild-')), 'data');
    // Large enough that copying them to the rebuilt replica outlasts the restore's own steps.
    const OTHERS = 40_000;
    const filler = 'f'.repeat(1000);
    const others = Array.from({ length: OTHERS }, (_, i) => new Key('test', 'x', i));
    const n = await startTestNode(t, (c) => {
      c.supervisor.faultInjection = true;
      c.supervisor.restartDelayMsMin = 10;
      c.namespaces[0].replicationFactor = 2;
      c.namespaces[0].storage = storage;
      c.namespaces[0].dataDir = dataDir;
    });
    await load(n.client);
    const snapshot = await n.client.createSnapshot('test');
    for (let round = 0; round < 3; round++) {
      await n.client.truncate('test');
      for (let i = 0; i < OTHERS; i += 1000) await Promise.all(others.slice(i, i + 1000).map((k, j) => n.client.put(k, { x: i + j, f: filler })));
      await n.client.injectFault({ worker: 1, kind: 'crash' });
      await waitForValue(
        () => n.client.info(),
        (i) => (i.workers as { rebuild: unknown }[])[1].rebuild !== null,
        { what: 'worker 1 rebuilding its replicas', timeoutMs: 20_000, intervalMs: 2 },
      );
      const restored = await n.client.restoreSnapshot('test', snapshot.id);
      t.equal(restored.records, RECORDS, `round ${round}: restored`);
      t.equal(await present(n.client), RECORDS, `round ${round}: every restored record served`);
      await checkCopies(t, n, `round ${round}: after the restore met the rebuild`);
    }
  });

// A master that crashes while a restore's replicas are still being copied from it: those copies
// are known to be behind, so none may take over; once the master is back every restored record
// is served and both copies end equal.
for (const storage of ['memory', 'file'] as const)
  t.test(`${storage}: a master crash during a restore's resync loses no restored record`, async (t) => {
    const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-restore-resync-')), 'data');
    const filler = 'f'.repeat(1000);
    const n = await startTestNode(t, (c) => {
      c.supervisor.faultInjection = true;
      c.supervisor.restartDelayMsMin = 10;
      c.namespaces[0].replicationFactor = 2;
      c.namespaces[0].storage = storage;
      c.namespaces[0].dataDir = dataDir;
    });
    // Large records, so that copying them to the replicas takes long enough to crash a master inside it.
    const big = Array.from({ length: 20_000 }, (_, i) => new Key('test', 'b', i));
    for (let i = 0; i < big.length; i += 1000) await Promise.all(big.slice(i, i + 1000).map((k, j) => n.client.put(k, { v: i + j, f: filler })));
    const snapshot = await n.client.createSnapshot('test');
    await n.client.truncate('test');
    const restoring = n.client.restoreSnapshot('test', snapshot.id);
    await waitForValue(
      () => n.client.info(),
      (i) => (i.workers as { rebuild: unknown }[]).some((w) => w.rebuild !== null),
      { what: 'the restore copying replicas from their masters', timeoutMs: 60_000, intervalMs: 2 },
    );
    await n.client.injectFault({ worker: 0, kind: 'crash' });
    const restored = await restoring;
    t.equal(restored.records, big.length, 'restored');
    await waitStable(n.client, 300);
    let served = 0;
    for (let i = 0; i < big.length; i += 500) {
      const got = await waitForValue(
        () => n.client.batchGet(big.slice(i, i + 500)).catch(() => null),
        (g) => g !== null,
        { what: 'a batch served', timeoutMs: 20_000, intervalMs: 20 },
      );
      served += got!.filter((r, j) => r !== null && r.bins.v === i + j).length;
    }
    t.equal(served, big.length, 'every restored record served after the crash');
    t.ok(await waitInSync(n.client), 'every copy in sync');
    const ns = await waitForValue(
      async () => ((await n.client.info()).namespaces as { records: number; copies: number }[])[0],
      (x) => x.records === big.length && x.copies === 2 * big.length,
      { what: 'INFO to count every restored record twice', timeoutMs: 10_000, intervalMs: 50 },
    );
    t.equal(ns.copies, 2 * big.length, 'both copies whole');
    t.same(compareCopies(n.node).problems, [], 'the copies agree');
  });
