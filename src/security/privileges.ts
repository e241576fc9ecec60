// Aerospike's role model reduced to bits: each privilege is a set of rights, each op needs a set
// of rights (OP_RIGHTS, one table for every op of src/protocol/ops.ts), and a role is a list of
// privileges each scoped to the node, a namespace or a namespace.set.

import { AerieError, Status } from '../errors';
import { Op } from '../protocol/ops';

/** The rights a request can need. An op needing several needs all of them. */
export const Right = {
  READ: 1,
  WRITE: 2,
  TRUNCATE: 4,
  SNAPSHOT: 8,
  SYS_ADMIN: 16,
  USER_ADMIN: 32,
} as const;

/** Rights that can be scoped to a namespace (and to a set, except SNAPSHOT). */
export const DATA_RIGHTS = Right.READ | Right.WRITE | Right.TRUNCATE | Right.SNAPSHOT;
export const SET_SCOPED_RIGHTS = Right.READ | Right.WRITE | Right.TRUNCATE;

/** A privilege's name and the rights it grants; each is also a predefined role of that name. */
export const PRIVILEGES: Readonly<Record<string, number>> = {
  read: Right.READ,
  write: Right.WRITE,
  'read-write': Right.READ | Right.WRITE,
  truncate: Right.TRUNCATE,
  // Backup is a scan and restore a stream of writes: the data admin may do both.
  'data-admin': Right.READ | Right.WRITE | Right.TRUNCATE | Right.SNAPSHOT,
  'sys-admin': Right.SYS_ADMIN,
  'user-admin': Right.USER_ADMIN,
};

export const PREDEFINED_ROLES: readonly string[] = Object.keys(PRIVILEGES);

/** Rights each op needs: 0 = any logged-in user. Ops absent from the table are refused. */
export const OP_RIGHTS: Readonly<Record<number, number>> = {
  [Op.HELLO]: 0,
  [Op.PING]: 0,
  [Op.DRAINED]: 0,
  [Op.INFO]: 0,
  /** The admin feed shows what INFO shows; its actions are the ops below, each checked on its own. */
  [Op.WATCH]: 0,
  [Op.TOKEN]: 0,
  [Op.GET]: Right.READ,
  [Op.EXISTS]: Right.READ,
  [Op.BATCH_GET]: Right.READ,
  [Op.BATCH_EXISTS]: Right.READ,
  [Op.SCAN]: Right.READ,
  [Op.PUT]: Right.WRITE,
  [Op.REMOVE]: Right.WRITE,
  [Op.TOUCH]: Right.WRITE,
  // An OPERATE may read and write in one call: it needs both.
  [Op.OPERATE]: Right.READ | Right.WRITE,
  [Op.TRUNCATE]: Right.TRUNCATE,
  [Op.SNAPSHOT]: Right.SNAPSHOT,
  [Op.VERIFY]: Right.SYS_ADMIN,
  [Op.FAULT]: Right.SYS_ADMIN,
  [Op.WORKER_RESTART]: Right.SYS_ADMIN,
  // USER passwd of one's own password needs nothing more (src/security/user-admin.ts).
  [Op.USER]: Right.USER_ADMIN,
  [Op.ROLE]: Right.USER_ADMIN,
};

/** Whether `op` is one of the protocol's: others are refused by the router with PARAMETER, as without security. */
export function isKnownOp(op: number): boolean {
  return OP_RIGHTS[op] !== undefined;
}

/** The highest op code: tables indexed by op are this long plus one. */
export const OP_CODE_MAX = Math.max(...Object.values(Op));

/** One privilege of a role: rights and where they hold (ns null: the whole node). */
export interface Privilege {
  name: string;
  ns: string | null;
  set: string | null;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/;

/**
 * Parses `name[:ns[.set]]` (read:test.demo, write:test, sys-admin). Admin privileges are
 * node-wide; a set scope holds only for read, write and truncate. INVALID_PRIVILEGE otherwise.
 */
export function parsePrivilege(text: unknown): Privilege {
  if (typeof text !== 'string' || text.length > 256) throw new AerieError(Status.INVALID_PRIVILEGE, 'a privilege is a string name[:ns[.set]]');
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const rights = PRIVILEGES[name];
  if (!Object.hasOwn(PRIVILEGES, name) || rights === undefined) {
    throw new AerieError(Status.INVALID_PRIVILEGE, `unknown privilege '${name.slice(0, 64)}' (${PREDEFINED_ROLES.join(', ')})`);
  }
  if (colon < 0) return { name, ns: null, set: null };
  const scope = text.slice(colon + 1);
  const dot = scope.indexOf('.');
  const ns = dot < 0 ? scope : scope.slice(0, dot);
  const set = dot < 0 ? null : scope.slice(dot + 1);
  if (!NAME.test(ns) || (set !== null && (set.length === 0 || set.length > 63))) throw new AerieError(Status.INVALID_PRIVILEGE, `bad scope '${scope.slice(0, 100)}' (ns or ns.set)`);
  if ((rights & ~DATA_RIGHTS) !== 0) throw new AerieError(Status.INVALID_PRIVILEGE, `${name} is node-wide: it takes no scope`);
  if (set !== null && (rights & ~SET_SCOPED_RIGHTS) !== 0) throw new AerieError(Status.INVALID_PRIVILEGE, `${name} can be scoped to a namespace, not a set`);
  return { name, ns, set };
}

export function formatPrivilege(p: Privilege): string {
  return p.ns === null ? p.name : `${p.name}:${p.ns}${p.set === null ? '' : `.${p.set}`}`;
}

/** User and role names: a letter, digit or _ then those and . @ -, at most `bytesMax`. */
export function isValidName(name: unknown, bytesMax: number): name is string {
  return typeof name === 'string' && name.length > 0 && Buffer.byteLength(name) <= bytesMax && NAME.test(name);
}
