// Proves, against a real node, what the mock cannot: thousands of same-turn calls packed into
// frames under a small in-flight cap, and a client riding through a node restart on the same
// port (events, HELLO again, queued reads answered by the new node).
import t from 'tap';
import { testNodeConfig } from '../helpers/node';
import { startNode } from '../../src/primary/node';
import { connect, Key, type AerieError, type ClientEvents } from '../../src/client';
import { Status } from '../../src/errors';

const testConfig = (port = 0) =>
  testNodeConfig((c) => {
    c.service.port = port;
  });

t.test('thousands of calls in one turn, a small in-flight cap', async (t) => {
  const node = await startNode(testConfig());
  const client = await connect({ hosts: `127.0.0.1:${node.address.port}`, maxInFlight: 64, timeoutMs: 30_000 });
  t.teardown(async () => {
    await client.close();
    await node.close();
  });
  const count = 10_000;
  const keys = Array.from({ length: count }, (_, i) => new Key('test', 'pipe', i));
  const writes = await Promise.all(keys.map((key, i) => client.put(key, { i, big: BigInt(i) * 2n ** 40n })));
  t.ok(writes.every((w) => w.gen === 1));
  t.ok(client.inFlightCount === 0 && client.queuedCount === 0);
  const reads = await Promise.all(keys.map((key) => client.get(key)));
  // Integers decode as numbers while safe and as bigints beyond 2^53, whichever way they were sent.
  t.ok(
    reads.every((r, i) => r.bins.i === i && BigInt(r.bins.big as number | bigint) === BigInt(i) * 2n ** 40n),
    'every answer reached its own call',
  );
  t.type(reads[count - 1].bins.big, 'bigint');
  t.type(reads[1].bins.big, 'number');
  const stored = await client.put(new Key('test', 'pipe', 'with-key'), { a: 1 }, undefined, { sendKey: true });
  t.equal(stored.gen, 1);
  const scanned = await client.scan('test', 'pipe', { pageSize: 500 }).toArray();
  t.equal(scanned.length, count + 1);
  t.equal(scanned.find((r) => r.key.value === 'with-key')?.bins.a, 1, 'a stored key comes back from a scan');
  t.ok(scanned.filter((r) => r.key.value === null).length === count, 'keys not stored come back as digests');
});

t.test('riding through a node restart on the same port', async (t) => {
  const first = await startNode(testConfig());
  const port = first.address.port;
  const client = await connect({ hosts: `127.0.0.1:${port}`, timeoutMs: 20_000 });
  let second: Awaited<ReturnType<typeof startNode>> | null = null;
  t.teardown(async () => {
    await client.close();
    await second?.close();
  });
  const events: string[] = [];
  const record = (name: keyof ClientEvents) => () => events.push(name);
  client.on('connected', record('connected'));
  client.on('disconnected', record('disconnected'));
  client.on('error', () => {}); // failed attempts while the node is down

  const key = new Key('test', 'restart', 'k');
  await client.put(key, { v: 1 });
  const lost = new Promise<void>((resolve) => client.once('disconnected', () => resolve()));
  await first.close();
  await lost;
  t.equal(client.state, 'reconnecting');

  // Calls made while no node runs wait in the queue; none of them is in doubt.
  const read = client.exists(key);
  const write = client.put(key, { v: 2 });
  second = await startNode(testConfig(port));
  t.equal(await read, null, 'memory storage: the new node starts empty');
  t.same(await write, { gen: 1, ttl: -1 });
  t.same((await client.get(key)).bins, { v: 2 });
  t.same(events, ['disconnected', 'connected']);
  t.equal(client.state, 'connected');
});

t.test('a write that cannot be sent in time is not in doubt', async (t) => {
  const node = await startNode(testConfig());
  const client = await connect({ hosts: `127.0.0.1:${node.address.port}` });
  t.teardown(() => client.close());
  client.on('error', () => {});
  const lost = new Promise<void>((resolve) => client.once('disconnected', () => resolve()));
  await node.close();
  await lost;
  const error = await client.put(new Key('test', 's', 1), { a: 1 }, undefined, { timeoutMs: 100 }).catch((e: AerieError) => e);
  t.match(error, { code: Status.SERVER_NOT_AVAILABLE, inDoubt: false });
});

t.test('a node shutting down answers every write in flight: none is in doubt', async (t) => {
  const first = await startNode(testConfig());
  const port = first.address.port;
  const client = await connect({ hosts: `127.0.0.1:${port}`, timeoutMs: 20_000 });
  let second: Awaited<ReturnType<typeof startNode>> | null = null;
  t.teardown(async () => {
    await client.close();
    await second?.close();
  });
  client.on('error', () => {});
  const keys = Array.from({ length: 5000 }, (_, i) => new Key('test', 'drain', i));
  const writes = keys.map((key, i) =>
    client.put(key, { i }).then(
      () => 'ok',
      (error: AerieError) => (error.inDoubt ? 'in doubt' : `failed ${error.code}`),
    ),
  );
  // Let the first frames reach the node, then shut it down under them.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const closing = first.close();
  second = await closing.then(() => startNode(testConfig(port)));
  const outcomes = await Promise.all(writes);
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  t.notOk(counts['in doubt'], `no write in doubt: ${JSON.stringify(counts)}`);
  const refused = counts[`failed ${Status.PARTITION_UNAVAILABLE}`] ?? 0;
  t.equal((counts.ok ?? 0) + refused, keys.length, 'every write either succeeded or was refused definitely');
  t.ok(counts.ok > 0, 'writes not yet sent before GOAWAY went to the new node');
});
