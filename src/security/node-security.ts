// A node's security with users on: the users store, the token signer and the login throttle,
// and the one thing a session asks of them: log this HELLO in, and say what its user may do.

import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { SecurityConfig } from '../config';
import * as C from '../constants';
import { AerieError, Status, statusName } from '../errors';
import { compileGrants, type Grants } from './grants';
import { addressOf, LoginThrottle } from './login-throttle';
import { addressAllowed } from './allowlist';
import { checkPassword, hashPassword, UNMATCHABLE_HASH, verifyPassword } from './password-hash';
import { loadTokenSecret, TokenSigner } from './tokens';
import { USERS_FILE, UsersStore } from './users-store';
import { QuotaCounters, QuotaKind } from './quotas';
import { runSecurityCommand } from './user-admin';
import type { Credentials, LoggedIn, SessionSecurity, TokenGrant } from './session-security';

export type { Credentials, LoggedIn } from './session-security';

/** The first user, made at the first start: it can manage users, data and the node. */
export const ADMIN_USER = 'admin';
export const ADMIN_ROLES: readonly string[] = ['user-admin', 'sys-admin', 'data-admin'];
/** The environment variable that carries the first admin's password. */
export const ADMIN_PASSWORD_ENV = 'AERIE_ADMIN_PASSWORD';

export interface SecurityLog {
  info(message: string): void;
  error(message: string): void;
}

/** What a worker's endpoint needs to check its own connections (src/worker/endpoint-security.ts). */
export interface SecurityShare {
  usersFile: string;
  changes: SharedArrayBuffer;
  quotas: SharedArrayBuffer;
}

/** One user's quotas and what they used in the current second (INFO `security.quotas`). */
interface QuotaUse {
  user: string;
  readQuota: number;
  writeQuota: number;
  readsThisSecond: number;
  writesThisSecond: number;
}

export class NodeSecurity implements SessionSecurity {
  readonly throttle = new LoginThrottle();
  readonly quotas = new QuotaCounters();
  /** Each user's slot in the quota block, given at their first login (at most USERS_MAX). */
  private readonly quotaSlots = new Map<string, number>();
  /** Logins that succeeded, by password and by token, for INFO. */
  loginsByPassword = 0;
  loginsByToken = 0;

  private constructor(
    readonly store: UsersStore,
    private readonly signer: TokenSigner,
    private readonly tokenTtlMs: number,
    private readonly log: SecurityLog,
  ) {}

  /** Opens the store under security.dataDir, making the first admin on the first start. */
  static async open(config: SecurityConfig, log: SecurityLog, env: NodeJS.ProcessEnv = process.env): Promise<NodeSecurity> {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const store = new UsersStore(path.join(config.dataDir, USERS_FILE));
    if (!store.load()) {
      const password = checkPassword(firstAdminPassword(config, env));
      const hash = await hashPassword(password);
      await store.mutate((draft) => {
        draft.users.set(ADMIN_USER, { user: ADMIN_USER, hash, roles: [...ADMIN_ROLES], credentialEpoch: 0 });
      });
      log.info(`security: first start, user '${ADMIN_USER}' created with roles ${ADMIN_ROLES.join(', ')} in ${store.file}`);
    }
    const signer = new TokenSigner(await loadTokenSecret(config.dataDir));
    return new NodeSecurity(store, signer, config.tokenTtlMs, log);
  }

  /** Bumped after every committed change of users or roles: sessions re-check their grants then. */
  get changes(): Int32Array {
    return this.store.changes;
  }

