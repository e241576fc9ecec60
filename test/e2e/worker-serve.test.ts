// Proves a worker serves on its own endpoint every keyed request of the partitions it masters, in
// memory and file namespaces with one or two copies (issue 12, item 3): writes it acknowledged are
// on both copies; file-namespace writes it acknowledged survive kill -9 of the node; a master
// worker that crashes under writes on its endpoint loses none it acknowledged; and requests sent
// to the wrong worker's endpoint are answered as the right one would.
import t from 'tap';
import * as path from 'node:path';
import { connect, Key } from '../../src/index';
import { computeDigest, partitionOf } from '../../src/partition/digest';
import { Op } from '../../src/protocol/ops';
import { Status } from '../../src/errors';
import { startTestNode } from '../helpers/node';
import { fileNodeConfig, startCliNode } from '../helpers/cli-node';
import { helloMap, rawPeer, type HelloMap, type RawPeer } from '../helpers/raw';
import { compareCopies, waitInSync } from '../helpers/replicas';
import { waitForValue } from '../helpers/wait';

/** The first `count` integer keys of `set` from `from` on whose partition `worker` masters in namespace `nsIndex`. */
function keysOf(map: HelloMap, nsIndex: number, set: string, worker: number, count: number, from = 0): number[] {
  const keys: number[] = [];
  for (let k = from; keys.length < count; k++) if (map.masters[nsIndex][partitionOf(computeDigest(set, k))] === worker) keys.push(k);
  return keys;
}

let nextId = 1;
/** Sends a request and resolves with [code, body], or null when the connection closed first. */
async function ask(peer: RawPeer, op: number, body: unknown): Promise<[number, unknown] | null> {
  const id = nextId++;
  peer.request(id, op, body);
  const answer = await Promise.race([peer.waitFor(id, 10_000).catch(() => null), peer.closed.then(() => null)]);
  return answer === null ? null : [answer[1] as number, answer[2]];
}

async function code(peer: RawPeer, op: number, body: unknown): Promise<number> {
  const a = await ask(peer, op, body);
  if (a === null) throw new Error('the connection closed');
  return a[0];
}

type EndpointInfo = { localRequests: number; forwarded: number };

