// Proves each Client method sends exactly the wire body of protocol/ops.ts and shapes the answer
// as documented, against a scripted mock node (no real node needed).
import t from 'tap';
import { connect, Key, lists, ops, type Client } from '../../src/client';
import { Status } from '../../src/errors';
import { Exists, GenPolicy, Op, OpType } from '../../src/protocol/ops';
import { CLIENT_VERSION } from '../../src/client/version';
import { DEFAULT_HELLO, MockNode, type MockRequest } from '../helpers/scripted-node';

/** Scripted answers by op; the default answers OK with nil. */
const answers = new Map<number, (request: MockRequest) => void>();

async function setup(t: { teardown(fn: () => unknown): void }, hello = DEFAULT_HELLO): Promise<{ node: MockNode; client: Client }> {
  answers.clear();
  const node = await MockNode.start({
    hello: () => [0, hello],
    onRequest: (request) => (answers.get(request.op) ?? ((r) => r.reply(0, null)))(request),
  });
  const client = await connect({ hosts: node.host, user: 'u', password: 'p', timeoutMs: 2000 });
  t.teardown(async () => {
    await client.close();
    await node.close();
  });
  return { node, client };
}

const key = new Key('test', 'demo', 'k1');

t.test('HELLO first, and its answer kept as client.server', async (t) => {
  const { node, client } = await setup(t);
  t.same(node.hellos, [{ protocol: 1, client: `aerie-ts/${CLIENT_VERSION}`, maxFrameBytes: 64 * 1024 * 1024, user: 'u', password: 'p' }]);
  t.same(client.server, DEFAULT_HELLO);
  t.equal(client.state, 'connected');
});

t.test('put, get, exists, remove, touch', async (t) => {
  const { node, client } = await setup(t);
  answers.set(Op.PUT, (r) => r.reply(0, { gen: 1, ttl: 60 }));
  answers.set(Op.GET, (r) => r.reply(0, { gen: 1, ttl: 59, bins: { a: 1, big: 2n ** 62n } }));
  answers.set(Op.EXISTS, (r) => r.reply(Status.KEY_NOT_FOUND, null));
  answers.set(Op.TOUCH, (r) => r.reply(0, { gen: 2, ttl: 100 }));
  answers.set(Op.REMOVE, (r) => r.reply(0, null));

  t.same(await client.put(key, { a: 1, gone: undefined }, { ttl: 60, gen: 0 }, { exists: 'create-only', genPolicy: 'eq', sendKey: true }), { gen: 1, ttl: 60 });
  t.same(node.requests.at(-1)!.body, {
    ns: 'test',
    set: 'demo',
    key: 'k1',
    bins: { a: 1 },
    ttl: 60,
    gen: 0,
    exists: Exists.CREATE_ONLY,
    genPolicy: GenPolicy.EXPECT_GEN_EQUAL,
    sendKey: true,
  });

  const record = await client.get(key, ['a', 'big']);
  t.same(node.requests.at(-1)!.body, { ns: 'test', set: 'demo', key: 'k1', bins: ['a', 'big'] });
  t.equal(record.key, key);
  t.same(record.bins, { a: 1, big: 2n ** 62n });
  t.equal(record.gen, 1);

  t.equal(await client.exists(key), null);
  t.same(await client.touch(key, 100, { gen: 1, genPolicy: 'gt' }), { gen: 2, ttl: 100 });
  t.same(node.requests.at(-1)!.body, { ns: 'test', set: 'demo', key: 'k1', ttl: 100, gen: 1, genPolicy: GenPolicy.EXPECT_GEN_GT });
  t.equal(await client.remove(key), key);
  t.same(node.requests.at(-1)!.body, { ns: 'test', set: 'demo', key: 'k1' });

  answers.set(Op.GET, (r) => r.reply(Status.KEY_NOT_FOUND, { message: 'no such record' }));
  await t.rejects(client.get(key), { code: Status.KEY_NOT_FOUND, message: 'no such record', inDoubt: false });
  answers.set(Op.REMOVE, (r) => r.reply(Status.KEY_NOT_FOUND, null));
  await t.rejects(client.remove(key), { code: Status.KEY_NOT_FOUND, inDoubt: false });
  answers.set(Op.PUT, (r) => r.reply(Status.TIMEOUT, null));
  await t.rejects(client.put(key, { a: 1 }), { code: Status.TIMEOUT, inDoubt: true }, 'a server TIMEOUT on a write is in doubt');
});

t.test('digest-only keys send the digest', async (t) => {
  const { node, client } = await setup(t);
  const byDigest = new Key('test', null, { digest: key.digest });
  await t.rejects(client.get(byDigest), { code: Status.PARAMETER }, 'nil body is a malformed get answer');
  t.same(node.requests.at(-1)!.body, { ns: 'test', digest: key.digest });
});

t.test('operate', async (t) => {
  const { node, client } = await setup(t);
  answers.set(Op.OPERATE, (r) => r.reply(0, { gen: 3, ttl: -1, results: [null, 6, 2] }));
  const result = await client.operate(key, [ops.incr('n', 1), ops.read('n'), lists.append('l', 'x')], { ttl: -1 });
  t.same(node.requests.at(-1)!.body, {
    ns: 'test',
    set: 'demo',
    key: 'k1',
    ttl: -1,
    ops: [
      [OpType.INCR, 'n', 1],
      [OpType.READ, 'n'],
      [OpType.LIST_APPEND, 'l', 'x'],
    ],
  });
  t.same(result.bins, { n: 6, l: 2 });
  t.same(result.results, [null, 6, 2]);
  t.equal(result.gen, 3);
});

