// The node's users and custom roles, kept in one JSON file under security.dataDir and replaced
// whole on every change (durable-file.ts), so a change is either on disk or not, whatever kill -9
// interrupts. Changes run one at a time; each bumps a change counter in shared memory that every
// thread serving sessions compares against, so role changes reach open connections without any
// per-request lookup.

import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as C from '../constants';
import { AerieError, Status } from '../errors';
import { writeFileDurably } from './durable-file';
import { formatPrivilege, parsePrivilege, type Privilege } from './privileges';
import type { RoleQuota } from './quotas';

export const USERS_FILE = 'users.json';
const FORMAT = 1;

export interface UserEntry {
  user: string;
  /** scrypt hash (password-hash.ts). */
  hash: string;
  roles: string[];
  /** Bumped by each password change: tokens issued before it no longer log in. */
  credentialEpoch: number;
}

interface StoreFile {
  format: number;
  users: UserEntry[];
  roles: { role: string; privileges: string[]; allowlist?: string[]; readQuota?: number; writeQuota?: number }[];
}

/** What a change sees and edits: copies, committed only once written to disk. */
export interface StoreDraft {
  users: Map<string, UserEntry>;
  roles: Map<string, Privilege[]>;
  /** Custom roles' client address allow-lists (addresses or CIDR subnets); absent: any address. */
  allowlists: Map<string, string[]>;
  /** Custom roles' rate quotas (quotas.ts); absent: none. */
  quotas: Map<string, RoleQuota>;
}

export class UsersStore {
  private users = new Map<string, UserEntry>();
  private roles = new Map<string, Privilege[]>();
  private allowlists = new Map<string, string[]>();
  private quotas = new Map<string, RoleQuota>();
  private tail: Promise<unknown> = Promise.resolve();
  /** Changes so far: [0] is bumped (Atomics) after each committed change. */
  readonly changes: Int32Array;

  constructor(
    readonly file: string,
    changesSab: SharedArrayBuffer = new SharedArrayBuffer(4),
  ) {
    this.changes = new Int32Array(changesSab);
  }

  /** Reads the file; false when there is none yet. A damaged file stops start-up with its path. */
  load(): boolean {
    if (!existsSync(this.file)) return false;
    if (statSync(this.file).size > C.USERS_FILE_BYTES_MAX) throw damaged(this.file, `larger than ${C.USERS_FILE_BYTES_MAX} bytes`);
    let raw: StoreFile;
    try {
      raw = JSON.parse(readFileSync(this.file, 'utf8')) as StoreFile;
    } catch (err) {
      throw damaged(this.file, (err as Error).message);
    }
    if (raw === null || typeof raw !== 'object' || raw.format !== FORMAT || !Array.isArray(raw.users) || !Array.isArray(raw.roles)) throw damaged(this.file, 'not a users file of format 1');
    const users = new Map<string, UserEntry>();
    for (const u of raw.users) {
      if (typeof u?.user !== 'string' || typeof u.hash !== 'string' || !Array.isArray(u.roles) || !Number.isSafeInteger(u.credentialEpoch)) throw damaged(this.file, 'a malformed user');
      users.set(u.user, { user: u.user, hash: u.hash, roles: u.roles.filter((r) => typeof r === 'string'), credentialEpoch: u.credentialEpoch });
    }
    const roles = new Map<string, Privilege[]>();
    const allowlists = new Map<string, string[]>();
    const quotas = new Map<string, RoleQuota>();
    for (const r of raw.roles) {
      if (Array.isArray(r?.allowlist) && r.allowlist.length > 0)
        allowlists.set(
          r.role,
          r.allowlist.filter((a) => typeof a === 'string'),
        );
      if (typeof r?.role !== 'string' || !Array.isArray(r.privileges)) throw damaged(this.file, 'a malformed role');
      roles.set(r.role, r.privileges.map(parsePrivilege));
      const quota = { read: quotaField(r.readQuota), write: quotaField(r.writeQuota) };
      if (quota.read > 0 || quota.write > 0) quotas.set(r.role, quota);
    }
    this.users = users;
    this.roles = roles;
    this.allowlists = allowlists;
    this.quotas = quotas;
    return true;
  }

  user(name: string): UserEntry | undefined {
    return this.users.get(name);
  }

  get customRoles(): ReadonlyMap<string, readonly Privilege[]> {
    return this.roles;
  }

  /** A custom role's allow-list, or undefined when the role allows any address. */
  allowlistOf(role: string): readonly string[] | undefined {
    return this.allowlists.get(role);
  }

  /** Custom roles' rate quotas. */
  get roleQuotas(): ReadonlyMap<string, RoleQuota> {
    return this.quotas;
  }

  get userCount(): number {
    return this.users.size;
  }

  userNames(): IterableIterator<string> {
    return this.users.keys();
  }

  listUsers(): { user: string; roles: string[] }[] {
    return [...this.users.values()].map((u) => ({ user: u.user, roles: [...u.roles] }));
  }

  /**
   * Runs `change` on a copy of the users and roles, writes the result durably, then makes it the
   * store's. One change at a time; a change that throws or fails to write leaves the store as it
   * was (a failed write after the rename is reported, and the next start reads the new file).
   */
  mutate<T>(change: (draft: StoreDraft) => T | Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const draft: StoreDraft = {
        users: new Map([...this.users].map(([k, u]) => [k, { ...u, roles: [...u.roles] }])),
        roles: new Map([...this.roles].map(([k, p]) => [k, [...p]])),
        allowlists: new Map([...this.allowlists].map(([k, a]) => [k, [...a]])),
        quotas: new Map([...this.quotas].map(([k, q]) => [k, { ...q }])),
      };
      const result = await change(draft);
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      await writeFileDurably(this.file, serialize(draft));
      this.users = draft.users;
      this.roles = draft.roles;
      this.allowlists = draft.allowlists;
      this.quotas = draft.quotas;
      Atomics.add(this.changes, 0, 1);
      return result;
    };
    const next = this.tail.then(run, run);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

function serialize(draft: StoreDraft): string {
  const file: StoreFile = {
    format: FORMAT,
    users: [...draft.users.values()],
    roles: [...draft.roles].map(([role, privileges]) => {
      const entry: StoreFile['roles'][number] = { role, privileges: privileges.map(formatPrivilege) };
      const allowlist = draft.allowlists.get(role);
      if (allowlist !== undefined) entry.allowlist = allowlist;
      const quota = draft.quotas.get(role);
      if (quota !== undefined) [entry.readQuota, entry.writeQuota] = [quota.read, quota.write];
      return entry;
    }),
  };
  return `${JSON.stringify(file, null, 1)}\n`;
}

/** A quota field as stored: absent or not a sane count is none. */
function quotaField(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 && value <= C.QUOTA_RECORDS_PER_SECOND_MAX ? value : 0;
}

function damaged(file: string, why: string): AerieError {
  return new AerieError(Status.SERVER_ERROR, `security: ${file} cannot be read (${why}); restore it from a backup or move it away to start over with a new admin`);
}
