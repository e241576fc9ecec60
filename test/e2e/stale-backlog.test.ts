// Proves a write routed to a dead master that kept its partition (its replica was down too) is not
// applied by that master's next thread once the replica came back first and took the partition
// over: it would land after writes the new master acknowledged and overwrite them on both copies
// (chaos, seeds 639566921 and 977401193: "register 110: final 30110" after 32110 was acknowledged).
import t from 'tap';
import { connect, Key, status } from '../../src/index';
import { computeDigest, partitionOf } from '../../src/partition/digest';
import { startTestNode, waitStable } from '../helpers/node';
import { rawPeer } from '../helpers/raw';
import { waitInSync } from '../helpers/replicas';
import { waitForValue } from '../helpers/wait';

interface WorkerRow {
  state: string;
  restarts: number;
}

t.test('a write left waiting for a dead master is refused when its partition fails over', async (t) => {
  const { client: admin, url } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    c.supervisor.heartbeatTimeoutMs = 1000;
    // Each failure within the window doubles a worker's next restart delay: worker 0, failed more
    // often, comes back well after worker 1.
    c.supervisor.restartDelayMsMin = 100;
    c.supervisor.restartDelayMsMax = 60_000;
    c.supervisor.crashLoopMax = 1000;
    c.supervisor.crashLoopWindowMs = 600_000;
  });
  const host = new URL(url).host;
  const front = await connect({ hosts: host, routing: 'front', timeoutMs: 10_000 });
  const impatient = await connect({ hosts: host, routing: 'front', timeoutMs: 500 });
  t.teardown(() => Promise.all([front.close(), impatient.close()]));
  let k = 0;
  while (partitionOf(computeDigest('stale', k)) % 2 !== 0) k++; // mastered by worker 0, replica 1
  const key = new Key('test', 'stale', k);
  await front.put(key, { v: 'first' });

  const workers = async () => (await front.info()).workers as WorkerRow[];
  const exitAndReturn = async (worker: number) => {
    const before = (await workers())[worker].restarts;
    await front.injectFault({ worker, kind: 'exit' });
    await waitForValue(workers, (ws) => ws[worker].restarts > before && ws[worker].state === 'up', { what: `worker ${worker} back`, timeoutMs: 30_000 });
  };
  for (let i = 0; i < 4; i++) await exitAndReturn(0);
  await exitAndReturn(1);
  await waitInSync(front);

  // Both holders down: the partition stays with worker 0, and a write for it waits for its return.
  await front.injectFault({ worker: 1, kind: 'exit' });
  await front.injectFault({ worker: 0, kind: 'exit' });
  await waitForValue(workers, (ws) => ws[0].state !== 'up' && ws[1].state !== 'up', { what: 'both workers down', timeoutMs: 10_000, intervalMs: 10 });
  const stale = await impatient.put(key, { v: 'stale' }).then(
    () => 'ok',
    (e: { code: number; inDoubt?: boolean }) => (e.inDoubt ? 'doubt' : `failed ${e.code}`),
  );
  t.not(stale, 'ok', `the write waiting for worker 0 was not acknowledged (${stale})`);
  const rows = await workers();
  t.ok(rows[0].state !== 'up', 'worker 0 was still down after it');

  // Worker 1 returns first and masters the partition; a later write is acknowledged there.
  const p = partitionOf(computeDigest('stale', k));
  const masterNow = async () => {
    const peer = await rawPeer(url);
    peer.ws.close();
    return (peer.responses.find((m) => m[0] === 0)![2] as { map: { masters: Uint8Array[] } }).map.masters[0][p];
  };
  await waitForValue(masterNow, (m) => m === 1, { what: "worker 1 masters the key's partition", timeoutMs: 30_000 });
  t.ok((await workers())[0].state !== 'up', 'worker 0 still away when worker 1 took over');
  for (let tries = 0; ; tries++) {
    try {
      await front.put(key, { v: 'acknowledged' });
      break;
    } catch (e) {
      if ((e as { code: number }).code !== status.PARTITION_UNAVAILABLE || tries >= 100) throw e;
    }
  }

  // Worker 0 returns, is rebuilt and takes its partitions back: the acknowledged write stands.
  await waitStable(admin, 500);
  await waitInSync(front);
  t.same((await front.get(key)).bins, { v: 'acknowledged' }, 'the acknowledged write is the value');
});
