// Proves connection handling against a mock node: HELLO refusals and unreachable hosts, writes in
// doubt and reads re-sent when the connection drops, reconnection with events, dead-peer
// detection by ping, and what close() does to calls still running.
import t from 'tap';
import { createServer } from 'node:net';
import { Client, connect, Key } from '../../src/client';
import { type AerieError, Status } from '../../src/errors';
import { Op, PUSH_ID } from '../../src/protocol/ops';
import { responseFrame } from '../helpers/frames';
import { DEFAULT_HELLO, MockNode, type MockRequest } from '../helpers/scripted-node';
import { waitFor } from '../helpers/wait';

const key = new Key('test', 'demo', 'k');

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('a refused HELLO rejects connect with its code', async (t) => {
  const node = await MockNode.start({ hello: () => [Status.INVALID_CREDENTIAL, { message: 'bad password' }] });
  t.teardown(() => node.close());
  await t.rejects(connect({ hosts: node.host, user: 'u', password: 'x' }), { code: Status.INVALID_CREDENTIAL, message: 'bad password' });
});

t.test('no reachable host rejects SERVER_NOT_AVAILABLE; the next host is tried', async (t) => {
  const port = await deadPort();
  await t.rejects(connect({ hosts: `127.0.0.1:${port}`, connectTimeoutMs: 1000 }), { code: Status.SERVER_NOT_AVAILABLE });
  const node = await MockNode.start();
  t.teardown(() => node.close());
  const client = await connect({ hosts: [`127.0.0.1:${port}`, node.host] });
  t.teardown(() => client.close());
  t.equal(client.state, 'connected');
});

t.test('the server in-flight limit lowers maxInFlight', async (t) => {
  const held: MockRequest[] = [];
  const node = await MockNode.start({
    hello: () => [0, { ...DEFAULT_HELLO, limits: { ...DEFAULT_HELLO.limits, inFlightPerConnectionMax: 3 } }],
    onRequest: (r) => held.push(r),
  });
  const client = await connect({ hosts: node.host });
  t.teardown(async () => {
    await client.close();
    await node.close();
  });
  const calls = Array.from({ length: 10 }, () => client.ping());
  await waitFor(() => held.length === 3, { what: 'the node to hold 3 requests', intervalMs: 5 });
  // A quiet window for the negative check: a fourth request sent past the limit would arrive in it.
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(held.length, 3, 'never more than the server allows');
  t.equal(client.queuedCount, 7);
  let answered = 0;
  while (answered < calls.length) {
    await waitFor(() => held.length > 0, { what: 'the node to hold a request', intervalMs: 5 });
    t.ok(client.inFlightCount <= 3, `in flight ${client.inFlightCount}`);
    for (const request of held.splice(0)) {
      request.reply(0);
      answered++;
    }
  }
  await Promise.all(calls);
});

t.test('a dropped connection: write in doubt, read re-sent after reconnect, events', async (t) => {
  let dropNext = true;
  const node = await MockNode.start({
    onRequest: (r) => {
      if (r.op === Op.PUT && dropNext) return; // never answered: the connection will drop under it
      if (r.op === Op.GET && dropNext) {
        dropNext = false;
        setImmediate(() => node.dropAll());
        return;
      }
      r.reply(0, r.op === Op.GET ? { gen: 1, ttl: -1, bins: { a: 1 } } : null);
    },
  });
  const client = await connect({ hosts: node.host });
  t.teardown(async () => {
    await client.close();
    await node.close();
  });
  const events: string[] = [];
  client.on('connected', () => events.push('connected'));
  client.on('disconnected', (event) => events.push(`disconnected ${event.error.code}`));
  const write = client.put(key, { a: 1 }).catch((error: AerieError) => error);
  const read = client.get(key);
  const error = await write;
  t.equal((error as AerieError).code, Status.CONNECTION_CLOSED);
  t.equal((error as AerieError).inDoubt, true);
  t.same((await read).bins, { a: 1 }, 'the read was re-sent on the new connection');
  t.same(events, [`disconnected ${Status.CONNECTION_CLOSED}`, 'connected']);
  t.equal(node.requests.filter((r) => r.op === Op.PUT).length, 1, 'the write was never re-sent');
  t.equal(node.hellos.length, 2, 'HELLO again on the new connection');
});

t.test('calls made while disconnected wait and are sent after reconnect', async (t) => {
  const node = await MockNode.start();
  const port = node.port;
  const client = await connect({ hosts: node.host });
  t.teardown(() => client.close());
  await node.close();
  await waitFor(() => client.state === 'reconnecting', { what: 'the client to be reconnecting', intervalMs: 5 });
  const errors: AerieError[] = [];
  client.on('error', (error) => errors.push(error));
  const write = client.put(key, { a: 1 }, undefined, { timeoutMs: 10_000 });
  await waitFor(() => errors.length >= 1, { what: 'a failed reconnect attempt to be reported', intervalMs: 5 });
  t.ok(errors.length >= 1, 'failed reconnect attempts are reported as error events');
  t.equal(errors[0].code, Status.SERVER_NOT_AVAILABLE);
  const revived = await MockNode.start({ port, onRequest: (r) => r.reply(0, { gen: 1, ttl: -1 }) });
  t.teardown(() => revived.close());
  t.same(await write, { gen: 1, ttl: -1 });
  t.equal(revived.requests.length, 1, 'the queued write went to the new node exactly once');
});

