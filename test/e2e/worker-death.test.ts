// Proves that when a worker thread dies (there are no replicas yet), nothing hangs or lies: writes
// it held are answered in doubt, its partitions answer PARTITION_UNAVAILABLE, other partitions and
// the node keep working.
import t from 'tap';
import { Key, status } from '../../src/index';
import { partitionOf } from '../../src/partition/digest';
import { startTestNode } from '../helpers/node';

t.test('a dead worker fails its requests definitely or in doubt, never silently', async (t) => {
  const { node, client } = await startTestNode(t);
  const victim = node.workers[1];
  const keys = Array.from({ length: 400 }, (_, i) => new Key('test', 'w', i));
  const owner = (k: Key) => partitionOf(k.digest) % 2;
  await Promise.all(keys.map((k) => client.put(k, { v: 1 })));
  // Writes in flight while the worker is terminated.
  const inflight = keys.map((k) => client.put(k, { v: 2 }).then(() => 'ok', (e) => e));
  await victim.thread.terminate();
  const results = await Promise.all(inflight);
  for (let i = 0; i < keys.length; i++) {
    const r = results[i];
    if (owner(keys[i]) === 0) {
      t.equal(r, 'ok', 'writes to the surviving worker succeed');
    } else if (r !== 'ok') {
      // Held by the worker when it died: TIMEOUT, in doubt. Arrived after: refused, definitely.
      const held = r.code === status.TIMEOUT && r.inDoubt === true;
      const refused = r.code === status.PARTITION_UNAVAILABLE && r.inDoubt === false;
      t.ok(held || refused, `a failed write is in doubt or definitely refused (code ${r.code}, inDoubt ${r.inDoubt})`);
    }
  }
  const dead = keys.find((k) => owner(k) === 1)!;
  const alive = keys.find((k) => owner(k) === 0)!;
  await t.rejects(client.get(dead), { code: status.PARTITION_UNAVAILABLE });
  await t.rejects(client.put(dead, { v: 3 }), { code: status.PARTITION_UNAVAILABLE });
  t.equal((await client.get(alive)).bins.v, 2);
  const batch = await client.batchGet([alive, dead]).catch((e) => e);
  t.equal(batch.code ?? 0, status.PARTITION_UNAVAILABLE, 'a batch touching a dead partition fails as a whole');
  const info = await client.info();
  t.equal((info.workers as { state: string }[])[1].state, 'down');
});
