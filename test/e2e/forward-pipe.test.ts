// Proves requests a worker's endpoint forwards to the primary, and their answers, cross the pipes
// in shared memory (src/shm/pipe.ts) intact and in order whatever their size: a pipelined burst of
// writes of keys another worker masters, some of them records larger than the pipe's ring (cut in
// chunks) and together many times its size (queued while it is full), is acknowledged and read
// back byte for byte through the same endpoint, and the front sees the same records. When the
// primary stops reading (blocked), the endpoint queues at most FORWARD_QUEUED_BYTES_MAX behind the
// full pipe and refuses the rest with DEVICE_OVERLOAD: refused writes never happen, taken ones are
// all acknowledged once the primary reads again.
import t from 'tap';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { computeDigest, partitionOf } from '../../src/partition/digest';
import { FORWARD_PIPE_BYTES, FORWARD_QUEUED_BYTES_MAX } from '../../src/constants';
import { Status } from '../../src/errors';
import { Op } from '../../src/protocol/ops';
import { startTestNode } from '../helpers/node';
import { helloMap, rawPeer } from '../helpers/raw';
import { prng, testSeed } from '../helpers/prng';
import type { FloodData, FloodResult } from './forward-flood.worker';

/** Record `i`'s value: its bytes depend on i and position, so a torn or swapped answer shows. */
function value(i: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let j = 0; j < length; j++) b[j] = (i * 97 + j * 13 + (j >> 10)) & 0xff;
  return b;
}

t.test('a burst of forwarded writes and reads, some larger than the pipe, all intact and in order', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed}`);
  const rand = prng(seed);
  const { url, node } = await startTestNode(t, (c) => {
    for (const ns of c.namespaces) ns.recordBytesMax = 8 * 1024 * 1024;
  });
  const front = await rawPeer(url);
  const map = helloMap(front);
  const w0 = await rawPeer(`ws://${map.endpoints[0]}`);
  // Keys worker 1 masters: worker 0's endpoint forwards every request for them.
  const keys: number[] = [];
  for (let k = 0; keys.length < 60; k++) if (map.masters[0][partitionOf(computeDigest('fp', k))] === 1) keys.push(k);
  const large = [3, 17, 41]; // 3 MiB, 5 MiB, 7 MiB: each more than the ring's largest payload
  const sizes = keys.map((_, i) => (large.includes(i) ? (3 + 2 * large.indexOf(i)) * 1024 * 1024 : 1 + Math.floor(rand() * 20_000)));
  t.ok(sizes.reduce((a, b) => a + b, 0) > 3 * FORWARD_PIPE_BYTES, 'the burst is several times the pipe');
  const forwardedBefore = (node.info() as { endpoints: { forwarded: number }[] }).endpoints[0].forwarded;

  // Pipelined: every PUT sent before any answer is read.
  keys.forEach((key, i) => w0.request(1000 + i, Op.PUT, { ns: 'test', set: 'fp', key, bins: { v: value(i, sizes[i]), i } }));
  const puts = await Promise.all(keys.map((_, i) => w0.waitFor(1000 + i, 60_000)));
  t.same(
    puts.map((r) => r[1]),
    keys.map(() => 0),
    'every write acknowledged',
  );

  keys.forEach((key, i) => w0.request(2000 + i, Op.GET, { ns: 'test', set: 'fp', key }));
  const gets = await Promise.all(keys.map((_, i) => w0.waitFor(2000 + i, 60_000)));
  const wrong = gets.flatMap((r, i) => {
    const bins = (r[2] as { bins?: { v: Uint8Array; i: number } } | null)?.bins;
    return r[1] === 0 && bins !== undefined && bins.i === i && Buffer.from(bins.v).equals(value(i, sizes[i])) ? [] : [`${i}: code ${r[1]}`];
  });
  t.same(wrong, [], 'every record read back byte for byte through the forwarding endpoint');
  t.same(w0.malformed, [], 'every answer frame well formed');
  const forwarded = (node.info() as { endpoints: { forwarded: number }[] }).endpoints[0].forwarded - forwardedBefore;
  t.equal(forwarded, 2 * keys.length, 'all of them forwarded (none served by worker 0 itself)');

  front.request(9, Op.GET, { ns: 'test', set: 'fp', key: keys[large[2]] });
  const [, code, got] = await front.waitFor(9, 30_000);
  t.equal(code, 0);
  t.ok(Buffer.from((got as { bins: { v: Uint8Array } }).bins.v).equals(value(large[2], sizes[large[2]])), 'the front reads the largest record the same');
  for (const p of [front, w0]) p.ws.close();
});

