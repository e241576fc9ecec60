// The USER and ROLE requests: create, drop and change users and custom roles. Each change is
// checked whole before it is written (users-store.ts writes it durably), and answered only once
// it is on disk. A user may change their own password without user-admin; all else needs it.

import * as C from '../constants';
import { AerieError, Status } from '../errors';
import { Op } from '../protocol/ops';
import { roleViolation, type Grants } from './grants';
import type { NodeSecurity } from './node-security';
import { checkPassword, hashPassword } from './password-hash';
import { formatPrivilege, isValidName, parsePrivilege, PREDEFINED_ROLES, Right } from './privileges';
import type { StoreDraft } from './users-store';
import { parseAllowlist } from './allowlist';
import { parseQuota } from './quotas';

const USER_FIELDS = ['action', 'user', 'password', 'roles'];
const ROLE_FIELDS = ['action', 'role', 'privileges', 'allowlist', 'readQuota', 'writeQuota'];

/** Runs a USER or ROLE request for `caller` (who holds `grants`); resolves with its answer body. */
export async function runSecurityCommand(security: NodeSecurity, op: number, body: unknown, caller: string, grants: Grants): Promise<unknown> {
  const fields = fieldsOf(body, op === Op.USER ? USER_FIELDS : ROLE_FIELDS);
  const isUserAdmin = (grants.nodeRights & Right.USER_ADMIN) !== 0;
  const ownPassword = op === Op.USER && fields.action === 'passwd' && fields.user === caller;
  if (!isUserAdmin && !ownPassword) throw roleViolation(op);
  return op === Op.USER ? userCommand(security, fields) : roleCommand(security, fields);
}

async function userCommand(security: NodeSecurity, f: Record<string, unknown>): Promise<unknown> {
  const store = security.store;
  switch (f.action) {
    case 'list':
      return { users: store.listUsers() };
    case 'create': {
      const user = userName(f.user);
      const roles = roleList(f.roles ?? [], store.customRoles);
      const hash = await hashPassword(checkPassword(f.password));
      return store.mutate((d) => {
        if (d.users.has(user)) throw new AerieError(Status.USER_ALREADY_EXISTS, `user '${user}' exists`);
        if (d.users.size >= C.USERS_MAX) throw new AerieError(Status.QUOTA_EXCEEDED, `at most ${C.USERS_MAX} users`);
        d.users.set(user, { user, hash, roles, credentialEpoch: 0 });
        return null;
      });
    }
    case 'drop': {
      const user = userName(f.user);
      return store.mutate((d) => {
        existingUser(d, user);
        d.users.delete(user);
        return null;
      });
    }
    case 'passwd': {
      const user = userName(f.user);
      const hash = await hashPassword(checkPassword(f.password));
      return store.mutate((d) => {
        const entry = existingUser(d, user);
        entry.hash = hash;
        entry.credentialEpoch++; // its tokens stop logging in
        return null;
      });
    }
    case 'grant':
    case 'revoke': {
      const user = userName(f.user);
      const roles = roleList(f.roles, store.customRoles);
      return store.mutate((d) => {
        const entry = existingUser(d, user);
        const next = f.action === 'grant' ? [...new Set([...entry.roles, ...roles])] : entry.roles.filter((r) => !roles.includes(r));
        if (next.length > C.ROLES_PER_USER_MAX) throw new AerieError(Status.QUOTA_EXCEEDED, `at most ${C.ROLES_PER_USER_MAX} roles per user`);
        entry.roles = next;
        return null;
      });
    }
    default:
      throw new AerieError(Status.INVALID_COMMAND, 'USER action is create, drop, passwd, grant, revoke or list');
  }
}

