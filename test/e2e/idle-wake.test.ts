// Proves that a node idle long enough for its workers to sleep in their event loops (a second
// with nothing to do: src/worker/main.ts, WORKER_IDLE_AFTER_MS) keeps its promises: no worker is
// taken for hung while it sleeps, and a request through the front, one on a worker's own
// endpoint, a replicated write and a control message (a snapshot) are all served when the quiet
// ends.
import t from 'tap';
import { connect, Key } from '../../src/index';
import { WORKER_IDLE_AFTER_MS } from '../../src/constants';
import { sleep, startTestNode } from '../helpers/node';

t.test('an idle node wakes for requests, replication and control messages', async (t) => {
  const { node, client, url } = await startTestNode(t, (c) => {
    c.namespaces[0].replicationFactor = 2;
  });
  const front = await connect({ hosts: new URL(url).host, routing: 'front', timeoutMs: 10_000 });
  t.teardown(() => front.close());
  for (let round = 0; round < 3; round++) {
    // The stimulus, not a wait for a condition: quiet long enough for every worker to sleep long.
    await sleep(WORKER_IDLE_AFTER_MS * 2);
    const routedKey = new Key('test', 'idle', `routed-${round}`);
    const frontKey = new Key('test', 'idle', `front-${round}`);
    await client.put(routedKey, { round });
    await front.put(frontKey, { round });
    t.same((await front.get(routedKey)).bins, { round }, `round ${round}: a write on a worker's endpoint, read through the front`);
    t.same((await client.get(frontKey)).bins, { round }, `round ${round}: a write through the front, read on a worker's endpoint`);
  }
  await sleep(WORKER_IDLE_AFTER_MS * 2);
  const snapshot = await client.createSnapshot('test');
  t.ok(snapshot.id, 'a snapshot (control messages to every worker) completes after a quiet spell');
  const info = node.info() as { workers: { restarts: number; state: string }[] };
  t.same(
    info.workers.map((w) => [w.state, w.restarts]),
    info.workers.map(() => ['up', 0]),
    'no worker was taken for hung while it slept',
  );
});
