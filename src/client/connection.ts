// One WebSocket to one node: open it, say HELLO, then carry frames until it closes. A ping every
// pingIntervalMs detects a peer that vanished without closing (a pulled cable, a frozen host):
// if neither a pong nor any message came back since the previous ping, the socket is terminated.

import WebSocket from 'ws';
import { AerieError, Status } from '../errors';
import { Op, PROTOCOL_VERSION } from '../protocol/ops';
import { decodeResponses, encodeFrame } from './codec';
import type { HostAddress } from './reconnect';
import { serverError } from './outcome';

/** The request id HELLO uses; the pipeline never hands it out. */
export const HELLO_REQUEST_ID = 0;

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
  /** Largest frame accepted from the server (ws maxPayload). */
  maxFrameBytes: number;
  hello: HelloRequest;
  pingIntervalMs: number;
}

export interface ConnectionHandlers {
  onFrame(frame: Buffer): void;
  /** Called once, when the socket is gone for whatever reason. */
  onClose(reason: AerieError): void;
}

export function helloRequest(version: string, maxFrameBytes: number, user?: string, password?: string): HelloRequest {
  const hello: HelloRequest = { protocol: PROTOCOL_VERSION, client: `aerie-ts/${version}`, maxFrameBytes };
  if (user !== undefined) hello.user = user;
  if (password !== undefined) hello.password = password;
  return hello;
}

function urlOf(address: HostAddress): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `ws://${host}:${address.port}/`;
}

function unavailable(address: HostAddress, why: string): AerieError {
  return new AerieError(Status.SERVER_NOT_AVAILABLE, `${address.host}:${address.port}: ${why}`);
}

export class Connection {
  readonly address: HostAddress;
  readonly server: ServerInfo;
  private readonly ws: WebSocket;
  private handlers: ConnectionHandlers | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private heardSincePing = true;
  private lastError: Error | null = null;
  private closed = false;

  private constructor(address: HostAddress, ws: WebSocket, server: ServerInfo) {
    this.address = address;
    this.ws = ws;
    this.server = server;
  }

  /** Opens a socket and completes HELLO, or rejects with SERVER_NOT_AVAILABLE or HELLO's result code. */
  static open(address: HostAddress, options: ConnectionOptions): Promise<Connection> {
    return new Promise<Connection>((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(urlOf(address), {
          perMessageDeflate: false,
          maxPayload: options.maxFrameBytes,
          handshakeTimeout: options.connectTimeoutMs,
        });
      } catch (error) {
        reject(unavailable(address, (error as Error).message)); // a host that makes no valid URL
        return;
      }
      let settled = false;
      let failure: AerieError | null = null;
      const timer = setTimeout(() => {
        failure = unavailable(address, `no HELLO answer within ${options.connectTimeoutMs} ms`);
        ws.terminate();
      }, options.connectTimeoutMs);
      const settle = (error: AerieError | null, connection?: Connection) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.removeAllListeners();
        if (error !== null) {
          ws.on('error', () => {}); // a late socket error must not become an uncaught exception
          if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
          reject(error);
        } else {
          resolve(connection!);
        }
      };
      ws.on('open', () => ws.send(encodeFrame([[HELLO_REQUEST_ID, Op.HELLO, options.hello]])));
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        try {
          const server = readHelloAnswer(data, isBinary);
          const connection = new Connection(address, ws, server);
          settle(null, connection);
          connection.start(options.pingIntervalMs);
        } catch (error) {
          settle(error instanceof AerieError ? error : unavailable(address, String(error)));
        }
      });
      ws.on('error', (error: Error) => {
        failure ??= unavailable(address, error.message);
      });
      ws.on('close', (code: number) => {
        settle(failure ?? unavailable(address, `closed during HELLO (${code})`));
      });
    });
  }

  /** Routes frames and the close to the pipeline. Frames cannot arrive before this: nothing was asked. */
  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: Buffer): void {
    // A frame sent on a closing socket is lost; the close that follows settles its calls.
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame, { binary: true });
  }

  /** Closes gracefully, terminating the socket if the server has not acknowledged within graceMs. */
  close(graceMs: number): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.ws.terminate(), graceMs);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.ws.readyState !== WebSocket.CLOSING) this.ws.close(1000);
    });
  }

  terminate(reason?: string): void {
    if (reason !== undefined) this.lastError ??= new Error(reason);
    this.ws.terminate();
  }

  private start(pingIntervalMs: number): void {
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.heardSincePing = true;
      if (!isBinary) {
        this.terminate('text frame from server');
        return;
      }
      try {
        this.handlers?.onFrame(data);
      } catch (error) {
        this.terminate(`malformed frame from server: ${(error as Error).message}`);
      }
    });
    this.ws.on('pong', () => {
      this.heardSincePing = true;
    });
    this.ws.on('error', (error: Error) => {
      this.lastError ??= error;
    });
    this.ws.on('close', (code: number) => this.onSocketClose(code));
    this.heartbeat = setInterval(() => this.beat(), pingIntervalMs);
    this.heartbeat.unref();
  }

  private beat(): void {
    if (!this.heardSincePing) {
      this.terminate('no pong from server');
      return;
    }
    this.heardSincePing = false;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }

  private onSocketClose(code: number): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    const why = this.lastError?.message ?? `closed (${code})`;
    this.handlers?.onClose(new AerieError(Status.CONNECTION_CLOSED, `${this.address.host}:${this.address.port}: ${why}`));
  }
}

/** Decodes the first frame of a connection: the answer to HELLO, or the reason it was refused. */
function readHelloAnswer(data: Buffer, isBinary: boolean): ServerInfo {
  if (!isBinary) throw new AerieError(Status.PARAMETER, 'text frame in answer to HELLO');
  const answers: { id: number; code: number; body: unknown }[] = [];
  decodeResponses(data, (id, code, body) => answers.push({ id, code, body }));
  const answer = answers[0];
  if (answers.length !== 1 || answer.id !== HELLO_REQUEST_ID) throw new AerieError(Status.PARAMETER, 'first frame is not the answer to HELLO');
  if (answer.code !== Status.OK) throw serverError(answer.code, answer.body, false);
  return (answer.body !== null && typeof answer.body === 'object' ? answer.body : {}) as ServerInfo;
}
