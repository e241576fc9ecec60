// Which WebSocket the client opens: the standard one where the runtime has it (browsers, Deno,
// Bun, edge runtimes, Node ≥ 22), else the `ws` package (Node 20). `ws` is loaded on first use
// through an import whose name is a variable, so a bundler building for the browser never
// follows it and a browser bundle never contains it.

/** The standard WebSocket as the client uses it: declared here so no DOM or Node types are needed. */
export interface SocketLike {
  readonly readyState: number;
  binaryType: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason?: string }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** readyState values (the same in every implementation). */
export const SocketState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

export interface SocketOptions {
  /** Largest message accepted; enforced by the socket where it can (ws), else on arrival. */
  maxFrameBytes: number;
  connectTimeoutMs: number;
  /** CA, client certificate and key, rejectUnauthorized for wss:// (ws only: a browser has its own). */
  tls?: { ca?: string | Uint8Array; cert?: string | Uint8Array; key?: string | Uint8Array; rejectUnauthorized?: boolean };
}

/** Opens a socket to `url`; throws (a URL the implementation refuses) synchronously. */
export type SocketFactory = (url: string, options: SocketOptions) => SocketLike;

type StandardConstructor = new (url: string) => SocketLike;
type WsConstructor = new (url: string, options: Record<string, unknown>) => SocketLike & { terminate(): void };

/** A variable, not a literal, so bundlers leave this import alone (see the file comment). */
const WS_MODULE_NAME = 'ws';

let factory: SocketFactory | null = null;

/** The socket factory of this runtime, loading `ws` the first time when there is no standard one. */
export async function socketFactory(): Promise<SocketFactory> {
  if (factory !== null) return factory;
  const Standard = (globalThis as { WebSocket?: StandardConstructor }).WebSocket;
  if (typeof Standard === 'function') {
    factory = (url) => {
      const socket = new Standard(url);
      socket.binaryType = 'arraybuffer';
      return socket;
    };
    return factory;
  }
  const loaded = (await import(WS_MODULE_NAME)) as { default?: WsConstructor; WebSocket?: WsConstructor };
  const Ws = loaded.WebSocket ?? loaded.default;
  if (typeof Ws !== 'function') throw new Error('this runtime has no WebSocket, and the ws package could not be loaded');
  factory = (url, options) => {
    const socket = new Ws(url, {
      perMessageDeflate: false,
      maxPayload: options.maxFrameBytes,
      handshakeTimeout: options.connectTimeoutMs,
      ...options.tls,
    });
    // Node Buffers arrive as they are, without the copy into an ArrayBuffer 'arraybuffer' costs.
    socket.binaryType = 'nodebuffer';
    return socket;
  };
  return factory;
}

/**
 * Drops a socket at once. `ws` can cut the TCP connection without a closing handshake; the
 * standard API can only start one, which a vanished peer never answers, so callers treat the
 * socket as gone as soon as they call this.
 */
export function dropSocket(socket: SocketLike): void {
  const terminate = (socket as { terminate?: () => void }).terminate;
  if (typeof terminate === 'function') {
    terminate.call(socket);
    return;
  }
  if (socket.readyState === SocketState.CONNECTING || socket.readyState === SocketState.OPEN) socket.close(1000);
}

/** The bytes of a binary message, or null for a text message (which the protocol never sends). */
export function messageBytes(data: unknown): Uint8Array | null {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}
