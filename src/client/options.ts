// connect() options, checked and filled with defaults once, so the rest of the client reads plain
// numbers. Every bound comes from constants.ts; nothing is left unlimited.

import {
  CLIENT_CONNECT_TIMEOUT_MS_DEFAULT,
  CLIENT_IN_FLIGHT_MAX_DEFAULT,
  CLIENT_QUEUE_MAX_DEFAULT,
  CLIENT_TIMEOUT_MS_DEFAULT,
  FRAME_BYTES_MAX_DEFAULT,
  IN_FLIGHT_PER_CONNECTION_MAX_DEFAULT,
  RECORD_BYTES_CEILING,
} from '../constants';
import { parseHost, type HostAddress } from './reconnect';
import { checkCount, checkTimeoutMs, parameterError } from './validate';

/** Dead-connection detection: a ping every this often; silence for one interval drops the socket. */
export const PING_INTERVAL_MS = 5000;
export const PING_INTERVAL_MS_MIN = 10;
export const PING_INTERVAL_MS_MAX = 60_000;
/** Re-sends of a read after a lost connection, by default (Aerospike's default too). */
export const CLIENT_MAX_RETRIES_DEFAULT = 2;
export const CLIENT_MAX_RETRIES_MAX = 100;
/** Largest maxQueued accepted: queued calls hold their encoded bodies in memory. */
export const CLIENT_QUEUE_MAX_CEILING = 10_000_000;
/** Largest frame accepted from a server by default: a server's largest frame, with room to spare. */
export const CLIENT_FRAME_BYTES_MAX_DEFAULT = 4 * FRAME_BYTES_MAX_DEFAULT;
const CLIENT_FRAME_BYTES_MAX_CEILING = 1024 * 1024 * 1024;

export interface ClientOptions {
  /** 'host:port' or a list of them, tried round-robin. A bare host means port 3000. */
  hosts: string | string[];
  user?: string;
  password?: string;
  /** Default total timeout of a call, queueing and retries included. */
  timeoutMs?: number;
  /** Bound on opening a socket and completing HELLO. */
  connectTimeoutMs?: number;
  /** Requests sent and unanswered at once; lowered to the server's limit if that is smaller. */
  maxInFlight?: number;
  /** Calls waiting to be sent (disconnected, or at maxInFlight) before new ones fail CLIENT_QUEUE_FULL. */
  maxQueued?: number;
  /** Default re-sends of a read after a lost connection. Writes are never re-sent. */
  maxRetries?: number;
  /** Reconnect after a lost connection (default true). When false, the client closes instead. */
  reconnect?: boolean;
  /** Largest frame accepted from the server. */
  maxFrameBytes?: number;
  /** How often the connection is pinged; no pong or message within one interval drops it. */
  pingIntervalMs?: number;
  /**
   * 'partition' (default): a connection to each worker's endpoint besides the front, and each
   * keyed call sent to its partition's master; 'front': every call through the front port.
   */
  routing?: Routing;
  /**
   * TLS for wss:// (Node; a browser uses its own trust store and ignores this). Setting it makes
   * every host wss://, as does any host written wss://.
   */
  tls?: ClientTls;
}

/** The TLS settings of wss:// connections: PEM text or bytes. */
export interface ClientTls {
  /** CAs trusted for the node's certificate (default: the system's). */
  ca?: string | Uint8Array;
  /** A client certificate and its key, for a node that requires one (service.tls.requestCert). */
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
  /** false accepts any certificate: for tests only, never in production. Default true. */
  rejectUnauthorized?: boolean;
}

/** Where calls go: to their partition's master's endpoint, or all through the front (docs/client.md). */
export type Routing = 'partition' | 'front';

export interface ResolvedOptions {
  hosts: HostAddress[];
  user?: string;
  password?: string;
  timeoutMs: number;
  connectTimeoutMs: number;
  maxInFlight: number;
  maxQueued: number;
  maxRetries: number;
  reconnect: boolean;
  maxFrameBytes: number;
  pingIntervalMs: number;
  /** wss:// for hosts written without a scheme (tls given, or some host written wss://). */
  secure?: boolean;
  tls?: ClientTls;
  routing: Routing;
}

