// Proves requests a worker's endpoint forwards to the primary, and their answers, cross the pipes
// in shared memory (src/shm/pipe.ts) intact and in order whatever their size: a pipelined burst of
// writes of keys another worker masters, some of them records larger than the pipe's ring (cut in
// chunks) and together many times its size (queued while it is full), is acknowledged and read
// back byte for byte through the same endpoint, and the front sees the same records.
import t from 'tap';
import { computeDigest, partitionOf } from '../../src/partition/digest';
import { FORWARD_PIPE_BYTES } from '../../src/constants';
import { Op } from '../../src/protocol/ops';
import { startTestNode } from '../helpers/node';
import { rawPeer, type RawPeer } from '../helpers/raw';
import { prng, testSeed } from '../helpers/prng';

interface HelloMap {
  endpoints: (string | null)[];
  masters: Uint8Array[];
}
const helloMap = (peer: RawPeer): HelloMap => (peer.responses.find((m) => m[0] === 0)![2] as { map: HelloMap }).map;

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
