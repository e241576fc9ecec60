// Proves snapshots through a real node: create, list, restore (the namespace returns to exactly
// the snapshot's state, under concurrent writes too), delete; a file namespace cold-starts from its
// base snapshot plus the log after it, keeps a restore across restarts, and releases the log a
// snapshot covers; a half-written snapshot is cleaned away; a damaged one is refused and leaves the
// namespace unchanged.
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key, status } from '../../src/index';
import type { Client } from '../../src/client/index';
import type { NodeConfig } from '../../src/config';
import { sleep, startTestNode } from '../helpers/node';

const keys = (set: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => new Key('test', set, from + i));
const values = async (client: Client, ks: Key[]) => (await client.batchGet(ks)).map((r) => (r === null ? null : r.bins.v));

t.test('create, list, restore and delete in memory', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-snap-'));
  const { client } = await startTestNode(t, (c) => (c.namespaces[0].dataDir = dataDir));
  const a = keys('a', 300);
  const b = keys('b', 200);
  await Promise.all([...a, ...b].map((k, i) => client.put(k, { v: i, list: [i, 'x'], m: { k: i } })));
  const created = await client.createSnapshot('test');
  t.equal(created.records, 500, 'every record is in it');
  t.ok(created.pauseMs >= 0 && created.pauseMs < 5000, `workers paused ${created.pauseMs} ms`);
  const expected = await values(client, [...a, ...b]);

  // Change everything a snapshot must undo: updates, deletes, new records, a new set.
  await Promise.all(a.slice(0, 100).map((k) => client.put(k, { v: -1 })));
  await Promise.all(b.slice(0, 50).map((k) => client.remove(k)));
  const added = keys('c', 30);
  await Promise.all(added.map((k) => client.put(k, { v: 7 })));

  const list = await client.listSnapshots('test');
  t.same(
    list.map((s) => s.id),
    [created.id],
  );
  t.equal(list[0].base, false, 'a memory namespace has no base');
  const restored = await client.restoreSnapshot('test', created.id);
  t.equal(restored.records, 500);
  t.same(await values(client, [...a, ...b]), expected, 'every record is back as it was');
  t.same(
    await values(client, added),
    added.map(() => null),
    'records written after the snapshot are gone',
  );
  t.same((await client.get(a[5])).bins, { v: 5, list: [5, 'x'], m: { k: 5 } }, 'bins of every type intact');
  await client.put(a[0], { v: 'after' });
  t.same((await client.get(a[0])).bins, { v: 'after', list: [0, 'x'], m: { k: 0 } }, 'the restored namespace takes writes');

  await t.rejects(client.restoreSnapshot('test', '1234567890123'), { code: status.PARAMETER }, 'no such snapshot');
  await t.rejects(client.restoreSnapshot('test', '../etc'), { code: status.PARAMETER }, 'not an id');
  await t.rejects(client.createSnapshot('nope'), { code: status.INVALID_NAMESPACE });
  await client.deleteSnapshot('test', created.id);
  t.same(await client.listSnapshots('test'), [], 'deleted');
  t.same(fs.readdirSync(path.join(dataDir, 'test', 'snapshots')), [], 'its files are gone');
});

t.test('snapshot and restore under concurrent writes: one point in time per key', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-snap-'));
  const { client } = await startTestNode(t, (c) => (c.namespaces[0].dataDir = dataDir));
  const ks = keys('w', 200);
  const acked = new Array<number>(ks.length).fill(0);
  const inFlight = new Array<boolean>(ks.length).fill(false);
  // Keys written from the moment the restore is asked for: their value may be newer than it.
  const touched = new Array<boolean>(ks.length).fill(false);
  let restoring = false;
  await Promise.all(ks.map((k) => client.put(k, { v: 0 })));
  let running = true;
  const writers = Array.from({ length: 20 }, (_, w) =>
    (async () => {
      for (let i = w; running; i = (i + 20) % ks.length) {
        // While the restore runs, writes go on to even keys only; odd keys are left to judge it by.
        if (restoring && i % 2 === 1) {
          await sleep(0);
          continue;
        }
        if (restoring) touched[i] = true;
        inFlight[i] = true;
        await client.put(ks[i], { v: acked[i] + 1 });
        inFlight[i] = false;
        acked[i]++;
      }
    })(),
  );
  await sleep(100);
  const before = [...acked];
  const created = await client.createSnapshot('test');
  const after = [...acked];
  await sleep(100);
  restoring = true;
  inFlight.forEach((f, i) => f && (touched[i] = true));
  await client.restoreSnapshot('test', created.id);
  running = false;
  await Promise.all(writers);
  const got = (await values(client, ks)) as number[];
  const judged = ks.map((_, i) => i).filter((i) => !touched[i]);
  const wrong = judged.filter((i) => !(got[i] >= before[i] && got[i] <= after[i]));
  t.ok(judged.length >= 80, `${judged.length} keys untouched since the restore was asked for`);
  t.same(
    wrong.map((i) => ({ key: i, got: got[i], before: before[i], after: after[i] })),
    [],
    'each holds a value acknowledged around the snapshot',
  );
  t.ok(
    after.some((v, i) => v > before[i]),
    'writes went on while the snapshot was taken',
  );
});

