// Proves the OPERATE cost model: a call is refused with QUOTA_EXCEEDED before the op that would
// pass its budget, leaving the record untouched, and the bookkeeping behind the charges (map sizes
// kept per call, a repeated read-all answered from one copy) never changes what ops answer.
import t from 'tap';
import { Status } from '../../src/errors';
import { OpType } from '../../src/protocol/ops';
import type { Bins } from '../../src/protocol/ops';
import { applyOps } from '../../src/worker/operate';
import { PLAIN_KEY_COPY_UNITS, weightOf } from '../../src/worker/operate-cost';
import { prng, testSeed } from '../helpers/prng';

const O = OpType;

t.test('weights count elements deeply and bytes in COST_UNIT_BYTES steps', async (t) => {
  t.equal(weightOf(1), 1);
  t.equal(weightOf('x'.repeat(63)), 1);
  t.equal(weightOf('x'.repeat(64)), 2);
  t.equal(weightOf([1, 2, [3, 4]]), 1 + 1 + 1 + (1 + 2));
  t.equal(weightOf(new Map([[1, 'a']])), 1 + 2);
});

t.test('a call past its budget is refused before the op that passes it, and changes nothing', async (t) => {
  const bins: Bins = { l: Array.from({ length: 1000 }, (_, i) => i) };
  Object.freeze(bins.l);
  const ops: unknown[] = [];
  for (let i = 0; i < 100; i++) ops.push([O.READ, 'l'], [O.LIST_APPEND, 'l', i]);
  const r = applyOps(bins, ops, null, 50_000);
  t.equal(r.code, Status.QUOTA_EXCEEDED);
  t.same(r.results, [], 'no results');
  t.equal((bins.l as unknown[]).length, 1000, 'the record is untouched');
  t.equal(applyOps(bins, ops.slice(0, 10), null, 50_000).code, 0, 'a few copies fit');
});

t.test('the heartbeat hook is called as units are spent', async (t) => {
  const bins: Bins = {};
  for (let i = 0; i < 4096; i++) bins[`b${i}`] = i;
  let beats = 0;
  const r = applyOps(
    bins,
    Array.from({ length: 50 }, () => [O.READ, null]),
    () => beats++,
  );
  t.equal(r.code, 0);
  t.ok(beats >= 1, `${beats} beats`);
  t.equal(r.results[0], r.results[49], 'a repeated read-all answers one copy');
  t.ok(4096 * PLAIN_KEY_COPY_UNITS < 1 << 20);
});

t.test('map sizes kept per call agree with a model (seeded)', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const rand = prng(seed);
  for (let round = 0; round < 50; round++) {
    const initial: Record<string, number> = {};
    for (let i = 0; i < Math.floor(rand() * 20); i++) initial[`k${i}`] = i;
    const model = new Map(Object.entries(initial));
    const ops: unknown[] = [];
    const expected: unknown[] = [];
    for (let i = 0; i < 40; i++) {
      const key = `k${Math.floor(rand() * 25)}`;
      const pick = rand();
      if (pick < 0.3) {
        model.set(key, i);
        ops.push([O.MAP_PUT, 'm', key, i]);
        expected.push(model.size);
      } else if (pick < 0.5) {
        const had = model.get(key);
        model.delete(key);
        ops.push([O.MAP_REMOVE_BY_KEY, 'm', key]);
        expected.push(had ?? null);
      } else if (pick < 0.65) {
        const sum = (model.get(key) ?? 0) + 1;
        model.set(key, sum);
        ops.push([O.MAP_INCREMENT, 'm', key, 1]);
        expected.push(sum);
      } else if (pick < 0.8) {
        ops.push([O.READ, 'm']);
        expected.push(Object.fromEntries(model));
      } else {
        ops.push([O.MAP_SIZE, 'm']);
        expected.push(model.size);
      }
    }
    const r = applyOps({ m: initial }, ops);
    t.equal(r.code, 0);
    if (JSON.stringify(r.results) !== JSON.stringify(expected)) {
      t.same(r.results, expected, `round ${round} (seed ${seed})`);
      return;
    }
  }
  t.pass('every answer matched the model');
});
