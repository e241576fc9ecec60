// Proves progress pushes on a real node with a few thousand records: verify, snapshot create and
// snapshot restore given onProgress are told how far they are at least once, `done` never
// decreasing nor passing `total` and ending at it, and still resolve with their answers; on the
// wire each push names its request and op, a request without `progress` gets none, and a
// `progress` that is not a boolean is PARAMETER.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key, Status, type Progress } from '../../src/client/index';
import { Op, PUSH_ID } from '../../src/protocol/ops';
import { startTestNode } from '../helpers/node';
import { rawPeer } from '../helpers/raw';

const RECORDS = 3000;
const PUT_BATCH = 500;

/** Every update well-formed, `done` never decreasing nor past `total`; the last one whole. */
function checkUpdates(t: Test, updates: Progress[], what: string): Progress {
  t.ok(updates.length >= 1, `${what}: ${updates.length} progress updates`);
  for (let i = 0; i < updates.length; i++) {
    const u = updates[i];
    if (u.unit !== 'copies' || u.done > u.total || (i > 0 && u.done < updates[i - 1].done)) {
      t.fail(`${what}: update ${i} of ${JSON.stringify(updates)}`);
      break;
    }
  }
  const last = updates[updates.length - 1];
  t.equal(last.done, last.total, `${what}: the last update is the whole (${last.done} of ${last.total})`);
  return last;
}

t.test('verify, snapshot create and restore report progress and still answer', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-progress-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const { client } = await startTestNode(t, (c) => (c.namespaces[0].dataDir = dataDir));
  for (let from = 0; from < RECORDS; from += PUT_BATCH) {
    await Promise.all(Array.from({ length: PUT_BATCH }, (_, i) => client.put(new Key('test', 'p', from + i), { i: from + i, pad: 'x'.repeat(64) })));
  }

  const verifyUpdates: Progress[] = [];
  const verified = (await client.verify('test', { onProgress: (p) => verifyUpdates.push(p) })) as { namespaces: { records: number; copies: number; problemCount: number }[] };
  t.equal(verified.namespaces[0].records, RECORDS, 'the report is the one asked for');
  t.equal(verified.namespaces[0].problemCount, 0);
  const copies = verified.namespaces[0].copies;
  t.equal(checkUpdates(t, verifyUpdates, 'verify').total, copies, "verify counts the report's copies");

  const createUpdates: Progress[] = [];
  const created = await client.createSnapshot('test', { onProgress: (p) => createUpdates.push(p) });
  t.equal(created.records, RECORDS, 'the snapshot holds every record');
  t.equal(checkUpdates(t, createUpdates, 'create').total, copies, 'create writes every copy');

  await client.put(new Key('test', 'p', 0), { i: -1 });
  const restoreUpdates: Progress[] = [];
  const restored = await client.restoreSnapshot('test', created.id, { onProgress: (p) => restoreUpdates.push(p) });
  t.equal(restored.records, RECORDS);
  t.equal(checkUpdates(t, restoreUpdates, 'restore').total, copies, 'restore reads every copy');
  t.equal((await client.get(new Key('test', 'p', 0))).bins.i, 0, 'the restore happened');

  await t.rejects(client.createSnapshot('test', { onProgress: 'yes' as unknown as () => void }), { code: Status.PARAMETER }, 'onProgress must be a function');
});

t.test('on the wire: pushes name their request and op; none without progress', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-progress-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const { client, url } = await startTestNode(t, (c) => (c.namespaces[0].dataDir = dataDir));
  await Promise.all(Array.from({ length: PUT_BATCH }, (_, i) => client.put(new Key('test', 'w', i), { i })));
  const peer = await rawPeer(url);
  t.teardown(() => peer.ws.close());
  const progressOf = (request: number) => peer.responses.filter((m) => m[0] === PUSH_ID && (m[2] as { event?: string; request?: number }).request === request);

  peer.request(1, Op.VERIFY, { ns: 'test', progress: true });
  const [, verifyCode] = await peer.waitFor(1, 30_000);
  t.equal(verifyCode, Status.OK);
  const pushes = progressOf(1);
  t.ok(pushes.length >= 1, 'VERIFY with progress: pushed');
  t.match(pushes[0][2], { event: 'progress', request: 1, op: 'verify', unit: 'copies' });
  t.ok(peer.responses.findIndex((m) => m[0] === 1) > peer.responses.indexOf(pushes[pushes.length - 1]), 'every push comes before the answer');

  peer.request(2, Op.VERIFY, { ns: 'test' });
  peer.request(3, Op.SNAPSHOT, { action: 'create', ns: 'test' });
  peer.request(4, Op.SNAPSHOT, { action: 'list', ns: 'test', progress: true });
  for (const id of [2, 3, 4]) t.equal((await peer.waitFor(id, 30_000))[1], Status.OK, `request ${id} answered`);
  t.same(
    peer.responses.filter((m) => m[0] === PUSH_ID && (m[2] as { event?: string }).event === 'progress').map((m) => (m[2] as { request: number }).request),
    pushes.map(() => 1),
    'no push for requests without progress, nor for a list',
  );

  peer.request(5, Op.SNAPSHOT, { action: 'create', ns: 'test', progress: 1 });
  peer.request(6, Op.VERIFY, { progress: 'yes' });
  t.equal((await peer.waitFor(5))[1], Status.PARAMETER, 'SNAPSHOT progress must be a boolean');
  t.equal((await peer.waitFor(6))[1], Status.PARAMETER, 'VERIFY progress must be a boolean');
});
