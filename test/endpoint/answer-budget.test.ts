// Proves the answer budget's arithmetic: a bound per op within the client's frame, a node that
// holding nothing always takes one request, and that only connections not reading are evicted.
import t from 'tap';
import { AnswerBudget, type BudgetHolder } from '../../src/endpoint/answer-budget';
import { Op } from '../../src/protocol/ops';
import { ANSWER_STALL_MS } from '../../src/constants';
import { Status } from '../../src/errors';

const MIB = 1024 * 1024;

t.test('estimates are bounded by the record and the frame', async (t) => {
  const b = new AnswerBudget(64 * MIB, 16 * MIB, MIB);
  t.equal(b.estimate(Op.GET, 0, 16 * MIB), MIB + 64);
  t.equal(b.estimate(Op.BATCH_GET, 2, 16 * MIB), 64 + 2 * (MIB + 32));
  t.equal(b.estimate(Op.BATCH_GET, 5000, 16 * MIB), 16 * MIB, 'a batch never reserves more than a frame');
  t.equal(b.estimate(Op.BATCH_EXISTS, 10, 16 * MIB), 64 + 320);
  t.equal(b.estimate(Op.PUT, 0, 16 * MIB), 256);
  t.throws(() => new AnswerBudget(MIB, 2 * MIB, MIB), { code: Status.SERVER_ERROR }, 'a connection may not exceed the node: an invariant');
});

t.test('the node takes up to its bound, and one request when it holds nothing', async (t) => {
  const b = new AnswerBudget(4 * MIB, 2 * MIB, MIB);
  t.ok(b.fits(100 * MIB), 'an empty node takes any one request');
  b.take(3 * MIB);
  t.ok(b.fits(MIB));
  t.notOk(b.fits(MIB + 1));
  b.give(3 * MIB);
  t.equal(b.used, 0);
});

t.test('when short, only holders stalled past ANSWER_STALL_MS are evicted', async (t) => {
  const b = new AnswerBudget(4 * MIB, 2 * MIB, MIB);
  const evicted: string[] = [];
  const holder = (name: string, stalled: number): BudgetHolder & { budgetFreed(): void } => ({
    stalledBytes: (_now, stallMs) => (t.equal(stallMs, ANSWER_STALL_MS), stalled),
    evict: () => evicted.push(name),
    budgetFreed: () => {},
  });
  const reading = holder('reading', 0);
  const stuck = holder('stuck', 2 * MIB);
  b.hold(reading);
  b.hold(stuck);
  b.take(4 * MIB);
  b.wait(reading);
  t.same(evicted, ['stuck']);
  b.forget(reading);
  b.forget(stuck);
});
