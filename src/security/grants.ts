// What one connection may do, computed once when it logs in and again only when users or roles
// change (never per request): a byte per op saying "allowed everywhere", and the namespace- or
// set-scoped rights for the rare user who holds only those. The hot path is one array read.

import { AerieError, Status } from '../errors';
import { OP_CODE_MAX, OP_RIGHTS, PRIVILEGES, type Privilege } from './privileges';
import type { RoleQuota } from './quotas';

interface ScopedRights {
  ns: string;
  set: string | null;
  rights: number;
}

export class Grants {
  /** 1 where the op is allowed in every namespace and set. */
  readonly opAllowed: Uint8Array;
  readonly nodeRights: number;
  readonly scoped: readonly ScopedRights[];
  /** Records per second the user may read and write (src/security/quotas.ts); 0: no limit. */
  readonly readQuota: number;
  readonly writeQuota: number;
  /** True when either quota is set: only then does a request pay for counting. */
  readonly quotaLimited: boolean;

  constructor(nodeRights: number, scoped: ScopedRights[], quota: RoleQuota = { read: 0, write: 0 }) {
    this.nodeRights = nodeRights;
    this.scoped = scoped;
    this.readQuota = quota.read;
    this.writeQuota = quota.write;
    this.quotaLimited = quota.read > 0 || quota.write > 0;
    this.opAllowed = new Uint8Array(OP_CODE_MAX + 1);
    for (let op = 0; op <= OP_CODE_MAX; op++) {
      const needs = OP_RIGHTS[op];
      if (needs !== undefined && (needs & nodeRights) === needs) this.opAllowed[op] = 1;
    }
  }

  /** Whether `op` on `ns` (and `set`, null for none or a whole namespace) is allowed. */
  allowsIn(op: number, ns: string, set: string | null): boolean {
    const needs = OP_RIGHTS[op];
    if (needs === undefined) return false;
    let held = this.nodeRights;
    for (const s of this.scoped) {
      if (s.ns === ns && (s.set === null || s.set === set)) held |= s.rights;
    }
    return (needs & held) === needs;
  }

  /** Whether some scoped right could allow `op` somewhere: else it is refused without reading the body. */
  mightAllow(op: number): boolean {
    const needs = OP_RIGHTS[op];
    if (needs === undefined) return false;
    let held = this.nodeRights;
    for (const s of this.scoped) held |= s.rights;
    return (needs & held) === needs;
  }
}

/** Everything: a node without security, where every client may do every op. */
export const ALL_GRANTS = new Grants(0xffff, []);
/** Nothing but the ops that need no right (PING, INFO, ...). */
export const NO_GRANTS = new Grants(0, []);

/**
 * A user's grants from their role names. A predefined role grants its privilege node-wide; a
 * custom role grants each of its privileges in its scope. A role that no longer exists grants
 * nothing (dropping a role takes it from every user at once). The user's quotas are the largest
 * their roles carry, as Aerospike has it: a role without a quota does not lift another's.
 */
export function compileGrants(roles: readonly string[], customRoles: ReadonlyMap<string, readonly Privilege[]>, quotas?: ReadonlyMap<string, RoleQuota>): Grants {
  let nodeRights = 0;
  const scoped: ScopedRights[] = [];
  const quota = { read: 0, write: 0 };
  for (const role of roles) {
    const q = quotas?.get(role);
    if (q !== undefined) [quota.read, quota.write] = [Math.max(quota.read, q.read), Math.max(quota.write, q.write)];
    const custom = customRoles.get(role);
    const privileges: readonly Privilege[] = custom ?? (Object.hasOwn(PRIVILEGES, role) ? [{ name: role, ns: null, set: null }] : []);
    for (const p of privileges) {
      const rights = PRIVILEGES[p.name] ?? 0;
      if (p.ns === null) nodeRights |= rights;
      else scoped.push({ ns: p.ns, set: p.set, rights });
    }
  }
  return new Grants(nodeRights, scoped, quota);
}

/** The refusal of an op the grants do not allow. */
export function roleViolation(op: number, where?: string): AerieError {
  return new AerieError(Status.ROLE_VIOLATION, `the user's roles do not allow op ${op}${where === undefined ? '' : ` on ${where}`}`);
}
