// A raw WebSocket peer for bad-input tests: sends arbitrary bytes and collects the decoded
// responses and the close code, bypassing every check the SDK makes.

import WebSocket from 'ws';
import { pack } from 'msgpackr';
import { Reader } from '../../src/protocol/reader';

export interface RawPeer {
  ws: WebSocket;
  responses: unknown[][];
  closed: Promise<{ code: number; reason: string }>;
  send(data: Buffer | string, binary?: boolean): void;
  request(id: number, op: number, body: unknown): void;
  /** Resolves with the response to `id`. */
  waitFor(id: number, timeoutMs?: number): Promise<unknown[]>;
}

export async function rawPeer(url: string, hello = true): Promise<RawPeer> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const responses: unknown[][] = [];
  const waiters = new Map<number, (r: unknown[]) => void>();
  ws.on('message', (data: Buffer) => {
    const r = new Reader(data);
    r.reset(data, 0, data.length);
    for (const msg of r.readValue() as unknown[][]) {
      responses.push(msg);
      waiters.get(msg[0] as number)?.(msg);
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const peer: RawPeer = {
    ws,
    responses,
    closed,
    send: (data, binary = true) => ws.send(data, { binary }),
    request: (id, op, body) => ws.send(pack([[id, op, body]]), { binary: true }),
    waitFor: (id, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const found = responses.find((m) => m[0] === id);
        if (found) return resolve(found);
        const timer = setTimeout(() => reject(new Error(`no response to ${id}`)), timeoutMs);
        waiters.set(id, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
      }),
  };
  if (hello) {
    peer.request(0, 1, { protocol: 1 });
    await peer.waitFor(0);
  }
  return peer;
}
