// The session's answer frames are written straight to the socket (src/endpoint/ws-frame.ts): a real
// ws client must read every length class of the header (7-bit, 16-bit, 64-bit) byte for byte, in
// order with frames ws itself sends, and a socket no longer open must not be written to.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { WebSocket, WebSocketServer } from 'ws';
import { sendBinary } from '../../src/endpoint/ws-frame';

async function pair(): Promise<{ server: WebSocket; client: WebSocket; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as { port: number }).port;
  const serverSide = new Promise<WebSocket>((r) => wss.once('connection', (ws) => r(ws)));
  const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, maxPayload: 64 << 20 });
  await new Promise<void>((r, j) => {
    client.once('open', () => r());
    client.once('error', j);
  });
  const server = await serverSide;
  return {
    server,
    client,
    close: async () => {
      client.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

t.test('every header length class arrives intact and in order with ws frames', async (t) => {
  const { server, client, close } = await pair();
  t.teardown(close);
  const sizes = [0, 1, 125, 126, 127, 65535, 65536, 70000, 1 << 20];
  const sent: Buffer[] = [];
  const got: Buffer[] = [];
  const done = new Promise<void>((r) => {
    client.on('message', (data: Buffer, isBinary: boolean) => {
      t.ok(isBinary, 'binary');
      got.push(Buffer.from(data));
      if (got.length === sizes.length + 1) r();
    });
  });
  for (const n of sizes) {
    const b = randomBytes(n);
    sent.push(b);
    sendBinary(server, b);
    if (n === 126) {
      // A frame ws writes itself, between ours: the order must hold.
      const own = Buffer.from('from ws');
      sent.push(own);
      server.send(own, { binary: true });
    }
  }
  await done;
  t.equal(got.length, sent.length);
  t.ok(
    got.every((g, i) => g.equals(sent[i])),
    'every payload byte for byte, in order',
  );
});

t.test('the payload is copied: the caller may reuse its buffer at once', async (t) => {
  const { server, client, close } = await pair();
  t.teardown(close);
  const got = new Promise<Buffer>((r) => client.once('message', (d: Buffer) => r(Buffer.from(d))));
  const b = Buffer.from('first');
  sendBinary(server, b);
  b.write('XXXXX');
  t.equal((await got).toString(), 'first');
});

t.test('nothing is written to a socket that is closing', async (t) => {
  const { server, client, close } = await pair();
  t.teardown(close);
  const messages: Buffer[] = [];
  client.on('message', (d: Buffer) => messages.push(d));
  const closed = new Promise<number>((r) => client.once('close', (code: number) => r(code)));
  server.close(1000, 'bye');
  sendBinary(server, Buffer.from('too late'));
  t.equal(await closed, 1000, 'the close frame arrives, not followed by data');
  t.same(messages, []);
});
