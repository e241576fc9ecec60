// Proves that Key validates like Aerospike's clients, computes the reference digests lazily, and
// puts the user key (not the digest) on the wire unless only the digest is known.
import t from 'tap';
import { Key } from '../../src/client/key';
import { Status } from '../../src/errors';

t.test('digests match the reference vectors', async (t) => {
  t.equal(Buffer.from(new Key('test', 'demo', 'key').digest).toString('hex'), '3bd475bd0c73f210b67ea83793300eeae576285d');
  t.equal(new Key('test', 'demo', 'key').partitionId, 1083);
  t.equal(Buffer.from(new Key('test', 'demo', 1).digest).toString('hex'), 'b7f4b83889e2da67de683e1df6919a1eacc446c8');
  t.equal(Buffer.from(new Key('test', 'demo', 2n).digest).toString('hex'), 'ae6a515f37de4adacc4496e2da1fea848c3a9270');
  t.equal(Buffer.from(new Key('test', 'demo', '1').digest).toString('hex'), '6576b4888ccf929c200b6fbd90d09df3f6d10cf3');
  t.same(new Key('other-ns', 'demo', 'key').digest, new Key('test', 'demo', 'key').digest, 'the namespace is not hashed');
});

t.test('empty set and null set are the same set', async (t) => {
  t.equal(new Key('test', '', 'k').set, null);
  t.equal(new Key('test', undefined, 'k').set, null);
  t.same(new Key('test', null, 'k').digest, new Key('test', '', 'k').digest);
});

t.test('wire form carries the user key, or the digest when that is all there is', async (t) => {
  t.same(new Key('test', 'demo', 'k').toWire(), { ns: 'test', set: 'demo', key: 'k' });
  t.same(new Key('test', null, 7).toWire(), { ns: 'test', key: 7 });
  const digest = new Key('test', 'demo', 'k').digest;
  const byDigest = new Key('test', 'demo', { digest });
  t.equal(byDigest.value, null);
  t.same(byDigest.toWire(), { ns: 'test', set: 'demo', digest });
  t.match(byDigest.toString(), /^test:demo:digest:[0-9a-f]{40}$/);
  t.equal(new Key('test', 'demo', 'k').toString(), 'test:demo:"k"');
});

t.test('a digest given with a user key is trusted', async (t) => {
  const digest = Buffer.alloc(20, 7);
  const key = new Key('test', 'demo', 'k', digest);
  t.equal(key.digest, digest);
  t.same(key.toWire(), { ns: 'test', set: 'demo', key: 'k' });
});

t.test('rejected keys and names carry PARAMETER', async (t) => {
  const bad: Array<() => unknown> = [
    () => new Key('test', 'demo', ''),
    () => new Key('test', 'demo', Buffer.alloc(0)),
    () => new Key('test', 'demo', 1.5),
    () => new Key('test', 'demo', 2 ** 60),
    () => new Key('test', 'demo', 2n ** 63n),
    () => new Key('test', 'demo', 'x'.repeat(1025)),
    () => new Key('test', 'demo', null as never),
    () => new Key('test', 'demo', {} as never),
    () => new Key('test', 'demo', { digest: Buffer.alloc(19) }),
    () => new Key('', 'demo', 'k'),
    () => new Key('n'.repeat(32), 'demo', 'k'),
    () => new Key('test', 's'.repeat(64), 'k'),
    () => new Key('test', 5 as never, 'k'),
  ];
  for (const make of bad) t.throws(make, { code: Status.PARAMETER }, make.toString());
  t.ok(new Key('test', 'demo', -(2n ** 63n)), 'the smallest int64 is a valid key');
});