t.test('a queued call that outlives its timeout while disconnected is not in doubt', async (t) => {
  const node = await MockNode.start();
  const client = await connect({ hosts: node.host });
  t.teardown(() => client.close());
  await node.close();
  await waitFor(() => client.state === 'reconnecting', { what: 'the client to be reconnecting', intervalMs: 5 });
  await t.rejects(client.put(key, { a: 1 }, undefined, { timeoutMs: 30 }), { code: Status.SERVER_NOT_AVAILABLE, inDoubt: false });
});

t.test('reconnect: false closes the client on the first loss', async (t) => {
  const node = await MockNode.start({ onRequest: () => {} });
  t.teardown(() => node.close());
  const client = await connect({ hosts: node.host, reconnect: false });
  const read = client.get(key).catch((error: AerieError) => error);
  await waitFor(() => node.requests.length === 1, { what: 'the node to receive the request', intervalMs: 5 });
  node.dropAll();
  const error = (await read) as AerieError;
  t.equal(error.code, Status.CONNECTION_CLOSED, 'a read that cannot be re-sent');
  t.equal(error.inDoubt, false);
  t.equal(client.state, 'closed');
  await t.rejects(client.ping(), { code: Status.SERVER_NOT_AVAILABLE });
});

t.test('a peer that stops answering pings is dropped and replaced', async (t) => {
  const frozen = await MockNode.start({ autoPong: false });
  t.teardown(() => frozen.close());
  const client = await connect({ hosts: frozen.host, pingIntervalMs: 30 });
  t.teardown(() => client.close());
  const lost = new Promise((resolve) => client.once('disconnected', resolve));
  await lost;
  await waitFor(() => client.state === 'connected', { what: 'the client to be connected again', intervalMs: 5 });
  t.ok(frozen.hellos.length >= 2, 'reconnected after the dead connection was dropped');
});

t.test('close(): in-flight writes in doubt, queued calls never sent, later calls refused', async (t) => {
  const node = await MockNode.start({ onRequest: () => {} });
  t.teardown(() => node.close());
  const client = new Client({ hosts: node.host, maxInFlight: 1 });
  const starting = client.start();
  await t.rejects(client.start(), { code: Status.CLIENT_ERROR }, 'one start at a time');
  await starting;
  const write = client.put(key, { a: 1 }).catch((error: AerieError) => error);
  const queued = client.put(key, { a: 2 }).catch((error: AerieError) => error);
  await waitFor(() => node.requests.length === 1, { what: 'the node to receive the request', intervalMs: 5 });
  await client.close();
  t.match(await write, { code: Status.CONNECTION_CLOSED, inDoubt: true });
  t.match(await queued, { code: Status.SERVER_NOT_AVAILABLE, inDoubt: false });
  await t.rejects(client.get(key), { code: Status.SERVER_NOT_AVAILABLE });
  await client.close();
  t.equal(client.state, 'closed');
  await t.rejects(client.start(), { code: Status.CLIENT_ERROR });
});

t.test('a malformed frame from the server drops the connection', async (t) => {
  const node = await MockNode.start({
    onRequest: (r) => {
      if (node.hellos.length === 1) r.socket.send(Buffer.from([0xc1]));
      else r.reply(0, null);
    },
  });
  const client = await connect({ hosts: node.host });
  t.teardown(async () => {
    await client.close();
    await node.close();
  });
  await client.ping(); // first send gets garbage, the connection drops, the ping is re-sent
  t.equal(node.hellos.length, 2);
});

t.test('GOAWAY: requests in flight are answered, DRAINED sent, then a new connection', async (t) => {
  const held: MockRequest[] = [];
  let drained: MockRequest | null = null;
  const node = await MockNode.start({
    onRequest: (r) => {
      if (r.op === Op.DRAINED) drained = r;
      else if (node.hellos.length === 1) held.push(r);
      else r.reply(0, { gen: 2, ttl: -1 });
    },
  });
  const client = await connect({ hosts: node.host });
  t.teardown(async () => {
    await client.close();
    await node.close();
  });
  const write = client.put(key, { a: 1 });
  await waitFor(() => held.length === 1, { what: 'the node to hold the write', intervalMs: 5 });
  const socket = held[0].socket;
  socket.send(responseFrame([[PUSH_ID, 0, { event: 'goaway', reason: 'node shutting down' }]]));
  await waitFor(() => drained !== null, { what: 'the client to send DRAINED', intervalMs: 5 });
  const later = client.put(key, { a: 2 }); // made after GOAWAY: waits for the next connection
  // A quiet window for the negative check: a request sent on the draining connection would arrive in it.
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(held.length, 1, 'nothing new was sent on the draining connection');
  held[0].reply(0, { gen: 1, ttl: -1 });
  drained!.reply(0, null);
  socket.close(1001, 'node shutting down');
  t.same(await write, { gen: 1, ttl: -1 }, 'answered, not in doubt');
  t.same(await later, { gen: 2, ttl: -1 });
  t.equal(node.hellos.length, 2);
});
