// Proves, by a seeded simulation against a real node (child process, real threads, files and
// fsync), that client writes, deletes, operates and reads, interleaved with every documented admin
// operation and with worker faults and kill -9 landing inside them, never lose an acknowledged
// write, never show a value the model does not allow, and leave INFO's counts and copies true.
// Fixed seeds plus one random one; a failure prints the seed and the schedule prefix that hit it.
import t from 'tap';
import { testSeed } from '../helpers/prng';
import { Simulation, SIM_NAMESPACES, SIM_WORKERS } from './helpers/runner';
import { describe, makeSchedule } from './helpers/schedule';

const FIXED_SEEDS = [1, 2];
const STEPS = Number(process.env.SIM_STEPS ?? 24);
const KEYS = 300;

// The fixed seeds and one random one (printed; AERIE_SEED=N replays it alone).
const seeds = process.env.AERIE_SEED !== undefined ? [testSeed()] : [...FIXED_SEEDS, testSeed()];
for (const seed of seeds) {
  t.test(`simulation seed ${seed}`, async (t) => {
    const steps = makeSchedule({ seed, steps: STEPS, workers: SIM_WORKERS, namespaces: SIM_NAMESPACES, kill9: true });
    const lines: string[] = [];
    const sim = new Simulation(seed, KEYS, (line) => lines.push(line));
    const result = await sim.run(steps);
    t.comment(`seed ${seed}: ${JSON.stringify(result.stats)}`);
    t.ok(result.stats.writes.ok > 100, `writes were acknowledged (${result.stats.writes.ok})`);
    t.ok(result.stats.checks >= 1, 'the schedule was checked');
    if (result.failedAtStep >= 0) {
      t.comment(`replay: AERIE_SEED=${seed} SIM_STEPS=${STEPS} npx tap dist/test/sim/sim.test.js`);
      t.comment(`schedule up to the failure:\n${describe(steps.slice(0, result.failedAtStep + 1))}`);
      t.comment(`last log lines:\n${lines.slice(-30).join('\n')}`);
    }
    t.same(result.problems.slice(0, 10), [], `no problem (seed ${seed})`);
  });
}
