// Proves hostile input never crashes the node or touches another client's data: malformed frames
// close only their own connection with a WebSocket close code, malformed requests get coded errors.
import t from 'tap';
import { pack } from 'msgpackr';
import { Key, status } from '../../src/index';
import { rawPeer } from '../helpers/raw';
import { startTestNode } from '../helpers/node';
import { prng, testSeed } from '../helpers/prng';

t.test('bad frames close their own connection only', async (t) => {
  const { client, url } = await startTestNode(t, (c) => {
    c.service.frameBytesMax = 1024 * 1024;
  });
  const bystander = new Key('test', 'safe', 'data');
  await client.put(bystander, { v: 'precious' });

  const cases: [string, Buffer | string, boolean, number][] = [
    ['garbage bytes', Buffer.from([0xc1, 0xff, 0x00]), true, 1007],
    ['not an array', pack({ a: 1 }), true, 1007],
    ['truncated msgpack', pack([[1, 3, { ns: 'test', key: 'abc' }]]).subarray(0, 10), true, 1007],
    ['huge declared array', Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), true, 1007],
    ['too many requests', pack(Array.from({ length: 5000 }, (_, i) => [i, 12, null])), true, 1008],
    ['message not a triple', pack([[1, 3]]), true, 1007],
    ['extension type', Buffer.concat([Buffer.from([0x91, 0x93, 0x01, 0x03]), Buffer.from([0xd4, 0x05, 0x00])]), true, 1007],
    ['trailing bytes', Buffer.concat([pack([[1, 12, null]]), Buffer.from([0x00])]), true, 1007],
    ['text frame', 'hello', false, 1003],
    ['oversize frame', Buffer.alloc(2 * 1024 * 1024), true, 1009],
  ];
  for (const [what, data, binary, code] of cases) {
    const peer = await rawPeer(url);
    peer.send(data, binary);
    t.equal((await peer.closed).code, code, what);
  }
  t.equal((await client.get(bystander)).bins.v, 'precious', 'the bystander is untouched and still served');
});

t.test('malformed requests get coded errors and the connection lives on', async (t) => {
  const { client, url } = await startTestNode(t);
  const peer = await rawPeer(url);
  const deep: unknown[] = [];
  let cur = deep;
  for (let i = 0; i < 40; i++) {
    const next: unknown[] = [];
    cur.push(next);
    cur = next;
  }
  const cases: [string, number, unknown, number][] = [
    ['unknown op', 99, { ns: 'test', key: 'k' }, status.PARAMETER],
    ['body not a map', 3, [1, 2, 3], status.PARAMETER],
    ['ns of the wrong type', 3, { ns: 5, key: 'k' }, status.PARAMETER],
    ['key of the wrong type', 3, { ns: 'test', key: { a: 1 } }, status.PARAMETER],
    ['bins not a map', 2, { ns: 'test', key: 'k', bins: [1] }, status.PARAMETER],
    ['ops not a list', 7, { ns: 'test', key: 'k', ops: 'read' }, status.PARAMETER],
    ['unknown operate op', 7, { ns: 'test', key: 'k', ops: [[99, 'a']] }, status.PARAMETER],
    ['batch keys not a list', 8, { keys: 5 }, status.PARAMETER],
    ['batch too large', 8, { keys: Array.from({ length: 5001 }, (_, i) => ({ ns: 'test', key: i })) }, status.BATCH_MAX_REQUESTS_EXCEEDED],
    ['batch with a bad key', 8, { keys: [{ ns: 'test', key: 1 }, { ns: 'test' }] }, status.PARAMETER],
    ['gen out of range', 2, { ns: 'test', key: 'k', bins: { a: 1 }, gen: 70000, genPolicy: 1 }, status.PARAMETER],
  ];
  let id = 100;
  for (const [what, op, body, code] of cases) {
    peer.request(++id, op, body);
    const res = await peer.waitFor(id);
    t.equal(res[1], code, what);
  }
  // A well-formed frame with one bad message still answers the good ones.
  peer.send(
    pack([
      [500, 12, null],
      [501, 99, null],
      [502, 12, null],
    ]),
  );
  t.equal((await peer.waitFor(500))[1], 0);
  t.equal((await peer.waitFor(501))[1], status.PARAMETER);
  t.equal((await peer.waitFor(502))[1], 0);
  // A body too deep to walk is answered by id, then the connection closes: the frame cannot be
  // parsed past it.
  for (const [what, bins] of [
    ['deep nesting', { d: deep }],
    ['__proto__ key', JSON.parse('{"__proto__": 1}')],
  ]) {
    const p = await rawPeer(url);
    p.request(7, 2, { ns: 'test', key: 'k', bins });
    t.equal((await p.waitFor(7))[1], status.PARAMETER, what as string);
    t.equal((await p.closed).code, 1007);
  }
  // Nesting within the limit is fine.
  let ok: unknown = 'leaf';
  for (let i = 0; i < 30; i++) ok = [ok];
  await client.put(new Key('test', 's', 'deep-ok'), { d: ok as never });
  t.same((await client.get(new Key('test', 's', 'deep-ok'))).bins.d, ok, 'a value 30 levels deep round-trips');
  // A huge declared string inside a message is a frame error.
  peer.send(Buffer.from([0x91, 0x93, 0xcd, 0x02, 0x58, 0x03, 0xdb, 0x7f, 0xff, 0xff, 0xff]));
  t.equal((await peer.closed).code, 1007);
  await client.put(new Key('test', 's', 'after'), { ok: true });
  t.equal((await client.get(new Key('test', 's', 'after'))).bins.ok, true);
});

t.test('requests before HELLO are refused', async (t) => {
  const { url } = await startTestNode(t);
  const peer = await rawPeer(url, false);
  peer.request(1, 3, { ns: 'test', key: 'k' });
  t.equal((await peer.waitFor(1))[1], status.NOT_AUTHENTICATED);
  peer.request(2, 1, { protocol: 99 });
  t.equal((await peer.waitFor(2))[1], status.PARAMETER, 'wrong protocol version');
  peer.request(3, 1, { protocol: 1 });
  t.equal((await peer.waitFor(3))[1], 0);
  peer.request(4, 3, { ns: 'test', key: 'k' });
  t.equal((await peer.waitFor(4))[1], status.KEY_NOT_FOUND);
  peer.ws.close();
});

t.test('random garbage never crashes the node', async (t) => {
  const { client, url } = await startTestNode(t);
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const rand = prng(seed);
  const valid = pack([[1, 2, { ns: 'test', set: 's', key: 'fuzz', bins: { a: [1, 'x', { b: 2 }] } }]]);
  for (let round = 0; round < 200; round++) {
    const peer = await rawPeer(url);
    const data = Buffer.from(valid);
    const flips = 1 + Math.floor(rand() * 4);
    for (let i = 0; i < flips; i++) data[Math.floor(rand() * data.length)] = Math.floor(rand() * 256);
    peer.send(data.subarray(0, Math.max(1, Math.floor(rand() * data.length) + 1)));
    peer.request(9999, 12, null);
    await Promise.race([peer.closed, peer.waitFor(9999).catch(() => undefined)]);
    peer.ws.terminate();
  }
  t.equal(await client.ping().then(() => 'alive'), 'alive', `node alive after fuzzing (seed ${seed})`);
});