t.test("writes of every kind on their master worker's endpoint are served there and land on both copies", async (t) => {
  const { node, client, url } = await startTestNode(t);
  const front = await rawPeer(url);
  const map = helloMap(front);
  t.teardown(() => front.ws.close());
  const w0 = await rawPeer(`ws://${map.endpoints[0]}`);
  const w1 = await rawPeer(`ws://${map.endpoints[1]}`);
  t.teardown(() => {
    w0.ws.close();
    w1.ws.close();
  });
  // The set is registered by the primary (its first write is forwarded); the rest is local.
  t.equal(await code(w0, Op.PUT, { ns: 'test', set: 'ws', key: -1, bins: { v: 0 } }), 0);
  const mine = keysOf(map, 0, 'ws', 0, 200);
  const theirs = keysOf(map, 0, 'ws', 1, 50);
  const counts = () => (node.info() as { endpoints: EndpointInfo[] }).endpoints[0];
  const before = counts();
  for (const k of mine) t.equal(await code(w0, Op.PUT, { ns: 'test', set: 'ws', key: k, bins: { v: k, s: 'x' } }), 0);
  const ops = [
    { op: Op.OPERATE, body: { ns: 'test', set: 'ws', key: mine[0], ops: [[3, 'v', 5]] } },
    { op: Op.TOUCH, body: { ns: 'test', set: 'ws', key: mine[1] } },
    { op: Op.REMOVE, body: { ns: 'test', set: 'ws', key: mine[2] } },
  ];
  for (const { op, body } of ops) t.equal(await code(w0, op, body), 0, `op ${op} served`);
  const served = counts();
  t.equal(served.localRequests - before.localRequests, mine.length + ops.length, 'every write of its own partitions served by the worker');
  t.equal(served.forwarded, before.forwarded, 'none forwarded to the primary');
  // The wrong endpoint: keys worker 1 masters sent to worker 0 are answered all the same.
  for (const k of theirs) t.equal(await code(w0, Op.PUT, { ns: 'test', set: 'ws', key: k, bins: { v: k, s: 'y' } }), 0);
  t.equal(counts().forwarded - served.forwarded, theirs.length, "another worker's keys are forwarded");
  const got = await ask(w1, Op.GET, { ns: 'test', set: 'ws', key: mine[0] });
  t.same((got![1] as { bins: unknown }).bins, { v: mine[0] + 5, s: 'x' }, "the other worker's endpoint reads the operate's result");
  t.equal((await ask(w1, Op.EXISTS, { ns: 'test', set: 'ws', key: mine[2] }))![0], Status.KEY_NOT_FOUND, 'and the remove');
  // A batch of keys it masters is answered by the worker; one with another worker's key is forwarded.
  const batchKeys = [mine[3], mine[2], mine[4]].map((key) => ({ ns: 'test', set: 'ws', key }));
  const beforeBatch = counts();
  const [batchCode, batch] = (await ask(w0, Op.BATCH_GET, { keys: batchKeys }))!;
  t.equal(batchCode, 0);
  t.same(
    (batch as { records: unknown[][] }).records.map((r) => [r[0], (r[3] as { v?: number } | null)?.v ?? null]),
    [
      [0, mine[3]],
      [Status.KEY_NOT_FOUND, null],
      [0, mine[4]],
    ],
    'each element, a missing one in place',
  );
  t.equal(counts().localRequests - beforeBatch.localRequests, 1, 'served by the worker');
  const [mixedCode, mixed] = (await ask(w0, Op.BATCH_EXISTS, { keys: [...batchKeys, { ns: 'test', set: 'ws', key: theirs[0] }] }))!;
  t.equal(mixedCode, 0);
  t.same(
    (mixed as { records: unknown[][] }).records.map((r) => r[0]),
    [0, Status.KEY_NOT_FOUND, 0, 0],
  );
  t.equal(counts().forwarded - beforeBatch.forwarded, 1, "a batch with another worker's key is forwarded whole");
  t.ok(await waitInSync(client), 'copies in sync');
  const { problems, records } = compareCopies(node);
  t.same(problems, [], 'both copies hold the same records');
  t.equal(records, 1 + mine.length - 1 + theirs.length, 'every record written is there');
});

t.test("a write on its master's endpoint is answered only once its replica applied it", async (t) => {
  // Reading the replica's memory right after the answer: the write must be there already.
  const { node, url } = await startTestNode(t);
  const front = await rawPeer(url);
  const map = helloMap(front);
  const w1 = await rawPeer(`ws://${map.endpoints[1]}`);
  t.teardown(() => {
    front.ws.close();
    w1.ws.close();
  });
  t.equal(await code(w1, Op.PUT, { ns: 'test', set: 'wr', key: -1, bins: { v: 0 } }), 0);
  const keys = keysOf(map, 0, 'wr', 1, 100);
  for (const k of keys) {
    t.equal(await code(w1, Op.PUT, { ns: 'test', set: 'wr', key: k, bins: { v: k } }), 0);
    // compareCopies reads every worker's index in shared memory: the answer came after the copy.
    const { problems } = compareCopies(node);
    if (problems.length > 0) {
      t.fail(`key ${k}: answered before its replica had it: ${problems[0]}`);
      break;
    }
  }
});