async function roleCommand(security: NodeSecurity, f: Record<string, unknown>): Promise<unknown> {
  const store = security.store;
  switch (f.action) {
    case 'list': {
      const predefined = PREDEFINED_ROLES.map((role) => ({ role, privileges: [role], predefined: true }));
      const custom = [...store.customRoles].map(([role, ps]) => {
        const quota = store.roleQuotas.get(role);
        return { role, privileges: ps.map(formatPrivilege), predefined: false, allowlist: store.allowlistOf(role) ?? [], readQuota: quota?.read ?? 0, writeQuota: quota?.write ?? 0 };
      });
      return { roles: [...predefined, ...custom] };
    }
    case 'create': {
      const role = roleName(f.role);
      if (!Array.isArray(f.privileges) || f.privileges.length === 0 || f.privileges.length > C.PRIVILEGES_PER_ROLE_MAX) {
        throw new AerieError(Status.INVALID_PRIVILEGE, `a role has 1 to ${C.PRIVILEGES_PER_ROLE_MAX} privileges`);
      }
      const privileges = f.privileges.map(parsePrivilege);
      const allowlist = parseAllowlist(f.allowlist ?? []);
      const quota = { read: parseQuota(f.readQuota, 'readQuota'), write: parseQuota(f.writeQuota, 'writeQuota') };
      return store.mutate((d) => {
        if (PREDEFINED_ROLES.includes(role) || d.roles.has(role)) throw new AerieError(Status.ROLE_ALREADY_EXISTS, `role '${role}' exists`);
        if (d.roles.size >= C.ROLES_MAX) throw new AerieError(Status.QUOTA_EXCEEDED, `at most ${C.ROLES_MAX} roles`);
        d.roles.set(role, privileges);
        if (allowlist.length > 0) d.allowlists.set(role, allowlist);
        if (quota.read > 0 || quota.write > 0) d.quotas.set(role, quota);
        return null;
      });
    }
    case 'quotas': {
      // Replaces the role's read and write quotas (0 or absent: none). Open connections of its
      // holders meet the new limits at their next request (the change counter moves).
      const role = roleName(f.role);
      const quota = { read: parseQuota(f.readQuota, 'readQuota'), write: parseQuota(f.writeQuota, 'writeQuota') };
      return store.mutate((d) => {
        if (!d.roles.has(role)) throw new AerieError(Status.INVALID_ROLE, PREDEFINED_ROLES.includes(role) ? `'${role}' is predefined: give quotas to a custom role` : `no role '${role}'`);
        if (quota.read > 0 || quota.write > 0) d.quotas.set(role, quota);
        else d.quotas.delete(role);
        return null;
      });
    }
    case 'allowlist': {
      // Replaces the role's allow-list; an empty list allows every address again. Checked at login.
      const role = roleName(f.role);
      const allowlist = parseAllowlist(f.allowlist);
      return store.mutate((d) => {
        if (!d.roles.has(role)) throw new AerieError(Status.INVALID_ROLE, PREDEFINED_ROLES.includes(role) ? `'${role}' is predefined: give an allow-list to a custom role` : `no role '${role}'`);
        if (allowlist.length > 0) d.allowlists.set(role, allowlist);
        else d.allowlists.delete(role);
        return null;
      });
    }
    case 'drop': {
      const role = roleName(f.role);
      if (PREDEFINED_ROLES.includes(role)) throw new AerieError(Status.INVALID_ROLE, `'${role}' is predefined and cannot be dropped`);
      return store.mutate((d) => {
        if (!d.roles.delete(role)) throw new AerieError(Status.INVALID_ROLE, `no role '${role}'`);
        d.allowlists.delete(role);
        d.quotas.delete(role);
        for (const u of d.users.values()) u.roles = u.roles.filter((r) => r !== role);
        return null;
      });
    }
    default:
      throw new AerieError(Status.INVALID_COMMAND, 'ROLE action is create, drop, allowlist, quotas or list');
  }
}

function fieldsOf(body: unknown, allowed: string[]): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || body instanceof Map) throw new AerieError(Status.INVALID_FIELD, 'the body is a map {action, ...}');
  const unknown = Object.keys(body).find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw new AerieError(Status.INVALID_FIELD, `unknown field '${unknown.slice(0, 64)}'`);
  return body as Record<string, unknown>;
}

function userName(name: unknown): string {
  if (!isValidName(name, C.USER_NAME_BYTES_MAX)) throw new AerieError(Status.INVALID_USER, `a user name is 1 to ${C.USER_NAME_BYTES_MAX} bytes of letters, digits and _ . @ -`);
  return name;
}

function roleName(name: unknown): string {
  if (!isValidName(name, C.ROLE_NAME_BYTES_MAX)) throw new AerieError(Status.INVALID_ROLE, `a role name is 1 to ${C.ROLE_NAME_BYTES_MAX} bytes of letters, digits and _ . @ -`);
  return name;
}

function roleList(roles: unknown, custom: ReadonlyMap<string, unknown>): string[] {
  if (!Array.isArray(roles) || roles.length > C.ROLES_PER_USER_MAX) throw new AerieError(Status.INVALID_ROLE, `roles is a list of at most ${C.ROLES_PER_USER_MAX} role names`);
  for (const r of roles) {
    if (typeof r !== 'string' || (!PREDEFINED_ROLES.includes(r) && !custom.has(r))) throw new AerieError(Status.INVALID_ROLE, `no role '${String(r).slice(0, 64)}'`);
  }
  return [...new Set(roles as string[])];
}

function existingUser(d: StoreDraft, user: string) {
  const entry = d.users.get(user);
  if (entry === undefined) throw new AerieError(Status.INVALID_USER, `no user '${user}'`);
  return entry;
}
