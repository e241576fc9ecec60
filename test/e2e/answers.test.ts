// Proves every answer frame the node sends is well-formed and fits the client: an element that
// fails cannot truncate a frame, answers are split into frames of at most the size announced in
// HELLO (an answer that alone cannot fit fails RECORD_TOO_BIG), reads of any acknowledged record
// work, and a request past any size limit gets RECORD_TOO_BIG, never a server error.
import t, { type Test } from 'tap';
import { pack } from 'msgpackr';
import { Key, status } from '../../src/index';
import { rawPeer, type RawPeer } from '../helpers/raw';
import { startTestNode } from '../helpers/node';

const codeOf = (m: unknown[]) => m[1] as number;

function wellFormed(t: Test, peer: RawPeer): void {
  t.same(peer.malformed, [], 'every answer frame decodes fully');
  t.ok(
    peer.frames.every((f) => f.announced === f.held),
    'every frame holds exactly the count it announces',
  );
}

t.test('a batch element the node cannot serve leaves the frame whole', async (t) => {
  const { client, url } = await startTestNode(t);
  await client.put(new Key('test', 's', 'a'), { v: 1 });
  const peer = await rawPeer(url);
  const key = { ns: 'test', set: 's', key: 'a' };
  // The request: bins is not a list. A PING follows it in the same frame.
  peer.send(
    pack([
      [10, 8, { keys: [key], bins: 5 }],
      [11, 12, null],
    ]),
  );
  t.equal(codeOf(await peer.waitFor(10)), status.PARAMETER, 'bins not a list: PARAMETER');
  t.equal(codeOf(await peer.waitFor(11)), 0, 'the PING after it is answered');
  const cases: [string, number, unknown][] = [
    ['unknown field in BATCH_GET', 8, { keys: [key], colour: 'red' }],
    ['bins in BATCH_EXISTS', 9, { keys: [key], bins: ['v'] }],
    ['unknown field in a batch key', 8, { keys: [{ ...key, colour: 'red' }] }],
    ['ns at the top of a batch', 8, { keys: [key], ns: 'test' }],
    ['bins holding a number', 8, { keys: [key], bins: ['v', 5] }],
  ];
  let id = 20;
  for (const [what, op, body] of cases) {
    peer.request(id, op, body);
    t.equal(codeOf(await peer.waitFor(id)), status.PARAMETER, what);
    id++;
  }
  peer.request(id, 8, { keys: [key], bins: ['v'] });
  const ok = await peer.waitFor(id);
  t.same([codeOf(ok), ok[2]], [0, { records: [[0, 1, -1, { v: 1 }]] }], 'a well-formed batch still reads');
  wellFormed(t, peer);
});

t.test('answers are split into frames of the size the client announced', async (t) => {
  const { client, url } = await startTestNode(t);
  const frameBytesMax = 256 * 1024;
  await client.put(new Key('test', 's', 'mid'), { b: Buffer.alloc(100_000, 1) });
  await client.put(new Key('test', 's', 'big'), { b: Buffer.alloc(300_000, 2) });
  const peer = await rawPeer(url, { maxFrameBytes: frameBytesMax });
  const gets = Array.from({ length: 30 }, (_, i) => [100 + i, 3, { ns: 'test', set: 's', key: 'mid' }]);
  peer.send(pack([...gets, [200, 3, { ns: 'test', set: 's', key: 'big' }], [201, 12, null]]));
  for (let i = 0; i < 30; i++) t.equal(codeOf(await peer.waitFor(100 + i)), 0);
  t.equal(codeOf(await peer.waitFor(200)), status.RECORD_TOO_BIG, 'an answer larger than a frame: RECORD_TOO_BIG for its id');
  t.equal(codeOf(await peer.waitFor(201)), 0, 'and the connection goes on');
  peer.request(202, 8, { keys: Array.from({ length: 5 }, () => ({ ns: 'test', set: 's', key: 'mid' })) });
  t.equal(codeOf(await peer.waitFor(202)), status.RECORD_TOO_BIG, 'a batch answer larger than a frame: RECORD_TOO_BIG');
  t.ok(peer.frames.length >= 12, `${peer.frames.length} frames for 3 MB of answers`);
  t.ok(
    peer.frames.every((f) => f.bytes <= frameBytesMax),
    'no frame exceeds the announced size',
  );
  wellFormed(t, peer);
  peer.request(203, 1, { protocol: 1, maxFrameBytes: 1000 });
  t.equal(codeOf(await peer.waitFor(203)), status.PARAMETER, 'an announced frame below the minimum is refused');
});

t.test('the SDK gets 100 concurrent reads of a 1 MB record', async (t) => {
  const { client } = await startTestNode(t);
  const key = new Key('test', 's', 'mb');
  await client.put(key, { b: Buffer.alloc(1_000_000, 7) });
  const records = await Promise.all(Array.from({ length: 100 }, () => client.get(key)));
  t.ok(
    records.every((r) => (r.bins.b as Buffer).length === 1_000_000),
    'all 100 answered',
  );
});

t.test('a record larger than 1 MiB reads back when recordBytesMax allows it', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    for (const ns of c.namespaces) ns.recordBytesMax = 4 * 1024 * 1024;
  });
  const key = new Key('test', 's', 'two-mb');
  await client.put(key, { b: Buffer.alloc(2_000_000, 3) });
  t.equal(((await client.get(key)).bins.b as Buffer).length, 2_000_000, 'GET');
  const [record] = await client.batchGet([key]);
  t.equal((record!.bins.b as Buffer).length, 2_000_000, 'BATCH_GET');
});

t.test('a PUT of exactly frameBytesMax is RECORD_TOO_BIG', async (t) => {
  const { node, url } = await startTestNode(t);
  const frameBytesMax = node.config.service.frameBytesMax;
  const peer = await rawPeer(url);
  const frameOf = (n: number) => pack([[1, 2, { ns: 'test', key: 'huge', bins: { b: Buffer.alloc(n) } }]]);
  const size = frameBytesMax - (frameOf(frameBytesMax - 100).length - (frameBytesMax - 100));
  const frame = frameOf(size);
  t.equal(frame.length, frameBytesMax, 'the frame is exactly frameBytesMax');
  peer.send(frame);
  t.equal(codeOf(await peer.waitFor(1, 20_000)), status.RECORD_TOO_BIG);
  wellFormed(t, peer);
});
