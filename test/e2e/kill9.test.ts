// Proves a file-backed node killed with SIGKILL at random moments, during streams of
// acknowledged writes and deletes, comes back with every acknowledged write at its latest value
// and nothing that was never written: 20 seeded rounds against a real `aerie start` process, half
// of them with a snapshot taken at a random moment (so kills land at every step of it); then 5
// more rounds with a client routing by partition to the workers' own endpoints.
import t from 'tap';
import type { Test } from 'tap';
import { connect, Key, type Routing } from '../../src/index';
import { sleep } from '../helpers/node';
import { prng, testSeed } from '../helpers/prng';
import { fileNodeConfig, startCliNode } from '../helpers/cli-node';
import { allowedValues, streamWrites, type Entry, type StreamTally } from '../helpers/history';

const ROUNDS = Number(process.env.KILL9_ROUNDS ?? 20);
const ROUNDS_ROUTED = Number(process.env.KILL9_ROUTED_ROUNDS ?? Math.ceil(ROUNDS / 4));
const KEYS = 150;

t.test('kill -9 loses no acknowledged write (front client)', (t) => kill9(t, 'front', ROUNDS));
t.test('kill -9 loses no acknowledged write (partition-routed client)', (t) => kill9(t, 'partition', ROUNDS_ROUTED));

async function kill9(t: Test, routing: Routing, rounds: number): Promise<void> {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const rand = prng(seed);
  const config = fileNodeConfig('kill9');
  const history = new Map<number, Entry[]>();
  const problems: string[] = [];
  let snapshots = 0;
  const tally: StreamTally = { nextValue: 1, acked: 0 };

  for (let round = 0; round < rounds; round++) {
    const { child, host, exited } = await startCliNode(config);
    const client = await connect({ hosts: host, reconnect: false, timeoutMs: 5000, routing });
    client.on('error', () => undefined);

    // Check what survived the previous kill against the history.
    const got = await client.batchGet(Array.from({ length: KEYS }, (_, k) => new Key('test', 'k9', k)));
    for (let k = 0; k < KEYS; k++) {
      const allowed = allowedValues(history.get(k) ?? []);
      const v = (got[k]?.bins.v as number | undefined) ?? null;
      if (!allowed.includes(v)) problems.push(`round ${round} key ${k}: found ${v}, allowed ${JSON.stringify(allowed)}`);
      // What is there now is the new baseline, acknowledged as far as the next round is concerned.
      history.set(k, [{ value: v, outcome: 'ok' }]);
    }

    // Stream writes (and some deletes), one at a time per key, until the kill.
    const stopWriting = streamWrites(client, 'k9', KEYS, history, rand, tally);
    // Every other round also takes a snapshot at a random moment, so some kills land while its
    // files are written, made the base, or the log it covers is released.
    const snapshotAfterMs = rand() < 0.5 ? Math.floor(rand() * 200) : -1;
    if (snapshotAfterMs >= 0) {
      void sleep(snapshotAfterMs).then(() =>
        client.createSnapshot('test').then(
          () => snapshots++,
          () => undefined,
        ),
      );
    }
    // A snapshot takes a few hundred ms: those rounds run longer, so kills land at every step.
    await sleep(snapshotAfterMs >= 0 ? snapshotAfterMs + Math.floor(rand() * 600) : 50 + Math.floor(rand() * 250));
    child.kill('SIGKILL');
    await exited;
    await stopWriting();
    await client.close();
  }
  t.ok(tally.acked > rounds * 50, `${tally.acked} writes acknowledged over ${rounds} kills`);
  t.comment(`${snapshots} snapshots completed between kills`);
  t.same(problems.slice(0, 10), [], `every acknowledged write survived (seed ${seed})`);
}
