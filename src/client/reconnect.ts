// The reconnect schedule: which host to try next (round-robin) and how long to wait first
// (exponential from CLIENT_RECONNECT_DELAY_MS_MIN, capped at _MAX, with jitter so that many clients
// cut off by one server restart do not all return in the same tick).

import { CLIENT_RECONNECT_DELAY_MS_MAX, CLIENT_RECONNECT_DELAY_MS_MIN } from '../constants';

/** Attempts past this no longer grow the ceiling; it also keeps 2 ** attempt finite. */
const ATTEMPT_EXPONENT_MAX = 30;

/**
 * Delay before reconnect attempt `attempt` (0 for the first after a loss). The ceiling doubles
 * per attempt from MIN to MAX; the delay is drawn from the upper half of [0, ceiling] ("equal
 * jitter") and never falls below MIN. `random` returns [0, 1); tests pass a fixed one.
 */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), ATTEMPT_EXPONENT_MAX);
  const ceilingMs = Math.min(CLIENT_RECONNECT_DELAY_MS_MAX, CLIENT_RECONNECT_DELAY_MS_MIN * 2 ** exponent);
  const delayMs = ceilingMs / 2 + random() * (ceilingMs / 2);
  return Math.round(Math.min(CLIENT_RECONNECT_DELAY_MS_MAX, Math.max(CLIENT_RECONNECT_DELAY_MS_MIN, delayMs)));
}

export interface HostAddress {
  host: string;
  port: number;
  /** wss:// (true) or ws:// (false) as the host was written; absent: as the client's options say. */
  secure?: boolean;
}

export const DEFAULT_PORT = 3000;

/** Parses 'host:port', '[v6]:port' or a bare host (port 3000), each optionally as a ws:// or wss:// URL; null when malformed. */
export function parseHost(text: string, defaultPort = DEFAULT_PORT): HostAddress | null {
  const scheme = /^(wss?):\/\/([^/]*)\/?$/i.exec(text.trim());
  if (scheme !== null) {
    const address = parseHost(scheme[2], defaultPort);
    return address === null ? null : { ...address, secure: scheme[1].toLowerCase() === 'wss' };
  }
  const trimmed = text.trim();
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(trimmed);
  const plain = /^([^\s:[\]/]+)(?::(\d+))?$/.exec(trimmed);
  const match = v6 ?? plain;
  if (!match) return null;
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host: match[1], port };
}

/** Hosts in the order they are tried: each attempt takes the next one, wrapping around. */
export class HostRotation {
  private readonly hosts: readonly HostAddress[];
  private nextIndex = 0;

  constructor(hosts: readonly HostAddress[]) {
    if (hosts.length === 0) throw new Error('HostRotation needs at least one host');
    this.hosts = hosts;
  }

  get count(): number {
    return this.hosts.length;
  }

  next(): HostAddress {
    const host = this.hosts[this.nextIndex];
    this.nextIndex = (this.nextIndex + 1) % this.hosts.length;
    return host;
  }
}