t.test('a file namespace starts from its base snapshot and the log after it', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-snap-')), 'data');
  const fileNs = (c: NodeConfig) => {
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = dataDir;
  };
  const first = keys('f', 200);
  const later = keys('f', 50, 1000);
  let snapshotId = '';
  {
    const { node, client } = await startTestNode(t, fileNs);
    await Promise.all(first.map((k, i) => client.put(k, { v: i })));
    snapshotId = (await client.createSnapshot('test')).id;
    const list = await client.listSnapshots('test');
    t.equal(list[0].base, true, 'the new snapshot is the base of cold starts');
    await Promise.all(later.map((k) => client.put(k, { v: 'later' })));
    await client.remove(first[0]);
    await t.rejects(client.deleteSnapshot('test', snapshotId), { code: status.FAIL_FORBIDDEN }, 'the base cannot be deleted');
    await client.close();
    await node.close();
  }
  {
    const { node, client } = await startTestNode(t, fileNs);
    t.same(
      await values(client, first.slice(1)),
      first.slice(1).map((_, i) => i + 1),
      'snapshot records back',
    );
    t.same(
      await values(client, later),
      later.map(() => 'later'),
      'log records after the snapshot replayed',
    );
    t.equal((await values(client, [first[0]]))[0], null, 'a delete after the snapshot replayed');
    await client.restoreSnapshot('test', snapshotId);
    await client.put(later[0], { v: 'after restore' });
    await client.close();
    await node.close();
  }
  {
    const { node, client } = await startTestNode(t, fileNs);
    t.same(
      await values(client, first),
      first.map((_, i) => i),
      'the restore survived a restart',
    );
    t.same(
      await values(client, later.slice(1)),
      later.slice(1).map(() => null),
      'writes before the restore stay undone',
    );
    t.equal((await values(client, [later[0]]))[0], 'after restore', 'writes after the restore replayed');
    await client.close();
    await node.close();
  }
});

t.test('crash leftovers and damage', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-snap-')), 'data');
  const fileNs = (c: NodeConfig) => {
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = dataDir;
  };
  const ks = keys('d', 100);
  let id = '';
  {
    const { node, client } = await startTestNode(t, fileNs);
    await Promise.all(ks.map((k, i) => client.put(k, { v: i })));
    id = (await client.createSnapshot('test')).id;
    await client.createSnapshot('test');
    await client.close();
    await node.close();
  }
  const snapshots = path.join(dataDir, 'test', 'snapshots');
  // A crash while writing a snapshot leaves <id>.tmp; while deleting, <id>.deleting.
  fs.cpSync(path.join(snapshots, id), path.join(snapshots, '1999999999999.tmp'), { recursive: true });
  fs.cpSync(path.join(snapshots, id), path.join(snapshots, '1999999999998.deleting'), { recursive: true });
  // Damage one record of the older snapshot: its CRC no longer matches.
  const part = path.join(snapshots, id, 'worker-00');
  const seg = path.join(part, fs.readdirSync(part)[0]);
  const bytes = fs.readFileSync(seg);
  bytes[bytes.length - 30] ^= 0xff;
  fs.writeFileSync(seg, bytes);
  {
    const { node, client } = await startTestNode(t, fileNs);
    t.same(
      fs.readdirSync(snapshots).filter((n) => !/^\d+$/.test(n)),
      [],
      'leftovers removed at start',
    );
    t.equal((await client.listSnapshots('test')).length, 2, 'both complete snapshots listed');
    await client.put(ks[0], { v: 'changed' });
    const err = await client.restoreSnapshot('test', id).then(
      () => null,
      (e: { code: number; message: string }) => e,
    );
    t.equal(err?.code, status.SERVER_ERROR, 'a damaged snapshot is refused');
    t.match(err?.message ?? '', /worker-00.*offset \d+/, 'naming the file and offset');
    t.equal((await values(client, [ks[0]]))[0], 'changed', 'the namespace is unchanged');
    await client.close();
    await node.close();
  }
  // A base that points at a missing snapshot stops start-up with the reason.
  const base = JSON.parse(fs.readFileSync(path.join(dataDir, 'test', 'base.json'), 'utf8'));
  fs.rmSync(path.join(snapshots, base.snapshot), { recursive: true });
  const config = (await import('../../src/config')).loadConfig();
  config.service.port = 0;
  config.workers.count = 2;
  config.log.level = 'warn';
  fileNs(config);
  const { startNode } = await import('../../src/primary/node');
  await t.rejects(startNode(config), { message: /base snapshot \d+ is missing/ });
});
