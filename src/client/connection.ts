// One WebSocket to one node: open it, say HELLO, then carry frames until it closes. The socket is
// the standard WebSocket, or `ws` on Node 20 (websocket.ts). A protocol PING every
// pingIntervalMs detects a peer that vanished without closing (a pulled cable, a frozen host):
// if no message at all came back since the previous ping, the connection is dropped. The PING
// travels as a request, not a WebSocket ping, because browsers cannot send those.

import { AerieError, Status } from '../errors';
import { Op, PROTOCOL_VERSION } from '../protocol/ops';
import { decodeResponses, encodeFrame } from './codec';
import type { HostAddress } from './reconnect';
import { serverError } from './outcome';
import { dropSocket, messageBytes, socketFactory, SocketState, type SocketLike, type SocketOptions } from './websocket';

/**
 * The request id HELLO uses, and after it the liveness PINGs: the pipeline never hands it out,
 * and ignores the answers to it.
 */
export const HELLO_REQUEST_ID = 0;
/** The liveness PING, encoded once: [[0, PING, nil]]. */
const PING_FRAME = encodeFrame([[HELLO_REQUEST_ID, Op.PING, null]]);

/** The HELLO body the client sends (protocol/ops.ts, Op.HELLO). */
export interface HelloRequest {
  protocol: number;
  client: string;
  /** The largest answer frame this client accepts: the node splits its answers to fit. */
  maxFrameBytes: number;
  user?: string;
  password?: string;
  /** A session token from an earlier login, instead of the password (src/client/auth.ts). */
  token?: string;
}

/** The server's HELLO answer: {node, protocol, namespaces, workers, limits}, and whatever else it adds. */
export interface ServerInfo {
  node?: unknown;
  protocol?: number;
  namespaces?: unknown;
  workers?: unknown;
  limits?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface ConnectionOptions {
  connectTimeoutMs: number;
  /** Largest frame accepted from the server; a larger one drops the connection. */
  maxFrameBytes: number;
  hello: HelloRequest;
  pingIntervalMs: number;
  /** wss:// for an address written without a scheme (src/client/options.ts). */
  secure?: boolean;
  tls?: SocketOptions['tls'];
}

export interface ConnectionHandlers {
  onFrame(frame: Uint8Array): void;
  /** Called once, when the socket is gone for whatever reason. */
  onClose(reason: AerieError): void;
}

export function helloRequest(version: string, maxFrameBytes: number, user?: string, password?: string): HelloRequest {
  const hello: HelloRequest = { protocol: PROTOCOL_VERSION, client: `aerie-ts/${version}`, maxFrameBytes };
  if (user !== undefined) hello.user = user;
  if (password !== undefined) hello.password = password;
  return hello;
}

function urlOf(address: HostAddress, secure: boolean): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${(address.secure ?? secure) ? 'wss' : 'ws'}://${host}:${address.port}/`;
}

function unavailable(address: HostAddress, why: string): AerieError {
  return new AerieError(Status.SERVER_NOT_AVAILABLE, `${address.host}:${address.port}: ${why}`);
}

export class Connection {
  readonly address: HostAddress;
  readonly server: ServerInfo;
  private readonly socket: SocketLike;
  private readonly maxFrameBytes: number;
  private handlers: ConnectionHandlers | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private heardSincePing = true;
  private lastError: string | null = null;
  private closed = false;
  /** Settles close()'s promise once the socket is gone. */
  private onGone: (() => void) | null = null;

  private constructor(address: HostAddress, socket: SocketLike, server: ServerInfo, maxFrameBytes: number) {
    this.address = address;
    this.socket = socket;
    this.server = server;
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Opens a socket and completes HELLO, or rejects with SERVER_NOT_AVAILABLE or HELLO's result code. */
  static async open(address: HostAddress, options: ConnectionOptions): Promise<Connection> {
    let createSocket: Awaited<ReturnType<typeof socketFactory>>;
    try {
      createSocket = await socketFactory();
    } catch (error) {
      throw unavailable(address, (error as Error).message);
    }
    return new Promise<Connection>((resolve, reject) => {
      let socket: SocketLike;
      try {
        socket = createSocket(urlOf(address, options.secure ?? false), { maxFrameBytes: options.maxFrameBytes, connectTimeoutMs: options.connectTimeoutMs, tls: options.tls });
      } catch (error) {
        reject(unavailable(address, (error as Error).message)); // a host that makes no valid URL
        return;
      }
      let settled = false;
      let failure: AerieError | null = null;
      const settle = (error: AerieError | null, connection?: Connection) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.onopen = socket.onmessage = socket.onclose = null;
        // A late socket error must not surface anywhere: the outcome is decided.
        socket.onerror = () => {};
        if (error !== null) {
          dropSocket(socket);
          reject(error);
        } else {
          resolve(connection!);
        }
      };
      const timer = setTimeout(() => {
        settle(failure ?? unavailable(address, `no HELLO answer within ${options.connectTimeoutMs} ms`));
      }, options.connectTimeoutMs);
      socket.onopen = () => socket.send(encodeFrame([[HELLO_REQUEST_ID, Op.HELLO, options.hello]]));
      socket.onmessage = (event) => {
        try {
          const server = readHelloAnswer(messageBytes(event.data));
          const connection = new Connection(address, socket, server, options.maxFrameBytes);
          settle(null, connection);
          connection.start(options.pingIntervalMs);
        } catch (error) {
          settle(error instanceof AerieError ? error : unavailable(address, String(error)));
        }
      };
      socket.onerror = (event) => {
        failure ??= unavailable(address, errorText(event));
      };
      socket.onclose = (event) => {
        settle(failure ?? unavailable(address, `closed during HELLO (${event.code})`));
      };
    });
  }

