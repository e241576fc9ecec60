// Logging in (docs/security.md): the first HELLO sends the user and password; the node answers
// with a session token, which later connections (reconnects) send instead, so the password is
// hashed by the node once per token rather than once per connection. The token is renewed (TOKEN
// request) at three quarters of its life; a token refused at a reconnect falls back to the
// password. The token is taken out of the HELLO answer the client exposes, so it is never logged
// with it. Also the typed calls of the USER and ROLE requests.

import { Status, type AerieError } from '../errors';
import { Op } from '../protocol/ops';
import type { HelloRequest, ServerInfo } from './connection';

/**
 * A token this close to its expiry is not sent: the password is. Small, since renewal keeps a
 * quarter of the token's life ahead; a token that expires in flight is answered EXPIRED_SESSION
 * and the next attempt sends the password.
 */
const TOKEN_MARGIN_MS = 100;

export class ClientAuth {
  private token: string | null = null;
  private expiresAtMs = 0;
  private renewTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly user: string | undefined,
    private readonly password: string | undefined,
  ) {}

  /** Adds the credentials to a HELLO: the token while it is fresh, else the password. */
  hello(request: HelloRequest): HelloRequest {
    if (this.user === undefined) return request;
    if (this.token !== null && this.expiresAtMs - Date.now() > TOKEN_MARGIN_MS) return { ...request, user: this.user, token: this.token };
    return this.password === undefined ? { ...request, user: this.user } : { ...request, user: this.user, password: this.password };
  }

  /** A HELLO succeeded: keep its token (taken out of `server`) and plan its renewal through `renew`. */
  accepted(server: ServerInfo, renew: () => Promise<unknown>): void {
    const { token, tokenExpiresAtMs } = server;
    delete server.token;
    delete server.tokenExpiresAtMs;
    if (typeof token !== 'string' || typeof tokenExpiresAtMs !== 'number') return;
    this.keep(token, tokenExpiresAtMs, renew);
  }

  /** A HELLO failed: a token it carried is dropped, so the next attempt sends the password. */
  failed(error: unknown): void {
    const code = (error as AerieError)?.code;
    if (code === Status.EXPIRED_SESSION || code === Status.INVALID_CREDENTIAL || code === Status.INVALID_USER) this.token = null;
  }

  stop(): void {
    if (this.renewTimer !== null) clearTimeout(this.renewTimer);
    this.renewTimer = null;
  }

  private keep(token: string, expiresAtMs: number, renew: () => Promise<unknown>): void {
    this.token = token;
    this.expiresAtMs = expiresAtMs;
    this.stop();
    this.renewTimer = setTimeout(
      () => {
        renew().then(
          (body) => {
            const b = body as { token?: unknown; tokenExpiresAtMs?: unknown } | null;
            if (typeof b?.token === 'string' && typeof b.tokenExpiresAtMs === 'number') this.keep(b.token, b.tokenExpiresAtMs, renew);
          },
          () => undefined, // not connected now: the next HELLO sends the password if the token has expired by then
        );
      },
      Math.max(0, ((expiresAtMs - Date.now()) * 3) / 4),
    );
    this.renewTimer.unref();
  }
}

/** What the SDK's security calls need of a client. */
export interface SecurityCaller {
  securityRequest(op: number, body: unknown): Promise<unknown>;
}

export interface UserInfo {
  user: string;
  roles: string[];
}

export interface RoleInfo {
  role: string;
  /** `name[:ns[.set]]` each. */
  privileges: string[];
  predefined: boolean;
  /** Addresses or subnets a holder may log in from (custom roles; empty: any). */
  allowlist?: string[];
  /** Records per second each holder may read and write (custom roles; 0: no limit). */
  readQuota?: number;
  writeQuota?: number;
}

/** A role's rate quotas in records per second (0 or absent: none); docs/security.md, Quotas. */
export interface RoleQuotas {
  readQuota?: number;
  writeQuota?: number;
}

/** USER and ROLE requests; each resolves once the change is durable on the node. */
export const users = {
  create: (c: SecurityCaller, user: string, password: string, roles: string[] = []) => c.securityRequest(Op.USER, { action: 'create', user, password, roles }).then(() => undefined),
  drop: (c: SecurityCaller, user: string) => c.securityRequest(Op.USER, { action: 'drop', user }).then(() => undefined),
  setPassword: (c: SecurityCaller, user: string, password: string) => c.securityRequest(Op.USER, { action: 'passwd', user, password }).then(() => undefined),
  grant: (c: SecurityCaller, user: string, roles: string[]) => c.securityRequest(Op.USER, { action: 'grant', user, roles }).then(() => undefined),
  revoke: (c: SecurityCaller, user: string, roles: string[]) => c.securityRequest(Op.USER, { action: 'revoke', user, roles }).then(() => undefined),
  list: async (c: SecurityCaller): Promise<UserInfo[]> => ((await c.securityRequest(Op.USER, { action: 'list' })) as { users: UserInfo[] }).users,
};

export const roles = {
  create: (c: SecurityCaller, role: string, privileges: string[], allowlist: string[] = [], quotas: RoleQuotas = {}) =>
    c.securityRequest(Op.ROLE, { action: 'create', role, privileges, allowlist, ...quotas }).then(() => undefined),
  setQuotas: (c: SecurityCaller, role: string, quotas: RoleQuotas) => c.securityRequest(Op.ROLE, { action: 'quotas', role, ...quotas }).then(() => undefined),
  setAllowlist: (c: SecurityCaller, role: string, allowlist: string[]) => c.securityRequest(Op.ROLE, { action: 'allowlist', role, allowlist }).then(() => undefined),
  drop: (c: SecurityCaller, role: string) => c.securityRequest(Op.ROLE, { action: 'drop', role }).then(() => undefined),
  list: async (c: SecurityCaller): Promise<RoleInfo[]> => ((await c.securityRequest(Op.ROLE, { action: 'list' })) as { roles: RoleInfo[] }).roles,
};