t.test('a stalled primary: past FORWARD_QUEUED_BYTES_MAX the endpoint refuses with DEVICE_OVERLOAD, and loses nothing it took', async (t) => {
  const valueBytes = 1024 * 1024;
  // Enough forwarded bytes to fill the pipe and the endpoint's queue behind it, and then some.
  const count = Math.ceil((FORWARD_PIPE_BYTES + FORWARD_QUEUED_BYTES_MAX) / valueBytes) + 24;
  const { url, node } = await startTestNode(t, (c) => {
    for (const ns of c.namespaces) {
      ns.recordBytesMax = 2 * valueBytes;
      // One copy: the subject is the endpoint's queue. With two, 66 MiB of writes released at once
      // can overflow worker 1's replication channel to worker 0, which is then restarted to be
      // copied afresh, taking this client's connection with it (seen once in 30 runs).
      ns.replicationFactor = 1;
    }
  });
  const front = await rawPeer(url);
  t.teardown(() => front.ws.close());
  const map = helloMap(front);
  const keys: number[] = [];
  for (let k = 0; keys.length < count; k++) if (map.masters[0][partitionOf(computeDigest('flood', k))] === 1) keys.push(k);

  // While the primary is blocked, the endpoint can hold what the pipe and its queue take (each
  // record is a little over valueBytes with its key) and must refuse the rest. So the client wakes
  // the primary once count - heldMax writes are refused: an endpoint holding more than it may never
  // refuses that many, and the wait below times out.
  const heldMax = Math.floor((FORWARD_PIPE_BYTES + FORWARD_QUEUED_BYTES_MAX) / valueBytes);
  const flag = new SharedArrayBuffer(4);
  const client = new Worker(join(__dirname, 'forward-flood.worker.js'), {
    workerData: { url: `ws://${map.endpoints[0]}`, keys, valueBytes, wakeAtRefusals: count - heldMax, flag } satisfies FloodData,
  });
  t.teardown(() => client.terminate());
  const failed = new Promise<never>((_, reject) => client.once('error', reject));
  const message = () => Promise.race([new Promise<unknown>((resolve) => client.once('message', resolve)), failed]);
  await message(); // connected and said HELLO
  const result = message();
  client.postMessage('go');
  // This thread runs the primary: blocking it stops the primary reading the forward pipe, as a
  // primary busy elsewhere would.
  const waited = Atomics.wait(new Int32Array(flag), 0, 0, 60_000);
  t.equal(waited, 'ok', `${count - heldMax} refused while the primary was blocked (not woken by the 60 s timeout)`);
  // Every write is answered once the primary reads again; if not within 40 s, the client
  // says where it stands and the node's state is printed, instead of tap's bare timeout.
  const patience = setTimeout(() => client.postMessage('status'), 40_000);
  const answer = (await result) as FloodResult | { status: string };
  clearTimeout(patience);
  if ('status' in answer) {
    t.comment(JSON.stringify(node.info()));
    t.fail(`not every write was answered within 40 s after the primary woke: ${answer.status}`);
    return;
  }
  const { codes, closed, firstWasOverload } = answer;
  t.equal(closed, null, 'the node kept the connection open');

  const refused = codes.flatMap((code, i) => (code === Status.DEVICE_OVERLOAD ? [i] : []));
  const accepted = codes.flatMap((code, i) => (code === Status.OK ? [i] : []));
  t.equal(refused.length + accepted.length, count, `every write acknowledged or refused as overloaded (codes: ${[...new Set(codes)]})`);
  t.ok(firstWasOverload, 'the first answers were refusals, sent while the primary was blocked');
  t.ok(accepted.length <= heldMax, `${accepted.length} taken: no more than the pipe and the queue hold (${heldMax})`);
  const queueRecords = Math.floor(FORWARD_QUEUED_BYTES_MAX / valueBytes) - 1;
  t.ok(accepted.length >= queueRecords, `the endpoint refused only once its queue was full (${accepted.length} taken, at least ${queueRecords})`);

  // A refusal is definite: the record was never written. Every accepted write is there.
  const wrong: string[] = [];
  for (const i of [...refused, ...accepted]) {
    front.request(10_000 + i, Op.EXISTS, { ns: 'test', set: 'flood', key: keys[i] });
    const [, code] = await front.waitFor(10_000 + i, 30_000);
    const expected = codes[i] === Status.OK ? Status.OK : Status.KEY_NOT_FOUND;
    if (code !== expected) wrong.push(`${i}: answered ${codes[i]}, exists says ${code}`);
  }
  t.same(wrong, [], 'refused writes absent, accepted writes present');
});