  /**
   * Logs a HELLO in, by password or by token. NOT_AUTHENTICATED without credentials; INVALID_USER
   * for an unknown user; INVALID_CREDENTIAL for a wrong password or a bad token; EXPIRED_SESSION
   * for an expired one. Every failure slows the address's next login (login-throttle.ts).
   */
  async login(credentials: Credentials, remote: string): Promise<LoggedIn> {
    const { user, password, token } = credentials;
    if (password === undefined && token === undefined) {
      throw new AerieError(Status.NOT_AUTHENTICATED, 'this node has security enabled: HELLO needs user and password, or a token');
    }
    if (password !== undefined && token !== undefined) throw new AerieError(Status.PARAMETER, 'HELLO takes a password or a token, not both');
    if (user !== undefined && typeof user !== 'string') throw new AerieError(Status.PARAMETER, 'user must be a string');
    const address = addressOf(remote);
    await this.throttle.admit(address);
    try {
      const name = token !== undefined ? this.checkToken(token, user) : await this.checkPassword(user, password);
      this.checkAddress(name, address);
      this.throttle.succeeded(address);
      if (token !== undefined) this.loginsByToken++;
      else this.loginsByPassword++;
      return { user: name, grants: this.grantsOf(name)!, grantsChanges: this.changes[0], quotaSlot: this.quotaSlotOf(name), ...this.issueToken(name) };
    } catch (err) {
      if (err instanceof AerieError && err.code !== Status.QUOTA_EXCEEDED && err.code !== Status.PARAMETER) {
        const state = this.throttle.failed(address);
        // The user name is the client's text: quoted and cut, so it cannot forge log lines. Never the password or token.
        const who = typeof user === 'string' ? JSON.stringify(user.slice(0, C.USER_NAME_BYTES_MAX)) : '(by token)';
        this.log.error(`security: login failed for user ${who} from ${address}: ${statusName(err.code)} (${state.failures} in a row; its next login waits ${state.delayMs} ms)`);
      }
      throw err;
    }
  }

  /** What `user` may do now; null when the user no longer exists. */
  grantsOf(user: string): Grants | null {
    const entry = this.store.user(user);
    return entry === undefined ? null : compileGrants(entry.roles, this.store.customRoles, this.store.roleQuotas);
  }

  addressAllowed(user: string, remote: string): boolean {
    return addressAllowed(addressOf(remote), allowlistsOf(this.store, user));
  }

  /** TOKEN: checked against the allow-lists again, so a connection from an address taken off them cannot renew. */
  renewToken(user: string, remote: string): TokenGrant {
    this.checkAddress(user, addressOf(remote));
    return this.issueToken(user);
  }

  command(op: number, body: unknown, user: string, grants: Grants): Promise<unknown> {
    return runSecurityCommand(this, op, body, user, grants);
  }

  /** What a worker's endpoint is given to check its connections itself. */
  share(): SecurityShare {
    return { usersFile: this.store.file, changes: this.store.changes.buffer as SharedArrayBuffer, quotas: this.quotas.sab };
  }

  /** `user`'s quota slot; slots of users dropped since are taken back when all are given out. */
  private quotaSlotOf(user: string): number {
    let slot = this.quotaSlots.get(user);
    if (slot !== undefined) return slot;
    if (this.quotaSlots.size >= C.USERS_MAX) {
      for (const name of this.quotaSlots.keys()) if (this.store.user(name) === undefined) this.quotaSlots.delete(name);
    }
    const taken = new Set(this.quotaSlots.values());
    slot = 0;
    while (taken.has(slot)) slot++;
    // A store holds at most USERS_MAX users, and only existing users log in.
    if (slot >= C.USERS_MAX) throw new AerieError(Status.QUOTA_EXCEEDED, `at most ${C.USERS_MAX} users`);
    this.quotaSlots.set(user, slot);
    return slot;
  }

  issueToken(user: string): TokenGrant {
    const entry = this.store.user(user);
    if (entry === undefined) throw new AerieError(Status.INVALID_USER, 'the user no longer exists');
    const tokenExpiresAtMs = Date.now() + this.tokenTtlMs;
    return { token: this.signer.issue({ user, credentialEpoch: entry.credentialEpoch, expiresAtMs: tokenExpiresAtMs }), tokenExpiresAtMs };
  }

  info(): Record<string, unknown> {
    return {
      enabled: true,
      users: this.store.userCount,
      loginsByPassword: this.loginsByPassword,
      loginsByToken: this.loginsByToken,
      loginFailures: this.throttle.failuresTotal,
      throttledAddresses: this.throttle.addressCount,
      loginDelayMsMax: this.throttle.delayMsMax(),
      quotas: this.quotaInfo(),
    };
  }