t.test('batches split at the server batch limit and keep key order', async (t) => {
  const { node, client } = await setup(t, { ...DEFAULT_HELLO, limits: { ...DEFAULT_HELLO.limits, batchKeysMax: 2 } });
  answers.set(Op.BATCH_GET, (r) => {
    const keys = (r.body as { keys: { key: number }[] }).keys;
    r.reply(0, { records: keys.map((k) => (k.key % 2 === 0 ? [2, 0, 0, null] : [0, 1, 10, { n: k.key }])) });
  });
  const keys = [1, 2, 3, 4, 5].map((n) => new Key('test', 'demo', n));
  const records = await client.batchGet(keys, ['n']);
  t.same(
    records.map((r) => (r === null ? null : r.bins.n)),
    [1, null, 3, null, 5],
  );
  const batches = node.requests.filter((r) => r.op === Op.BATCH_GET).map((r) => r.body as { keys: unknown[]; bins: string[] });
  t.same(
    batches.map((b) => b.keys.length),
    [2, 2, 1],
  );
  t.same(batches[0], {
    keys: [
      { ns: 'test', set: 'demo', key: 1 },
      { ns: 'test', set: 'demo', key: 2 },
    ],
    bins: ['n'],
  });
  t.same(await client.batchGet([]), []);

  answers.set(Op.BATCH_EXISTS, (r) => r.reply(0, { records: (r.body as { keys: unknown[] }).keys.map(() => [0, 1, 5]) }));
  t.same(
    (await client.batchExists(keys.slice(0, 3))).map((r) => r?.gen),
    [1, 1, 1],
  );
});

t.test('scan pages and the scan iterator', async (t) => {
  const { node, client } = await setup(t);
  const digests = [1, 2, 3].map((n) => new Key('test', 'demo', n).digest);
  answers.set(Op.SCAN, (r) => {
    const cursor = (r.body as { cursor?: Buffer }).cursor;
    const at = cursor === undefined ? 0 : cursor[0];
    const records = at < 3 ? [[digests[at], 'demo', at + 1, 1, -1, { n: at + 1 }]] : [];
    r.reply(0, { records, cursor: at + 1 < 3 ? Buffer.from([at + 1]) : null });
  });
  const page = await client.scanPage('test', 'demo', { pageSize: 1, bins: ['n'] });
  t.same(node.requests.at(-1)!.body, { ns: 'test', set: 'demo', pageSize: 1, bins: ['n'] });
  t.same(page.cursor, Buffer.from([1]));
  t.equal(page.records[0].key.value, 1);
  const all = await client.scan('test', 'demo', { pageSize: 1 }).toArray();
  t.same(
    all.map((r) => r.bins.n),
    [1, 2, 3],
  );
  t.same(node.requests.at(-1)!.body, { ns: 'test', set: 'demo', pageSize: 1, cursor: Buffer.from([2]) });
  await client.scanPage('test', null, { cursor: Buffer.from([2]) });
  t.same(node.requests.at(-1)!.body, { ns: 'test', cursor: Buffer.from([2]) });
});

t.test('info, ping and verify', async (t) => {
  const { node, client } = await setup(t);
  answers.set(Op.INFO, (r) => r.reply(0, { node: 'mock', workers: [] }));
  t.same(await client.info(), { node: 'mock', workers: [] });
  t.equal(await client.ping(), undefined);
  answers.set(Op.VERIFY, (r) => r.reply(0, { namespaces: [] }));
  t.same(await client.verify(), { namespaces: [] });
  t.same(await client.verify('test'), { namespaces: [] });
  t.same(
    node.requests.map((r) => [r.op, r.body]),
    [
      [Op.INFO, null],
      [Op.PING, null],
      [Op.VERIFY, null],
      [Op.VERIFY, { ns: 'test' }],
    ],
  );
});

t.test('client-side rejections never reach the node', async (t) => {
  const { node, client } = await setup(t, { ...DEFAULT_HELLO, limits: { ...DEFAULT_HELLO.limits, frameBytesMax: 1024 } });
  await t.rejects(client.put({ ns: 'test' } as never, { a: 1 }), { code: Status.PARAMETER });
  await t.rejects(client.put(key, { a: new Date() } as never), { code: Status.PARAMETER });
  await t.rejects(client.put(key, { a: 1 }, undefined, { exists: 'sometimes' as never }), { code: Status.PARAMETER });
  await t.rejects(client.put(key, { a: 'x'.repeat(2000) }), { code: Status.RECORD_TOO_BIG }, 'over the server frame limit');
  await t.rejects(client.get(key, ['bin-name-far-too-long']), { code: Status.BIN_NAME_TOO_LONG });
  await t.rejects(client.operate(key, []), { code: Status.PARAMETER });
  await t.rejects(client.scanPage('test', 'demo', { pageSize: 0 }), { code: Status.PARAMETER });
  await t.rejects(client.get(key, undefined, { timeoutMs: -1 }), { code: Status.PARAMETER });
  t.equal(node.requests.length, 0);
});
