// A raw WebSocket peer for bad-input tests: sends arbitrary bytes and collects the decoded
// responses and the close code, bypassing every check the SDK makes.

import WebSocket from 'ws';
import { pack } from 'msgpackr';
import { Reader } from '../../src/protocol/reader';

export interface RawPeer {
  ws: WebSocket;
  responses: unknown[][];
  /** Every answer frame: its size, the count its header announced, and the messages it held. */
  frames: { bytes: number; announced: number; held: number }[];
  /** Answer frames that did not decode fully (hex of their first bytes and the reason). */
  malformed: string[];
  closed: Promise<{ code: number; reason: string }>;
  send(data: Buffer | string, binary?: boolean): void;
  request(id: number, op: number, body: unknown): void;
  /** Resolves with the response to `id`. */
  waitFor(id: number, timeoutMs?: number): Promise<unknown[]>;
}

export async function rawPeer(url: string, hello: boolean | Record<string, unknown> = true): Promise<RawPeer> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const responses: unknown[][] = [];
  const frames: RawPeer['frames'] = [];
  const malformed: string[] = [];
  const waiters = new Map<number, (r: unknown[]) => void>();
  ws.on('message', (data: Buffer) => {
    // Decoded message by message, so a frame that announces more than it holds is seen as such.
    const r = new Reader(data);
    r.reset(data, 0, data.length);
    let announced = -1;
    let held = 0;
    try {
      announced = r.readArrayHeader();
      for (; held < announced; held++) {
        const msg = r.readValue() as unknown[];
        if (!Array.isArray(msg) || msg.length !== 3) throw new Error('an answer is not [id, code, body]');
        responses.push(msg);
        waiters.get(msg[0] as number)?.(msg);
      }
      if (!r.atEnd()) throw new Error('trailing bytes');
    } catch (err) {
      malformed.push(`${data.subarray(0, 32).toString('hex')}: ${(err as Error).message}`);
    }
    frames.push({ bytes: data.length, announced, held });
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const peer: RawPeer = {
    ws,
    responses,
    frames,
    malformed,
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
  if (hello !== false) {
    peer.request(0, 1, { protocol: 1, ...(hello === true ? {} : hello) });
    await peer.waitFor(0);
  }
  return peer;
}

/** The partition map in HELLO's answer (docs/protocol.md §13), as the tests read it. */
export interface HelloMap {
  version: number;
  endpoints: (string | null)[];
  masters: Uint8Array[];
  replicas: Uint8Array[];
}

/** The map this peer's HELLO (request 0, sent by rawPeer) was answered with. */
export function helloMap(peer: RawPeer): HelloMap {
  return (peer.responses.find((m) => m[0] === 0)![2] as { map: HelloMap }).map;
}

/**
 * Ids for ask(): one counter for the process, so no two calls on a peer share an id (waitFor finds
 * past answers too), starting above the small fixed ids tests send by hand.
 */
let nextAskId = 1_000_000;

/** Sends one request and resolves with its answer's code and body; rejects after `timeoutMs` without one. */
export async function ask(peer: RawPeer, op: number, body: unknown, timeoutMs = 20_000): Promise<[number, unknown]> {
  const id = nextAskId++;
  peer.request(id, op, body);
  const [, code, answer] = await peer.waitFor(id, timeoutMs);
  return [code as number, answer];
}
