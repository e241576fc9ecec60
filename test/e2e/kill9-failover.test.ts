// Proves a file-backed node with two copies of every partition loses no acknowledged write when it
// is killed with SIGKILL while a worker is failing over, being rebuilt or handing its partitions
// back: seeded rounds against a real `aerie start` process, each injecting a worker fault (crash,
// exit, hang or stall) at a random moment, then killing the node at another. Each restart must
// serve every key at its newest acknowledged value (or a later in-doubt one), from whichever copy
// the recorded stale copies leave current (docs/replication.md, File namespaces and cold start).
// Then fewer rounds with a client routing by partition to the workers' own endpoints, whose
// connections die with their worker.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect, Key, type Routing } from '../../src/index';
import { sleep } from '../helpers/node';
import { prng, testSeed } from '../helpers/prng';
import { partitionOf } from '../../src/partition/digest';
import { startCliNode } from '../helpers/cli-node';
import { allowedValues, story, streamWrites, type Entry, type StreamTally } from '../helpers/history';

const ROUNDS = Number(process.env.KILL9_ROUNDS ?? 10);
const ROUNDS_ROUTED = Number(process.env.KILL9_ROUTED_ROUNDS ?? Math.ceil(ROUNDS / 2.5));
const KEYS = 150;
const KINDS = ['crash', 'exit', 'hang', 'stall'] as const;

function configFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-kill9-failover-'));
  const config = path.join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      service: { port: 0 },
      workers: { count: 2 },
      supervisor: { faultInjection: true, heartbeatTimeoutMs: 300, crashLoopMax: 1000, restartDelayMsMin: 10, restartDelayMsMax: 50 },
      namespaces: [{ name: 'test', storage: 'file', dataDir: path.join(dir, 'data'), replicationFactor: 2 }],
      log: { level: 'warn' },
    }),
  );
  return config;
}

t.test('kill -9 during failover and rebuild loses no acknowledged write (front client)', (t) => kill9Failover(t, 'front', ROUNDS));
t.test('kill -9 during failover and rebuild loses no acknowledged write (partition-routed client)', (t) => kill9Failover(t, 'partition', ROUNDS_ROUTED));

async function kill9Failover(t: Test, routing: Routing, rounds: number): Promise<void> {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const rand = prng(seed);
  const config = configFile();
  const history = new Map<number, Entry[]>();
  const problems: string[] = [];
  let faults = 0;
  const tally: StreamTally = { nextValue: 1, acked: 0 };
  let lastRound = '';

  for (let round = 0; round <= rounds; round++) {
    const { child, host, exited } = await startCliNode(config);
    const client = await connect({ hosts: host, reconnect: false, timeoutMs: 5000, routing });
    client.on('error', () => undefined);

    // What survived the previous kill, against the history.
    const got = await client.batchGet(Array.from({ length: KEYS }, (_, k) => new Key('test', 'kf', k)));
    for (let k = 0; k < KEYS; k++) {
      const log = history.get(k) ?? [];
      const allowed = allowedValues(log);
      const v = (got[k]?.bins.v as number | undefined) ?? null;
      if (!allowed.includes(v)) {
        const p = partitionOf(new Key('test', 'kf', k).digest);
        problems.push(`round ${round} key ${k} (partition ${p}, configured master ${p % 2}; last round: ${lastRound}): found ${v}, allowed ${JSON.stringify(allowed)}; history ${story(log)}`);
      }
      history.set(k, [{ value: v, outcome: 'ok' }]);
    }
    if (round === rounds) {
      await client.close();
      child.kill('SIGKILL');
      await exited;
      break;
    }

    const stopWriting = streamWrites(client, 'kf', KEYS, history, rand, tally);
    // A fault soon, and the kill anywhere from before its detection to after the rebuild.
    await sleep(30 + Math.floor(rand() * 100));
    const kind = KINDS[Math.floor(rand() * KINDS.length)];
    const worker = Math.floor(rand() * 2);
    await client.injectFault({ worker, kind }).then(
      () => faults++,
      () => undefined,
    );
    const killAfterMs = Math.floor(rand() * 900);
    lastRound = `${kind} of worker ${worker}, kill ${killAfterMs} ms later`;
    await sleep(killAfterMs);
    child.kill('SIGKILL');
    await exited;
    await stopWriting();
    await client.close();
  }
  t.ok(tally.acked > rounds * 30, `${tally.acked} writes acknowledged over ${rounds} kills, ${faults} worker faults`);
  t.same(problems.slice(0, 10), [], `every acknowledged write survived (seed ${seed})`);
}