export function resolveOptions(options: ClientOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw parameterError('connect() needs an options object');
  const hostList = typeof options.hosts === 'string' ? options.hosts.split(',') : options.hosts;
  if (!Array.isArray(hostList) || hostList.length === 0) throw parameterError('hosts must name at least one host:port');
  const hosts = hostList.map((text) => {
    const address = typeof text === 'string' ? parseHost(text) : null;
    if (address === null) throw parameterError(`bad host: ${String(text)} (expected host:port)`);
    return address;
  });
  if (options.user !== undefined && typeof options.user !== 'string') throw parameterError('user must be a string');
  if (options.password !== undefined && typeof options.password !== 'string') throw parameterError('password must be a string');
  if (options.reconnect !== undefined && typeof options.reconnect !== 'boolean') throw parameterError('reconnect must be a boolean');
  if (options.routing !== undefined && options.routing !== 'partition' && options.routing !== 'front') throw parameterError("routing must be 'partition' or 'front'");
  const resolved: ResolvedOptions = {
    hosts,
    timeoutMs: optional(options.timeoutMs, CLIENT_TIMEOUT_MS_DEFAULT, (v) => checkTimeoutMs(v)),
    connectTimeoutMs: optional(options.connectTimeoutMs, CLIENT_CONNECT_TIMEOUT_MS_DEFAULT, (v) => checkTimeoutMs(v, 'connectTimeoutMs')),
    maxInFlight: optional(options.maxInFlight, CLIENT_IN_FLIGHT_MAX_DEFAULT, (v) => checkCount(v, 'maxInFlight', 1, IN_FLIGHT_PER_CONNECTION_MAX_DEFAULT)),
    maxQueued: optional(options.maxQueued, CLIENT_QUEUE_MAX_DEFAULT, (v) => checkCount(v, 'maxQueued', 0, CLIENT_QUEUE_MAX_CEILING)),
    maxRetries: optional(options.maxRetries, CLIENT_MAX_RETRIES_DEFAULT, (v) => checkCount(v, 'maxRetries', 0, CLIENT_MAX_RETRIES_MAX)),
    reconnect: options.reconnect ?? true,
    maxFrameBytes: optional(options.maxFrameBytes, CLIENT_FRAME_BYTES_MAX_DEFAULT, (v) => checkCount(v, 'maxFrameBytes', RECORD_BYTES_CEILING + 64 * 1024, CLIENT_FRAME_BYTES_MAX_CEILING)),
    pingIntervalMs: optional(options.pingIntervalMs, PING_INTERVAL_MS, (v) => checkCount(v, 'pingIntervalMs', PING_INTERVAL_MS_MIN, PING_INTERVAL_MS_MAX)),
    routing: options.routing ?? 'partition',
  };
  if (options.tls !== undefined) resolved.tls = checkTls(options.tls);
  if (options.tls !== undefined || hosts.some((h) => h.secure === true)) resolved.secure = true;
  if (options.user !== undefined) resolved.user = options.user;
  if (options.password !== undefined) resolved.password = options.password;
  return resolved;
}

function checkTls(tls: unknown): ClientTls {
  if (tls === null || typeof tls !== 'object' || Array.isArray(tls)) throw parameterError('tls must be an object {ca?, cert?, key?, rejectUnauthorized?}');
  const t = tls as Record<string, unknown>;
  for (const key of Object.keys(t)) {
    if (!['ca', 'cert', 'key', 'rejectUnauthorized'].includes(key)) throw parameterError(`tls.${key} is not a TLS option`);
    const value = t[key];
    if (key === 'rejectUnauthorized' ? typeof value !== 'boolean' : typeof value !== 'string' && !(value instanceof Uint8Array)) {
      throw parameterError(`tls.${key} must be ${key === 'rejectUnauthorized' ? 'a boolean' : 'PEM text or bytes'}`);
    }
  }
  return { ...(t as ClientTls) };
}

function optional(value: unknown, fallback: number, check: (value: unknown) => number): number {
  return value === undefined ? fallback : check(value);
}