  /**
   * The users whose roles carry a quota, with their limits and what they used in the current
   * second over every endpoint (Aerospike's `show users statistics`); users who have not logged in
   * since the node started have used nothing.
   */
  private quotaInfo(): QuotaUse[] {
    const out: QuotaUse[] = [];
    if (this.store.roleQuotas.size === 0) return out;
    const nowSecond = Math.floor(Date.now() / 1000);
    for (const user of this.store.userNames()) {
      const grants = this.grantsOf(user);
      if (grants === null || !grants.quotaLimited) continue;
      const slot = this.quotaSlots.get(user);
      out.push({
        user,
        readQuota: grants.readQuota,
        writeQuota: grants.writeQuota,
        readsThisSecond: slot === undefined ? 0 : this.quotas.used(slot, QuotaKind.READ, nowSecond),
        writesThisSecond: slot === undefined ? 0 : this.quotas.used(slot, QuotaKind.WRITE, nowSecond),
      });
    }
    return out;
  }

  private async checkPassword(user: unknown, password: unknown): Promise<string> {
    if (typeof user !== 'string') throw new AerieError(Status.NOT_AUTHENTICATED, 'HELLO needs a user with its password');
    if (typeof password !== 'string') throw new AerieError(Status.PARAMETER, 'password must be a string');
    if (Buffer.byteLength(password) > C.PASSWORD_BYTES_MAX) throw new AerieError(Status.INVALID_CREDENTIAL, 'wrong password');
    const entry = this.store.user(user);
    // An unknown user costs a hash too, so the answer's timing does not tell which part was wrong.
    const matches = await verifyPassword(password, entry?.hash ?? UNMATCHABLE_HASH);
    if (entry === undefined) throw new AerieError(Status.INVALID_USER, 'no such user');
    if (!matches) throw new AerieError(Status.INVALID_CREDENTIAL, 'wrong password');
    return user;
  }

  /** NOT_WHITELISTED when the user's roles have allow-lists and none lists `address`. */
  private checkAddress(user: string, address: string): void {
    if (!addressAllowed(address, allowlistsOf(this.store, user))) throw new AerieError(Status.NOT_WHITELISTED, "this address is not in the allow-lists of the user's roles");
  }

  private checkToken(token: unknown, user: unknown): string {
    const claims = this.signer.verify(token, Date.now());
    if (user !== undefined && user !== claims.user) throw new AerieError(Status.INVALID_CREDENTIAL, 'the token is for another user');
    const entry = this.store.user(claims.user);
    if (entry === undefined) throw new AerieError(Status.INVALID_USER, "the token's user no longer exists");
    if (entry.credentialEpoch !== claims.credentialEpoch) throw new AerieError(Status.INVALID_CREDENTIAL, 'the password changed since the token was issued');
    return claims.user;
  }
}

/** The allow-lists of `user`'s roles (none: any address). */
export function allowlistsOf(store: UsersStore, user: string): (readonly string[])[] {
  const lists: (readonly string[])[] = [];
  for (const role of store.user(user)?.roles ?? []) {
    const list = store.allowlistOf(role);
    if (list !== undefined) lists.push(list);
  }
  return lists;
}

/** AERIE_ADMIN_PASSWORD, else the file security.adminPasswordFile names; never a default. */
function firstAdminPassword(config: SecurityConfig, env: NodeJS.ProcessEnv): string {
  const fromEnv = env[ADMIN_PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (config.adminPasswordFile !== null) {
    try {
      return readFileSync(config.adminPasswordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new AerieError(Status.PARAMETER, `config: security.adminPasswordFile: cannot read ${config.adminPasswordFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  throw new AerieError(
    Status.PARAMETER,
    `security is enabled and ${config.dataDir} holds no users yet: set ${ADMIN_PASSWORD_ENV} or security.adminPasswordFile ` + `for the first admin's password (there is no default password)`,
  );
}
