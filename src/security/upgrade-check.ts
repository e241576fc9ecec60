// Which WebSocket upgrades a node accepts, judged from the request's headers alone, before any
// frame is read. WebSockets are not bound by CORS: any page open in a browser can connect to a
// node on 127.0.0.1 and send it anything, so the Origin a browser sends must be one the node was
// told to trust. DNS rebinding (evil.example resolving to 127.0.0.1) passes an Origin check on
// its own origin, so on a loopback bind the Host header must name the loopback too. A pure
// function of the headers and the configuration, so every endpoint of the node calls the same one.

import { isLoopbackHost } from '../config';

export interface UpgradePolicy {
  /** Lower-cased origins (scheme://host[:port]); "*" allows every origin. */
  allowedOrigins: readonly string[];
  /** Lower-cased host names accepted besides loopback ones (any port). */
  allowedHosts: readonly string[];
}

/** The headers the check reads, as node:http gives them (lower-case names). */
export interface UpgradeHeaders {
  origin?: string | string[];
  host?: string | string[];
}

/**
 * Why an upgrade is refused (403), or null when it is accepted. `ownPorts`: the ports the node
 * serves its admin page on (docs/operations.md); the page's own origin is accepted (ownOrigin).
 */
export function refuseUpgrade(headers: UpgradeHeaders, bindHost: string, policy: UpgradePolicy, ownPorts: readonly number[] = []): string | null {
  if (typeof headers.origin === 'string' && ownOrigin(headers.origin, bindHost, policy, ownPorts)) return refuseHost(headers.host, bindHost, policy);
  return refuseOrigin(headers.origin, policy) ?? refuseHost(headers.host, bindHost, policy);
}

/**
 * Whether `origin` is a page the node served itself: http(s) on one of `ownPorts`, at a host the
 * node answers to that no DNS rebinding can borrow. A loopback name on a loopback bind; on a
 * wider bind an address literal, a loopback name, or a name in allowedHosts, never any other name
 * (a rebinding page's origin carries the attacker's name).
 */
export function ownOrigin(origin: string, bindHost: string, policy: UpgradePolicy, ownPorts: readonly number[]): boolean {
  const m = /^https?:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})$/i.exec(origin);
  if (m === null || !ownPorts.includes(Number(m[2]))) return false;
  const name = hostName(m[1]);
  if (isLoopbackHost(name)) return true;
  if (isLoopbackHost(bindHost)) return false;
  return isAddressLiteral(name) || policy.allowedHosts.includes(name);
}

function refuseOrigin(origin: string | string[] | undefined, policy: UpgradePolicy): string | null {
  // Browsers always send Origin on a WebSocket upgrade; non-browser clients need not.
  if (origin === undefined) return null;
  if (typeof origin !== 'string') return 'more than one Origin header';
  if (policy.allowedOrigins.includes('*') || policy.allowedOrigins.includes(origin.toLowerCase())) return null;
  return `origin ${JSON.stringify(origin.slice(0, 100))} is not in service.allowedOrigins`;
}

function refuseHost(host: string | string[] | undefined, bindHost: string, policy: UpgradePolicy): string | null {
  if (typeof host !== 'string') return host === undefined ? 'no Host header' : 'more than one Host header';
  const name = hostName(host);
  if (policy.allowedHosts.includes(name)) return null;
  if (isLoopbackHost(bindHost)) {
    return isLoopbackHost(name) ? null : `host ${JSON.stringify(host.slice(0, 100))} is not a loopback name on a loopback bind (service.allowedHosts)`;
  }
  // On a wider bind, allowedHosts (when set) names every host the node answers to; addresses are
  // always accepted, since rebinding needs a name.
  if (policy.allowedHosts.length === 0 || isAddressLiteral(name) || isLoopbackHost(name)) return null;
  return `host ${JSON.stringify(host.slice(0, 100))} is not in service.allowedHosts`;
}

/** The Host header's name without its port, lower-cased; IPv6 literals keep their brackets off. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(1, end);
  }
  const colon = h.indexOf(':');
  // More than one colon without brackets is a bare IPv6 address, which has no port.
  if (colon < 0 || h.indexOf(':', colon + 1) >= 0) return h;
  return h.slice(0, colon);
}

function isAddressLiteral(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(':');
}