  /** Routes frames and the close to the pipeline. Frames cannot arrive before this: nothing was asked. */
  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }

  get isOpen(): boolean {
    return !this.closed && this.socket.readyState === SocketState.OPEN;
  }

  send(frame: Uint8Array): void {
    // A frame sent on a closing socket is lost; the close that follows settles its calls.
    if (!this.closed && this.socket.readyState === SocketState.OPEN) this.socket.send(frame);
  }

  /** Closes gracefully, dropping the socket if the server has not acknowledged within graceMs. */
  close(graceMs: number): Promise<void> {
    if (this.closed || this.socket.readyState === SocketState.CLOSED) {
      this.gone('closed by the client');
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.terminate('no close acknowledgement from the server'), graceMs);
      const earlier = this.onGone;
      this.onGone = () => {
        earlier?.();
        clearTimeout(timer);
        resolve();
      };
      if (this.socket.readyState !== SocketState.CLOSING) this.socket.close(1000);
    });
  }

  /**
   * Drops the connection now: the handlers hear of it at once, whatever the socket does next (a
   * standard WebSocket cannot be cut without a handshake a dead peer never completes).
   */
  terminate(reason?: string): void {
    if (reason !== undefined) this.lastError ??= reason;
    dropSocket(this.socket);
    this.gone(`closed (${reason ?? 'terminated'})`);
  }

  private start(pingIntervalMs: number): void {
    this.socket.onmessage = (event) => {
      this.heardSincePing = true;
      const frame = messageBytes(event.data);
      if (frame === null) {
        this.terminate('text frame from server');
        return;
      }
      if (frame.length > this.maxFrameBytes) {
        this.terminate(`a frame of ${frame.length} bytes, over maxFrameBytes ${this.maxFrameBytes}`);
        return;
      }
      try {
        this.handlers?.onFrame(frame);
      } catch (error) {
        this.terminate(`malformed frame from server: ${(error as Error).message}`);
      }
    };
    this.socket.onerror = (event) => {
      this.lastError ??= errorText(event);
    };
    this.socket.onclose = (event) => this.gone(`closed (${event.code})`);
    this.heartbeat = setInterval(() => this.beat(), pingIntervalMs);
    // On Node, the heartbeat alone must not keep a process alive (browsers have no unref).
    (this.heartbeat as { unref?: () => void }).unref?.();
  }

  private beat(): void {
    if (!this.heardSincePing) {
      this.terminate('no answer to PING from server');
      return;
    }
    this.heardSincePing = false;
    this.send(PING_FRAME);
  }

  /** The socket is gone (or treated as gone): tell the handlers once. */
  private gone(why: string): void {
    if (this.closed) {
      this.onGone?.();
      return;
    }
    this.closed = true;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.socket.onmessage = null;
    this.handlers?.onClose(new AerieError(Status.CONNECTION_CLOSED, `${this.address.host}:${this.address.port}: ${this.lastError ?? why}`));
    this.onGone?.();
  }
}

function errorText(event: unknown): string {
  const message = (event as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message.length > 0 ? message : 'WebSocket error';
}

/** Decodes the first frame of a connection: the answer to HELLO, or the reason it was refused. */
function readHelloAnswer(data: Uint8Array | null): ServerInfo {
  if (data === null) throw new AerieError(Status.PARAMETER, 'text frame in answer to HELLO');
  const answers: { id: number; code: number; body: unknown }[] = [];
  decodeResponses(data, (id, code, body) => answers.push({ id, code, body }));
  const answer = answers[0];
  if (answers.length !== 1 || answer.id !== HELLO_REQUEST_ID) throw new AerieError(Status.PARAMETER, 'first frame is not the answer to HELLO');
  if (answer.code !== Status.OK) throw serverError(answer.code, answer.body, false);
  return (answer.body !== null && typeof answer.body === 'object' ? answer.body : {}) as ServerInfo;
}
