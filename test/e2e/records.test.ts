// Proves put, get, exists, remove and touch work through a real node for every bin type, with
// selected bins, bin deletion by null, digest-only keys and stored user keys.
import t from 'tap';
import { Key, status } from '../../src/index';
import { startTestNode } from '../helpers/node';

t.test('records round-trip every bin type', async (t) => {
  const { client } = await startTestNode(t);
  const key = new Key('test', 'people', 'ada');
  const bins = {
    int: 42,
    neg: -7,
    big: 2n ** 62n,
    minInt: -(2n ** 63n),
    float: 3.25,
    str: 'héllo 🌍',
    bytes: Buffer.from([0, 1, 2, 255]),
    yes: true,
    no: false,
    list: [1, 'two', [3, { four: 4 }]],
    map: { a: 1, nested: { b: [true, null] } },
    intMap: new Map<number, string>([
      [1, 'one'],
      [2, 'two'],
    ]),
  };
  const w = await client.put(key, bins);
  t.equal(w.gen, 1);
  t.equal(w.ttl, -1, 'default namespace ttl 0 means never expire');
  const r = await client.get(key);
  t.equal(r.gen, 1);
  t.same(r.bins, bins);
  t.equal(typeof r.bins.big, 'bigint');
  t.ok(Buffer.isBuffer(r.bins.bytes));
  t.ok(r.bins.intMap instanceof Map);

  const sel = await client.get(key, ['int', 'str', 'missing']);
  t.same(sel.bins, { int: 42, str: 'héllo 🌍' });

  const w2 = await client.put(key, { int: 43, no: null, added: 'x' });
  t.equal(w2.gen, 2);
  const r2 = await client.get(key);
  t.equal(r2.bins.int, 43);
  t.equal(r2.bins.no, undefined, 'null deletes the bin');
  t.equal(r2.bins.added, 'x');
  t.equal(r2.bins.str, 'héllo 🌍', 'update keeps other bins');
});

t.test('exists, touch and remove', async (t) => {
  const { client } = await startTestNode(t);
  const key = new Key('test', null, 7);
  t.equal(await client.exists(key), null);
  await client.put(key, { a: 1 });
  const e = await client.exists(key);
  t.equal(e?.gen, 1);
  const touched = await client.touch(key, 100);
  t.equal(touched.gen, 2);
  t.ok(touched.ttl > 98 && touched.ttl <= 101, `ttl ${touched.ttl}`);
  await client.remove(key);
  t.equal(await client.exists(key), null);
  await t.rejects(client.remove(key), { code: status.KEY_NOT_FOUND });
  await t.rejects(client.get(key), { code: status.KEY_NOT_FOUND });
  await t.rejects(client.touch(key), { code: status.KEY_NOT_FOUND });
});

t.test('key types and digest-only keys address the same record', async (t) => {
  const { client } = await startTestNode(t);
  const byString = new Key('test', 'demo', 'key');
  t.equal(Buffer.from(byString.digest).toString('hex'), '3bd475bd0c73f210b67ea83793300eeae576285d');
  await client.put(byString, { v: 'string key' });
  const byDigest = new Key('test', 'demo', { digest: byString.digest });
  t.equal((await client.get(byDigest)).bins.v, 'string key');
  await client.put(new Key('test', 'demo', 1), { v: 'int' });
  await client.put(new Key('test', 'demo', 2n ** 40n), { v: 'bigint' });
  await client.put(new Key('test', 'demo', Buffer.from('key')), { v: 'bytes' });
  t.equal((await client.get(new Key('test', 'demo', 1))).bins.v, 'int');
  t.equal((await client.get(new Key('test', 'demo', 2 ** 40))).bins.v, 'bigint', 'number and bigint of one value are one key');
  t.equal((await client.get(new Key('test', 'demo', Buffer.from('key')))).bins.v, 'bytes');
  t.equal((await client.get(byString)).bins.v, 'string key', 'bytes key differs from string key');
  t.equal(await client.get(new Key('test', 'other', 'key')).catch((e) => e.code), status.KEY_NOT_FOUND, 'set is hashed');
});

t.test('removing the last bin removes the record', async (t) => {
  const { client } = await startTestNode(t);
  const key = new Key('test', 's', 'last');
  await client.put(key, { only: 1 });
  await client.put(key, { only: null });
  t.equal(await client.exists(key), null);
});

t.test('an update naming every stored bin replaces them, drops a nil one and adds new ones', async (t) => {
  // The engine merges such an update from the stored names alone, without decoding their values.
  const { client } = await startTestNode(t);
  const key = new Key('test', 's', 'covered');
  await client.put(key, { a: 1, b: 'x' });
  const w = await client.put(key, { b: 'y', a: null, c: [1, 2] });
  t.equal(w.gen, 2);
  const r = await client.get(key);
  t.same(r.bins, { b: 'y', c: [1, 2] });
  t.same(Object.keys(r.bins), ['b', 'c'], 'stored bins first, in their order, then the new ones');
});

t.test('the user key is stored only when asked', async (t) => {
  const { client } = await startTestNode(t);
  await client.put(new Key('test', 'keys', 'kept'), { a: 1 }, undefined, { sendKey: true });
  await client.put(new Key('test', 'keys', 'dropped'), { a: 2 });
  const seen = new Map<number, unknown>();
  for await (const rec of client.scan('test', 'keys')) seen.set(rec.bins.a as number, rec.key.value);
  t.equal(seen.get(1), 'kept');
  t.notOk(seen.get(2), 'no key without sendKey');
  // A later write without sendKey keeps the stored key.
  await client.put(new Key('test', 'keys', 'kept'), { a: 3 });
  seen.clear();
  for await (const rec of client.scan('test', 'keys')) seen.set(rec.bins.a as number, rec.key.value);
  t.equal(seen.get(3), 'kept');
});
