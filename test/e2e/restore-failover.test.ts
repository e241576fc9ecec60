// Proves a restore leaves every copy of a replicated namespace, memory and file: after truncate then
// a snapshot restore (or a backup restore), every record is held twice, copies agree, and a
// worker crash, its return and (file) a node restart lose none of the restored records; a truncate
// that races the restore is ordered before or after it, never inside it; and a truncate with or
// without a cut-off, then a crash, leaves exactly the records it should on every copy.
// (A restore meeting a replica rebuild or a master crash: restore-resync.test.ts.)
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { NodeConfig } from '../../src/config';
import { backupNamespace } from '../../src/backup/backup';
import { restoreFile } from '../../src/backup/restore';
import { sleep, startTestNode, waitStable } from '../helpers/node';
import { RECORDS, checkCopies, crashAndCheck, load, present } from '../helpers/restore';

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
