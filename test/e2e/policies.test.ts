// Proves the record-exists, generation and TTL policies through a real node, including real expiry.
import t from 'tap';
import { Key, status } from '../../src/index';
import { sleep, startTestNode } from '../helpers/node';
import { waitForValue } from '../helpers/wait';

t.test('record-exists policies', async (t) => {
  const { client } = await startTestNode(t);
  const k = new Key('test', 'p', 'exists');
  await t.rejects(client.put(k, { a: 1 }, undefined, { exists: 'update-only' }), { code: status.KEY_NOT_FOUND });
  await t.rejects(client.put(k, { a: 1 }, undefined, { exists: 'replace-only' }), { code: status.KEY_NOT_FOUND });
  await client.put(k, { a: 1, b: 2 }, undefined, { exists: 'create-only' });
  await t.rejects(client.put(k, { a: 9 }, undefined, { exists: 'create-only' }), { code: status.KEY_EXISTS });
  await client.put(k, { a: 3 }, undefined, { exists: 'update-only' });
  t.same((await client.get(k)).bins, { a: 3, b: 2 }, 'update merges');
  await client.put(k, { c: 4 }, undefined, { exists: 'replace' });
  t.same((await client.get(k)).bins, { c: 4 }, 'replace drops other bins');
  await client.put(k, { d: 5 }, undefined, { exists: 'replace-only' });
  t.same((await client.get(k)).bins, { d: 5 });
  await client.put(new Key('test', 'p', 'new'), { e: 1 }, undefined, { exists: 'replace' });
  t.same((await client.get(new Key('test', 'p', 'new'))).bins, { e: 1 }, 'replace creates');
  await t.rejects(client.put(k, { a: 1 }, undefined, { exists: 9 as never }), { code: status.PARAMETER });
});

t.test('generation policies', async (t) => {
  const { client } = await startTestNode(t);
  const k = new Key('test', 'p', 'gen');
  await client.put(k, { v: 1 });
  await client.put(k, { v: 2 });
  await t.rejects(client.put(k, { v: 3 }, { gen: 1 }, { genPolicy: 'eq' }), { code: status.GENERATION });
  // The refusal names both generations: the one expected and the one found.
  const refused = await client.put(k, { v: 3 }, { gen: 1 }, { genPolicy: 'eq' }).then(
    () => new Error('accepted'),
    (e: Error) => e,
  );
  t.ok(/\b1\b/.test(refused.message) && /\b2\b/.test(refused.message), `expected and found in '${refused.message}'`);
  t.equal((await client.put(k, { v: 3 }, { gen: 2 }, { genPolicy: 'eq' })).gen, 3);
  await t.rejects(client.put(k, { v: 4 }, { gen: 3 }, { genPolicy: 'gt' }), { code: status.GENERATION });
  t.equal((await client.put(k, { v: 4 }, { gen: 10 }, { genPolicy: 'gt' })).gen, 4);
  await t.rejects(client.remove(k, { gen: 1, genPolicy: 'eq' }), { code: status.GENERATION });
  await t.rejects(client.touch(k, undefined, { gen: 1, genPolicy: 'eq' }), { code: status.GENERATION });
  await client.remove(k, { gen: 4, genPolicy: 'eq' });
  t.equal(await client.exists(k), null);
});

t.test('generation wraps 65535 -> 1', async (t) => {
  const { client } = await startTestNode(t);
  const k = new Key('test', 'p', 'wrap');
  await client.put(k, { v: 0 });
  const writes: Promise<{ gen: number }>[] = [];
  for (let i = 0; i < 65535; i++) writes.push(client.touch(k, -2));
  const gens = (await Promise.all(writes)).map((w) => w.gen);
  t.equal(Math.max(...gens), 65535);
  t.equal(gens[gens.length - 1], 1, 'the 65535th touch wrapped the generation to 1');
  t.equal((await client.exists(k))?.gen, 1);
});

t.test('ttl: never, namespace default, unchanged, seconds, and real expiry', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.namespaces.push({ ...c.namespaces[0], name: 'short', defaultTtlSec: 3600 });
  });
  const k = new Key('test', 'ttl', 'a');
  t.equal((await client.put(k, { v: 1 }, { ttl: -1 })).ttl, -1);
  // The void-time is rounded up to a whole second, but the TTL shown is the whole seconds left:
  // the write answers its own TTL, never one more (it showed 11 for 10, 3601 for 3600).
  t.equal((await client.put(k, { v: 2 }, { ttl: 10 })).ttl, 10, 'a write answers its TTL');
  const read = await client.get(k);
  t.ok(read.ttl >= 1 && read.ttl <= 10, `a read shows the seconds left (${read.ttl})`);
  t.ok((await client.exists(k))!.ttl <= 10, 'so does exists');
  t.ok((await client.batchGet([k]))[0]!.ttl <= 10, 'and a batch read');
  const kept = await client.put(k, { v: 3 }, { ttl: -2 });
  t.ok(kept.ttl >= 1 && kept.ttl <= 10, 'ttl -2 keeps the void-time');
  t.equal((await client.put(new Key('short', 's', 'a'), { v: 1 })).ttl, 3600, 'namespace default');
  t.ok((await client.get(new Key('short', 's', 'a'))).ttl <= 3600, 'namespace default, read back');
  t.equal((await client.put(new Key('short', 's', 'b'), { v: 1 }, { ttl: -1 })).ttl, -1);
  await t.rejects(client.put(k, { v: 1 }, { ttl: -3 }), { code: status.PARAMETER });

  const gone = new Key('test', 'ttl', 'expiring');
  await client.put(gone, { v: 1 }, { ttl: 1 });
  t.ok(await client.exists(gone), 'visible before expiry');
  // A sleep, not a wait: the condition is the clock passing the void-time (a TTL of 1 s rounds it up
  // to at most 2 s from now), and the record must be invisible from then on, not once a sweep ran.
  await sleep(2100);
  t.equal(await client.exists(gone), null, 'invisible once expired');
  await t.rejects(client.get(gone), { code: status.KEY_NOT_FOUND });
  t.equal((await client.put(gone, { v: 2 }, undefined, { exists: 'create-only' })).gen, 1, 'an expired record is absent for create-only');
});

t.test('expired records are reclaimed in the background', async (t) => {
  const { client } = await startTestNode(t);
  const puts = [];
  // A TTL long enough that none expires before INFO has counted them all, on a loaded machine too.
  for (let i = 0; i < 500; i++) puts.push(client.put(new Key('test', 'sweep', i), { v: 'x'.repeat(100) }, { ttl: 4 }));
  await Promise.all(puts);
  const recordsOf = async () => ((await client.info()).namespaces as { records: number }[])[0].records;
  // INFO's counts are published by the workers every few tens of milliseconds.
  t.equal(await waitForValue(recordsOf, (n) => n >= 500, { what: 'INFO to count the 500 records', timeoutMs: 2000, intervalMs: 20 }), 500);
  await waitForValue(recordsOf, (n) => n === 0, { what: 'the sweep to remove every expired record', timeoutMs: 15_000, intervalMs: 200 });
  t.equal(await recordsOf(), 0, 'the sweep removed every expired record without reads');
});
