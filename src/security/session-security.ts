// What a session asks of the node's security, on whichever thread it runs. The primary holds the
// users store and answers itself (node-security.ts); a worker's endpoint asks the primary for
// logins, tokens and USER / ROLE changes, and reads users and roles from the same file when the
// shared change counter moves (src/worker/endpoint-security.ts). Either way a connection's grants
// are compiled on its own thread, once per login and once per change: never per request.

import type { Grants } from './grants';
import type { QuotaCounters } from './quotas';

/** HELLO's credential fields. */
export interface Credentials {
  user?: unknown;
  password?: unknown;
  token?: unknown;
}

export interface TokenGrant {
  token: string;
  tokenExpiresAtMs: number;
}

export interface LoggedIn extends TokenGrant {
  user: string;
  grants: Grants;
  /** The store's change count the grants were computed at. */
  grantsChanges: number;
  /** The user's counters in the quota block (quotas.ts). */
  quotaSlot: number;
}

export interface SessionSecurity {
  /** [0] moves after every committed change of users or roles (shared by every thread). */
  readonly changes: Int32Array;
  /** Every user's read and write counts this second, shared by every endpoint. */
  readonly quotas: QuotaCounters;
  /** Logs a HELLO in by password or token; the refusal's code otherwise (docs/security.md). */
  login(credentials: Credentials, remote: string): Promise<LoggedIn>;
  /** What `user` may do now; null when the user no longer exists. */
  grantsOf(user: string): Grants | null;
  /** Whether `user`'s roles' allow-lists admit the client at `remote` (host:port). */
  addressAllowed(user: string, remote: string): boolean;
  /** TOKEN: a fresh token, if the user may still log in from `remote`. */
  renewToken(user: string, remote: string): TokenGrant | Promise<TokenGrant>;
  /** USER or ROLE for `user` holding `grants`: resolves with the answer's body. */
  command(op: number, body: unknown, user: string, grants: Grants): Promise<unknown>;
}
