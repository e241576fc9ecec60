// Proves a restore that meets a replica rebuild or a master crash loses nothing: a snapshot
// restore landing while a crashed replica is being copied leaves equal copies, and a master that
// crashes while a restore's replicas are still being copied from it loses no restored record.
// Memory and file namespaces, two copies. (Split from restore-failover.test.ts, which ran close to
// the per-file timeout on a loaded machine.)
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key } from '../../src/index';
import { startTestNode, waitStable, type TestNode } from '../helpers/node';
import { compareCopies, waitInSync } from '../helpers/replicas';
import { RECORDS, checkCopies, load, present } from '../helpers/restore';
import { waitForValue } from '../helpers/wait';

/**
 * A node keeping two copies in `storage` in a data directory of its own (removed after the node
 * stops), faults on, a crashed worker restarted at once.
 */
async function startNode(t: Test, storage: 'memory' | 'file', prefix: string): Promise<TestNode> {
  const dir = fs.mkdtempSync(path.join(tmpdir(), prefix));
  const n = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    c.supervisor.restartDelayMsMin = 10;
    c.namespaces[0].replicationFactor = 2;
    c.namespaces[0].storage = storage;
    c.namespaces[0].dataDir = path.join(dir, 'data');
  });
  // Registered after the node's own teardown, so it runs once the node has stopped.
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return n;
}

// A restore that lands while a crashed replica is being copied from its masters: a copy round
// that began on the old stores and ended after the restore carried records the snapshot lacks, and
// used to mark its partitions in sync, so the replica kept them (soak seed 2027813484: COPIES was
// 2 × RECORDS + 1 after a kill -9 and a restore). Such a round is now copied again.

for (const storage of ['memory', 'file'] as const)
  t.test(`${storage}: a snapshot restore meeting a replica rebuild leaves equal copies`, async (t) => {
    // Large enough that copying them to the rebuilt replica outlasts the restore's own steps.
    const OTHERS = 40_000;
    const filler = 'f'.repeat(1000);
    const others = Array.from({ length: OTHERS }, (_, i) => new Key('test', 'x', i));
    const n = await startNode(t, storage, 'aerie-restore-rebuild-');
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
    const filler = 'f'.repeat(1000);
    const n = await startNode(t, storage, 'aerie-restore-resync-');
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
