// Proves a restore is all-or-nothing across a kill -9: a file-backed node is killed at a random
// moment while it restores a snapshot, and after the restart every record holds either the
// snapshot's value or the value from before the restore — the same one for every key, on both
// workers — never a mix. Seeded rounds against a real `aerie start` process.
import t from 'tap';
import { connect, Key } from '../../src/index';
import { sleep } from '../helpers/node';
import { prng, testSeed } from '../helpers/prng';
import { fileNodeConfig, startCliNode } from '../helpers/cli-node';

const ROUNDS = Number(process.env.KILL9_RESTORE_ROUNDS ?? 8);
const KEYS = 400;

t.test('kill -9 during a restore leaves the old state or the new one', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const rand = prng(seed);
  const config = fileNodeConfig('kill9-restore');
  const keys = Array.from({ length: KEYS }, (_, k) => new Key('test', 'r', k));
  let snapshotId = '';
  const outcomes = { old: 0, restored: 0 };
  for (let round = 0; round <= ROUNDS; round++) {
    const { child, host, exited } = await startCliNode(config);
    const client = await connect({ hosts: host, reconnect: false, timeoutMs: 10_000 });
    client.on('error', () => undefined);
    if (round === 0) {
      await Promise.all(keys.map((k) => client.put(k, { v: 'snapshot' })));
      snapshotId = (await client.createSnapshot('test')).id;
    } else {
      const values = new Set((await client.batchGet(keys)).map((r) => r?.bins.v ?? null));
      t.equal(values.size, 1, `round ${round}: one state for every key (${[...values].join(', ')})`);
      if (values.has('snapshot')) outcomes.restored++;
      else outcomes.old++;
    }
    if (round === ROUNDS) {
      await client.close();
      child.kill('SIGTERM');
      await exited;
      break;
    }
    await Promise.all(keys.map((k) => client.put(k, { v: `before restore ${round}` })));
    void client.restoreSnapshot('test', snapshotId).catch(() => undefined);
    // A restore takes a few hundred ms here: kills land before, during and after each of its steps.
    await sleep(Math.floor(rand() * 600));
    child.kill('SIGKILL');
    await exited;
    await client.close();
  }
  t.comment(`after the kills: ${outcomes.restored} restored, ${outcomes.old} old`);
});
