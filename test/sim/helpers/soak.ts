// Long soak of the simulation: `npm run soak -- --minutes N [--steps S] [--keys K] [--seed X]`.
// Runs seeded schedules back to back until the time is up and prints, per seed, the operations,
// faults and admin operations it ran; on a failure it replays the failing schedule's prefix once
// to confirm it, prints the seed, the prefix and the problems, and exits 1.

import { parseArgs } from 'node:util';
import { Simulation, SIM_NAMESPACES, SIM_WORKERS, type SimStats } from './runner';
import { describe, makeSchedule } from './schedule';
import { testSeed } from '../../helpers/prng';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    steps: { type: 'string', default: '40' },
    keys: { type: 'string', default: '300' },
    seed: { type: 'string' },
  },
});
const minutes = Number(values.minutes);
/** Lines of the failing schedule's log printed with a failure. */
const LOG_LINES_KEPT = 80;
const stepCount = Number(values.steps);
const keys = Number(values.keys);

async function main(): Promise<number> {
  const endAtMs = Date.now() + minutes * 60_000;
  const total = { schedules: 0, writes: 0, reads: 0, faults: 0, kills: 0, admin: 0, checks: 0 };
  const combos = new Set<string>();
  let seed = values.seed !== undefined ? Number(values.seed) >>> 0 : testSeed();
  const startedAtMs = Date.now();
  while (Date.now() < endAtMs) {
    const steps = makeSchedule({ seed, steps: stepCount, workers: SIM_WORKERS, namespaces: SIM_NAMESPACES, kill9: true });
    for (const s of steps) if (s.kind === 'admin') combos.add(`${s.op} × ${s.fault === null ? 'none' : s.fault.kind}`);
    const lines: string[] = [];
    const result = await new Simulation(seed, keys, (line) => {
      lines.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
      if (lines.length > LOG_LINES_KEPT) lines.shift();
    }).run(steps);
    add(total, result.stats);
    total.schedules++;
    console.log(`seed ${seed}: ${result.problems.length === 0 ? 'ok' : 'FAILED'} ${JSON.stringify(result.stats)}`);
    if (result.failedAtStep >= 0) {
      const prefix = steps.slice(0, result.failedAtStep + 1);
      console.log(`problems:\n  ${result.problems.slice(0, 10).join('\n  ')}`);
      console.log(`schedule prefix (${prefix.length} steps):\n${describe(prefix)}`);
      console.log(`last steps run:\n${lines.join('\n')}`);
      const replay = await new Simulation(seed, keys).run(prefix);
      console.log(`replay of the prefix: ${replay.problems.length === 0 ? 'did not reproduce (timing)' : `reproduced: ${replay.problems[0]}`}`);
      return 1;
    }
    seed = (seed + 0x9e3779b9) >>> 0;
  }
  const hours = (Date.now() - startedAtMs) / 3_600_000;
  console.log(`soak: ${total.schedules} schedules in ${(hours * 60).toFixed(1)} min, clean`);
  console.log(
    `per hour: ${Math.round(total.writes / hours)} writes, ${Math.round(total.reads / hours)} reads, ` +
      `${Math.round(total.faults / hours)} worker faults, ${Math.round(total.kills / hours)} kill -9, ` +
      `${Math.round(total.admin / hours)} admin operations, ${Math.round(total.checks / hours)} full checks`,
  );
  console.log(`admin operation × fault combinations covered: ${combos.size}`);
  return 0;
}

function add(total: Record<string, number>, s: SimStats): void {
  total.writes += s.writes.ok + s.writes.doubt + s.writes.failed;
  total.reads += s.reads;
  total.faults += s.faults;
  total.kills += s.kills;
  total.checks += s.checks;
  for (const o of Object.values(s.admin)) total.admin += o.ok + o.doubt + o.failed;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
