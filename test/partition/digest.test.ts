// Proves that digests and partition ids match Aerospike's published test vectors bit for bit.
import t from 'tap';
import { computeDigest, partitionOf } from '../../src/partition/digest';
import { Status } from '../../src/errors';

t.test('reference vectors', async (t) => {
  const hex = (set: string, key: unknown) => computeDigest(set, key).toString('hex');
  t.equal(hex('demo', 'key'), '3bd475bd0c73f210b67ea83793300eeae576285d');
  t.equal(partitionOf(computeDigest('demo', 'key')), 1083);
  t.equal(hex('demo', 1), 'b7f4b83889e2da67de683e1df6919a1eacc446c8');
  t.equal(hex('demo', 2), 'ae6a515f37de4adacc4496e2da1fea848c3a9270');
  t.equal(hex('demo', 1n), 'b7f4b83889e2da67de683e1df6919a1eacc446c8');
  t.equal(hex('demo', '1'), '6576b4888ccf929c200b6fbd90d09df3f6d10cf3');
});

t.test('set and key types change the digest', async (t) => {
  const a = computeDigest('', 'k');
  t.not(a.toString('hex'), computeDigest('s', 'k').toString('hex'));
  t.not(computeDigest(null, Buffer.from('k')).toString('hex'), a.toString('hex'));
  t.same(computeDigest(null, 'k'), a, 'no set is the empty set');
  t.equal(computeDigest('s', -1).length, 20);
  t.equal(computeDigest('s', 2n ** 63n - 1n).length, 20);
});

t.test('rejected keys carry PARAMETER', async (t) => {
  for (const bad of ['', Buffer.alloc(0), 1.5, 2 ** 60, 2n ** 63n, null, {}, 'x'.repeat(5000)]) {
    t.throws(() => computeDigest('s', bad), { code: Status.PARAMETER }, String(bad));
  }
});

t.test('partition ids cover the range', async (t) => {
  const seen = new Set<number>();
  for (let i = 0; i < 50000; i++) seen.add(partitionOf(computeDigest('s', i)));
  t.ok(seen.size > 4000 && Math.max(...seen) <= 4095 && Math.min(...seen) >= 0);
});
