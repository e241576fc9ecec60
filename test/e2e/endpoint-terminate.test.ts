// Proves a hung worker terminated while an HTTP upgrade request sits half-read on its endpoint
// takes only its own sockets with it: Node's HTTP parser aborts the whole process when it reads
// into a terminating thread (node_http_parser.cc, OnStreamRead's ToLocalChecked), so a worker
// endpoint must not hand its sockets to that parser.
import t from 'tap';
import { connect as tcpConnect, type Socket } from 'node:net';
import { Key } from '../../src/index';
import { Op } from '../../src/protocol/ops';
import { startTestNode, waitStable } from '../helpers/node';
import { rawPeer, type RawPeer } from '../helpers/raw';

const helloEndpoints = (peer: RawPeer): string[] => (peer.responses.find((m) => m[0] === 0)![2] as { map: { endpoints: string[] } }).map.endpoints;

t.test('a hung worker with a half-read upgrade request is terminated alone', async (t) => {
  const { client, url } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    c.supervisor.heartbeatTimeoutMs = 300;
  });
  const front = await rawPeer(url);
  const [host, port] = helloEndpoints(front)[1].split(':');
  const w1 = await rawPeer(`ws://${host}:${port}`);
  // A connection the worker has accepted and begun to read: the request line, headers to follow.
  const socket: Socket = tcpConnect(Number(port), host);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  w1.request(1, Op.PING, null);
  await w1.waitFor(1, 10_000); // the worker's loop has turned since
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  front.request(1, Op.FAULT, { worker: 1, kind: 'hang' });
  t.equal((await front.waitFor(1, 10_000))[1], 0, 'worker 1 spins');
  // A header line at a time while it spins: some wait unread when the supervisor terminates it.
  let lines = 0;
  const feed = setInterval(() => {
    if (!socket.destroyed && lines < 200) socket.write(`X-Line-${lines++}: x\r\n`);
  }, 10);
  await closed;
  clearInterval(feed);
  t.ok(lines > 0, `${lines} header lines sent while it spun`);
  await waitStable(client, 300);
  await client.put(new Key('test', 'term', 1), { v: 1 });
  t.same((await client.get(new Key('test', 'term', 1))).bins, { v: 1 }, 'the node lives on and serves');
  for (const p of [front, w1]) p.ws.close();
});
