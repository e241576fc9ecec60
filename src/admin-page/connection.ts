// The admin page's WebSocket to the node: the same protocol as every client (docs/protocol.md),
// encoded by the SDK's own codec, so the page needs no library. HELLO first (with the user's
// credentials when the node has security), then WATCH; the node's pushes arrive as `onPush`.

import { decodeResponses, encodeFrame } from '../client/codec';
import { Op, PROTOCOL_VERSION, PUSH_ID } from '../protocol/ops';

export interface Answer {
  code: number;
  body: unknown;
}

/** Requests the page has in flight at most: it sends one per click, and WATCH. */
const IN_FLIGHT_MAX = 16;

export class NodeConnection {
  private readonly socket: WebSocket;
  private nextId = 1;
  private readonly waiting = new Map<number, (answer: Answer) => void>();
  onPush: (body: unknown) => void = () => undefined;
  onClose: (why: string) => void = () => undefined;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onmessage = (event) => {
      if (!(event.data instanceof ArrayBuffer)) return;
      decodeResponses(new Uint8Array(event.data), (id, code, body) => {
        if (id === PUSH_ID) return this.onPush(body);
        const settle = this.waiting.get(id);
        this.waiting.delete(id);
        settle?.({ code, body });
      });
    };
    socket.onclose = (event) => {
      for (const settle of this.waiting.values()) settle({ code: -10, body: { message: 'connection closed' } });
      this.waiting.clear();
      this.onClose(`closed (${event.code}${event.reason === '' ? '' : ` ${event.reason}`})`);
    };
  }

  /** Opens the socket; rejects if it does not open. */
  static open(url: string): Promise<NodeConnection> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.onopen = () => resolve(new NodeConnection(socket));
      socket.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
  }

  hello(user: string | null, password: string | null): Promise<Answer> {
    const body: Record<string, unknown> = { protocol: PROTOCOL_VERSION, client: 'aerie-admin-page' };
    if (user !== null) Object.assign(body, { user, password });
    return this.call(Op.HELLO, body);
  }

  call(op: number, body: unknown): Promise<Answer> {
    if (this.waiting.size >= IN_FLIGHT_MAX) return Promise.resolve({ code: -12, body: { message: 'too many requests in flight' } });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.socket.send(encodeFrame([[id, op, body]]));
    });
  }

  close(): void {
    this.socket.close(1000);
  }
}

/** The node's WebSocket address: the front port the node wrote into the page, on this page's host. */
export function nodeUrl(doc: Document, loc: Location): string {
  const port = doc.querySelector('meta[name="aerie-front-port"]')?.getAttribute('content') ?? '';
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  // hostname keeps an IPv6 address's brackets.
  return `${scheme}//${loc.hostname}:${/^\d+$/.test(port) ? port : loc.port}/`;
}
