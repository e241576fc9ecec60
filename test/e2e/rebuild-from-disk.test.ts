// Proves that a worker whose shared memory cannot be adopted is rebuilt from disk: the worker's
// index header is damaged behind its back, the worker is made to exit, its replacement dies
// taking over that memory, and the next one rebuilds the file namespace from its snapshot and log,
// with every acknowledged write back. A memory namespace, having no durable copy, is never
// silently started empty: its worker stays down rather than serve an empty store.
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key, status } from '../../src/index';
import type { Client } from '../../src/client/index';
import { partitionOf } from '../../src/partition/digest';
import { startTestNode } from '../helpers/node';
import { waitForValue } from '../helpers/wait';
import type { AerieNode } from '../../src/primary/node';

type WorkerInfo = { state: string; restarts: number; lastFailure: string | null };
const worker = async (client: Client, i: number) => ((await client.info()).workers as WorkerInfo[])[i];

/** Waits for worker `i`'s INFO entry to satisfy `pred`, and returns it; fails the test on a timeout. */
const workerWhen = (client: Client, i: number, pred: (w: WorkerInfo) => boolean, what: string) => waitForValue(() => worker(client, i), pred, { what: `worker ${i}: ${what}` });

/** Overwrites the magic word of worker 1's index: adopting it now fails. */
function damageIndexHeader(node: AerieNode): void {
  new Int32Array(node.workers[1].stores[0].indexSab!)[0] ^= 0x5a5a;
}

t.test('a file namespace whose memory cannot be adopted is rebuilt from disk', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-rebuild-')), 'data');
  const { node, client } = await startTestNode(t, (c) => {
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = dataDir;
    c.supervisor.faultInjection = true;
    c.supervisor.crashLoopMax = 100;
  });
  const keys = Array.from({ length: 400 }, (_, i) => new Key('test', 'r', i));
  await Promise.all(keys.slice(0, 200).map((k, i) => client.put(k, { i })));
  await client.createSnapshot('test'); // half from the base snapshot, half from the log after it
  await Promise.all(keys.slice(200).map((k, i) => client.put(k, { i: i + 200 })));
  t.ok(
    keys.some((k) => partitionOf(k.digest) % 2 === 1),
    'worker 1 holds some of them',
  );

  damageIndexHeader(node);
  await client.injectFault({ worker: 1, kind: 'exit' });
  const w = await workerWhen(client, 1, (x) => x.state === 'up' && x.restarts >= 2, 'up after two restarts');
  t.equal(w.state, 'up', 'the worker serves again');
  t.equal(w.restarts, 2, 'one replacement died adopting, the next rebuilt from disk');
  const got = await client.batchGet(keys);
  t.same(
    got.map((r) => r?.bins.i),
    keys.map((_, i) => i),
    'every acknowledged write is back',
  );
  await client.put(keys[1], { i: 'after' });
  t.same((await client.get(keys[1])).bins, { i: 'after' }, 'and it takes writes');
});

t.test('a memory namespace is never started empty in place of memory it cannot adopt', async (t) => {
  const { node, client } = await startTestNode(t, (c) => {
    // One copy: nothing to copy from, so the partitions must stay unavailable.
    c.namespaces[0].replicationFactor = 1;
    c.supervisor.faultInjection = true;
    c.supervisor.crashLoopMax = 3;
    c.supervisor.restartDelayMsMin = 10;
    c.supervisor.restartDelayMsMax = 20;
  });
  const keys = Array.from({ length: 100 }, (_, i) => new Key('test', 'm', i));
  await Promise.all(keys.map((k, i) => client.put(k, { i })));
  damageIndexHeader(node);
  await client.injectFault({ worker: 1, kind: 'exit' });
  const w = await workerWhen(client, 1, (x) => x.state === 'failed', 'given up on');
  t.equal(w.state, 'failed', 'given up on after the crash loop');
  const onOne = keys.find((k) => partitionOf(k.digest) % 2 === 1)!;
  await t.rejects(client.get(onOne, undefined, { maxRetries: 0 }), { code: status.PARTITION_UNAVAILABLE }, 'unavailable, not empty');
  const onZero = keys.find((k) => partitionOf(k.digest) % 2 === 0)!;
  t.ok((await client.get(onZero)).bins, 'the other worker serves on');
});
