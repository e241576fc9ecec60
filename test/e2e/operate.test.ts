// Proves operate() applies scalar, list and map operations atomically on a real node, with the
// record-level effects (generation, TTL, creation, deletion) and per-op results.
import t from 'tap';
import { Key, lists, maps, ops, status } from '../../src/index';
import { startTestNode } from '../helpers/node';

t.test('scalar operations', async (t) => {
  const { client } = await startTestNode(t);
  const k = new Key('test', 'op', 'scalar');
  const r = await client.operate(k, [ops.write('s', 'mid'), ops.incr('n', 5), ops.append('s', '-end'), ops.prepend('s', 'start-'), ops.read('s'), ops.read('n')]);
  t.equal(r.gen, 1, 'operate creates the record');
  t.equal(r.bins.s, 'start-mid-end');
  t.equal(r.bins.n, 5);
  t.same(r.results, [null, null, null, null, 'start-mid-end', 5]);
  const r2 = await client.operate(k, [ops.incr('n', -7), ops.incr('f', 1.5), ops.read(null)], { ttl: 50 });
  t.equal(r2.gen, 2);
  t.ok(r2.ttl >= 49 && r2.ttl <= 51);
  t.same(r2.results[2], { s: 'start-mid-end', n: -2, f: 1.5 });
  await t.rejects(client.operate(k, [ops.incr('s', 1)]), { code: status.BIN_TYPE });
  await t.rejects(client.operate(k, [ops.append('n', 'x')]), { code: status.BIN_TYPE });
  t.equal((await client.get(k)).gen, 2, 'a failed operate changes nothing');
  const touched = await client.operate(k, [ops.touch()], { ttl: 500 });
  t.equal(touched.gen, 3);
  t.ok(touched.ttl > 400);
  const big = await client.operate(k, [ops.write('i', 2n ** 63n - 1n), ops.incr('i', 1), ops.read('i')]);
  t.equal(big.results[2], -(2n ** 63n), 'integer increments wrap at 64 bits');
  await client.operate(k, [ops.delete()]);
  t.equal(await client.exists(k), null, 'delete op removes the record');
  await t.rejects(client.operate(k, [ops.read('s')]), { code: status.KEY_NOT_FOUND });
});

t.test('list operations', async (t) => {
  const { client } = await startTestNode(t);
  const k = new Key('test', 'op', 'list');
  const r = await client.operate(k, [lists.append('l', 'a'), lists.append('l', 'b'), lists.append('l', { c: 3 }), lists.size('l'), lists.get('l', -1)]);
  t.same(r.results, [1, 2, 3, 3, { c: 3 }]);
  const r2 = await client.operate(k, [lists.pop('l', 0), lists.remove('l', 0), lists.size('l'), ops.read('l')]);
  t.same(r2.results, ['a', 1, 1, [{ c: 3 }]]);
  await t.rejects(client.operate(k, [lists.get('l', 5)]), { code: status.OP_NOT_APPLICABLE });
  await client.put(k, { notList: 1 });
  await t.rejects(client.operate(k, [lists.append('notList', 1)]), { code: status.BIN_TYPE });
});

t.test('map operations', async (t) => {
  const { client } = await startTestNode(t);
  const k = new Key('test', 'op', 'map');
  const r = await client.operate(k, [maps.put('m', 'a', 1), maps.put('m', 'b', 'two'), maps.increment('m', 'a', 10), maps.size('m'), maps.getByKey('m', 'b'), maps.getByKey('m', 'zz')]);
  t.same(r.results, [1, 2, 11, 2, 'two', null]);
  const r2 = await client.operate(k, [maps.removeByKey('m', 'b'), maps.put('m', 7, 'seven'), ops.read('m')]);
  t.equal(r2.results[0], 'two');
  const m = r2.results[2] as Map<unknown, unknown>;
  t.ok(m instanceof Map, 'an integer key turns the map into a Map');
  t.equal(m.get('a'), 11);
  t.equal(m.get(7), 'seven');
  const stored = (await client.get(k)).bins.m as Map<unknown, unknown>;
  t.equal(stored.get(7), 'seven', 'integer map keys survive storage');
  await t.rejects(client.operate(k, [maps.increment('m', 7, 1)]), { code: status.BIN_TYPE });
});

t.test('operate honours write policies', async (t) => {
  const { client } = await startTestNode(t);
  const k = new Key('test', 'op', 'policy');
  await t.rejects(client.operate(k, [ops.write('a', 1)], undefined, { exists: 'update-only' }), { code: status.KEY_NOT_FOUND });
  await client.operate(k, [ops.write('a', 1)], undefined, { exists: 'create-only' });
  await t.rejects(client.operate(k, [ops.write('a', 2)], undefined, { exists: 'create-only' }), { code: status.KEY_EXISTS });
  await t.rejects(client.operate(k, [ops.write('a', 2)], { gen: 5 }, { genPolicy: 'eq' }), { code: status.GENERATION });
  t.equal((await client.operate(k, [ops.write('a', 2)], { gen: 1 }, { genPolicy: 'eq' })).gen, 2);
});
