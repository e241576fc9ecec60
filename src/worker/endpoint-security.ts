// Security on a worker's endpoint (docs/security.md, Worker endpoints). Logins, TOKEN and USER /
// ROLE requests go to the primary, which holds the users store, the token key, the login throttle
// and the quota slots, so a guess costs the same wherever it is sent and a token from any endpoint
// logs in on every other. What a logged-in connection may do is decided here, on this thread:
// users and roles are read from the same users file the primary writes (durably, before it moves
// the shared change counter), again only when the counter moved, so a request costs one compare.

import { AerieError, Status } from '../errors';
import { addressAllowed } from '../security/allowlist';
import { compileGrants, type Grants } from '../security/grants';
import { addressOf } from '../security/login-throttle';
import { allowlistsOf, type SecurityShare } from '../security/node-security';
import { QuotaCounters } from '../security/quotas';
import type { Credentials, LoggedIn, SessionSecurity, TokenGrant } from '../security/session-security';
import { UsersStore } from '../security/users-store';
import type { AdminAction } from './thread-messages';

/** What the primary answers a forwarded login (LoggedIn without the grants, which are compiled here). */
export interface ForwardedLogin extends TokenGrant {
  user: string;
  quotaSlot: number;
}

export class EndpointSecurity implements SessionSecurity {
  readonly quotas: QuotaCounters;
  private readonly store: UsersStore;
  /** The change count the store was read at (-1: not yet). */
  private readAt = -1;

  constructor(
    share: SecurityShare,
    private readonly admin: (action: AdminAction, args: unknown) => Promise<unknown>,
  ) {
    this.store = new UsersStore(share.usersFile, share.changes);
    this.quotas = new QuotaCounters(share.quotas);
  }

  get changes(): Int32Array {
    return this.store.changes;
  }

  async login(credentials: Credentials, remote: string): Promise<LoggedIn> {
    const { user, password, token } = credentials;
    const login = (await this.admin('login', { credentials: { user, password, token }, remote })) as ForwardedLogin;
    const grants = this.grantsOf(login.user);
    // Dropped between the primary's answer and now: the connection is not logged in.
    if (grants === null) throw new AerieError(Status.INVALID_USER, 'the user no longer exists');
    return { ...login, grants, grantsChanges: this.readAt };
  }

  grantsOf(user: string): Grants | null {
    const store = this.current();
    const entry = store.user(user);
    return entry === undefined ? null : compileGrants(entry.roles, store.customRoles, store.roleQuotas);
  }

  addressAllowed(user: string, remote: string): boolean {
    return addressAllowed(addressOf(remote), allowlistsOf(this.current(), user));
  }

  renewToken(user: string, remote: string): Promise<TokenGrant> {
    return this.admin('token', { user, remote }) as Promise<TokenGrant>;
  }

  command(op: number, body: unknown, user: string): Promise<unknown> {
    return this.admin('security', { op, body, user });
  }

  /**
   * The users and roles as of the shared counter: the count is read before the file, and the
   * primary writes the file before it moves the count, so the file read is at least that new.
   */
  private current(): UsersStore {
    const changes = Atomics.load(this.store.changes, 0);
    if (changes !== this.readAt) {
      this.store.load();
      this.readAt = changes;
    }
    return this.store;
  }
}
