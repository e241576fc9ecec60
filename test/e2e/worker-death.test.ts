// Proves that when a worker thread is killed under load, nothing hangs or lies and nothing
// acknowledged is lost: writes it held are answered in doubt (or refused definitely), the
// supervisor restarts it, the new thread adopts its stores from shared memory, and every
// acknowledged write is there afterwards.
import t from 'tap';
import { Key, status } from '../../src/index';
import { partitionOf } from '../../src/partition/digest';
import { startTestNode } from '../helpers/node';
import { waitForValue } from '../helpers/wait';

t.test('a killed worker comes back with every acknowledged write', async (t) => {
  // This test is about a thread that dies; a long heartbeat timeout keeps a loaded machine from
  // adding restarts for workers that are merely slow.
  const { node, client } = await startTestNode(t, (c) => {
    c.supervisor.heartbeatTimeoutMs = 10_000;
  });
  const victim = node.workers[1];
  const keys = Array.from({ length: 400 }, (_, i) => new Key('test', 'w', i));
  const owner = (k: Key) => partitionOf(k.digest) % 2;
  await Promise.all(keys.map((k) => client.put(k, { v: 1 })));
  // Writes in flight while the worker is terminated.
  const inflight = keys.map((k) =>
    client.put(k, { v: 2 }).then(
      () => 'ok',
      (e) => e,
    ),
  );
  await victim.thread!.terminate();
  const results = await Promise.all(inflight);
  let doubtful = 0;
  for (let i = 0; i < keys.length; i++) {
    const r = results[i];
    if (owner(keys[i]) === 0) {
      t.equal(r, 'ok', 'writes to the surviving worker succeed');
    } else if (r !== 'ok') {
      // Held by the worker when it died: TIMEOUT, in doubt; or, sent on the connection to that
      // worker's own endpoint (the client routes by partition), lost with it: CONNECTION_CLOSED,
      // in doubt. Refused after: definite.
      const held = (r.code === status.TIMEOUT || r.code === status.CONNECTION_CLOSED) && r.inDoubt === true;
      const refused = r.code === status.PARTITION_UNAVAILABLE && r.inDoubt === false;
      t.ok(held || refused, `a failed write is in doubt or definitely refused (code ${r.code}, inDoubt ${r.inDoubt})`);
      if (held) doubtful++;
    }
  }
  const worker1 = async () => ((await client.info()).workers as { state: string; restarts: number; lastFailure: string }[])[1];
  const w1 = await waitForValue(worker1, (w) => w.state === 'up' && w.restarts >= 1, { what: 'worker 1 up after a restart', timeoutMs: 10_000, intervalMs: 20 });
  t.equal(w1.state, 'up', 'the worker is back');
  t.ok(w1.restarts >= 1, 'restarted');
  t.match(w1.lastFailure, /exit/);
  for (let i = 0; i < keys.length; i++) {
    const r = results[i];
    const v = (await client.get(keys[i])).bins.v;
    if (r === 'ok') t.equal(v, 2, 'an acknowledged write survived');
    else t.ok(v === 1 || v === 2, 'an unacknowledged write is either applied or not, never torn');
  }
  t.comment(`${doubtful} writes were in doubt`);
});