t.test('a master worker crashing under writes on its endpoint loses no acknowledged write', async (t) => {
  const { client, url } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
  });
  const front = await rawPeer(url);
  const map = helloMap(front);
  const w0 = await rawPeer(`ws://${map.endpoints[0]}`);
  t.teardown(() => front.ws.close());
  t.equal(await code(w0, Op.PUT, { ns: 'test', set: 'wc', key: -1, bins: { v: 0 } }), 0);
  const keys = keysOf(map, 0, 'wc', 0, 3000);
  const acked: number[] = [];
  let inDoubt = 0;
  let crashed = false;
  const IN_FLIGHT = 16;
  let next = 0;
  const writer = async () => {
    while (next < keys.length) {
      const k = keys[next++];
      const a = await ask(w0, Op.PUT, { ns: 'test', set: 'wc', key: k, bins: { v: k } });
      if (a === null || a[0] === Status.TIMEOUT) inDoubt++;
      else if (a[0] === 0) acked.push(k);
      else t.fail(`key ${k}: code ${a[0]}`);
      if (a === null) return;
      if (acked.length === 500 && !crashed) {
        crashed = true;
        t.equal(await code(front, Op.FAULT, { worker: 0, kind: 'crash' }), 0, 'worker 0 crashes');
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, writer));
  t.ok(crashed, 'the crash came during the writes');
  t.ok(acked.length >= 500, `${acked.length} writes acknowledged before the crash, ${inDoubt} in doubt`);
  // The replica took over (or the worker came back): every acknowledged write reads back.
  await waitForValue(
    async () => (await client.info()).workers as { state: string }[],
    (ws) => ws.every((w) => w.state === 'up'),
    { what: 'every worker up', timeoutMs: 20_000 },
  );
  const got = await client.batchGet(acked.map((k) => new Key('test', 'wc', k)));
  const lost = acked.filter((k, i) => (got[i]?.bins.v as number | undefined) !== k);
  t.same(lost, [], 'no acknowledged write is lost');
});

t.test('file-namespace writes acknowledged on worker endpoints survive kill -9 of the node', async (t) => {
  const config = fileNodeConfig('worker-serve', (dir) => [
    { name: 'two', storage: 'file', dataDir: path.join(dir, 'data-two'), replicationFactor: 2 },
    { name: 'one', storage: 'file', dataDir: path.join(dir, 'data-one'), replicationFactor: 1 },
  ]);
  const { child, host, exited } = await startCliNode(config);
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const front = await rawPeer(`ws://${host}`);
  const map = helloMap(front);
  const peers = [await rawPeer(`ws://${map.endpoints[0]}`), await rawPeer(`ws://${map.endpoints[1]}`)];
  const acked = new Map<string, number>();
  for (const [nsIndex, ns] of [
    [0, 'two'],
    [1, 'one'],
  ] as const) {
    t.equal(await code(peers[0], Op.PUT, { ns, set: 'kf', key: -1, bins: { v: 0 } }), 0, `${ns}: the set registered`);
    for (const worker of [0, 1]) {
      // Most on the master's endpoint, some on the other one (forwarded), all pipelined.
      const keys = keysOf(map, nsIndex, 'kf', worker, 150);
      const answers = await Promise.all(keys.map((k, i) => ask(peers[i % 5 === 0 ? 1 - worker : worker], Op.PUT, { ns, set: 'kf', key: k, bins: { v: k } })));
      answers.forEach((a, i) => {
        if (a !== null && a[0] === 0) acked.set(`${ns}/${keys[i]}`, keys[i]);
        else t.fail(`${ns} key ${keys[i]}: ${a === null ? 'closed' : `code ${a[0]}`}`);
      });
    }
  }
  // Killed the moment the last answer arrived: nothing has a chance to flush later.
  child.kill('SIGKILL');
  await exited;
  const again = await startCliNode(config);
  t.teardown(() => {
    if (again.child.exitCode === null) again.child.kill('SIGKILL');
  });
  const client = await connect({ hosts: again.host, timeoutMs: 10_000 });
  const entries = [...acked.entries()];
  const got = await client.batchGet(entries.map(([name, k]) => new Key(name.split('/')[0], 'kf', k)));
  const lost = entries.filter(([, k], i) => (got[i]?.bins.v as number | undefined) !== k).map(([name]) => name);
  t.equal(entries.length, 600, 'every write was acknowledged');
  t.same(lost, [], 'every acknowledged write survived kill -9');
  await client.close();
  for (const p of peers) p.ws.close();
  front.ws.close();
  again.child.kill('SIGKILL');
  await again.exited;
});
