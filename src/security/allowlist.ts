// Client address allow-lists of roles, Aerospike's whitelists: a user holding a role with an
// allow-list may log in only from an address one of their roles' lists names. Entries are
// addresses or CIDR subnets (IPv4 or IPv6), checked with node:net's BlockList.

import { BlockList, isIP } from 'node:net';
import * as C from '../constants';
import { AerieError, Status } from '../errors';

/** Checks and normalises an allow-list; INVALID_FIELD for an entry that is not an address or subnet. */
export function parseAllowlist(entries: unknown): string[] {
  if (!Array.isArray(entries) || entries.length > C.ALLOWLIST_ENTRIES_MAX)
    throw new AerieError(Status.INVALID_FIELD, `an allow-list is a list of at most ${C.ALLOWLIST_ENTRIES_MAX} addresses or subnets`);
  for (const entry of entries) {
    if (typeof entry !== 'string' || addEntry(new BlockList(), entry) === false) {
      throw new AerieError(Status.INVALID_FIELD, `'${String(entry).slice(0, 64)}' is not an address or a CIDR subnet`);
    }
  }
  return [...new Set(entries as string[])];
}

/**
 * Whether `address` may log in under `lists` (one per role of the user that has one). No list at
 * all: any address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are checked as IPv4.
 */
export function addressAllowed(address: string, lists: readonly (readonly string[])[]): boolean {
  if (lists.length === 0) return true;
  const allowed = new BlockList();
  for (const list of lists) for (const entry of list) addEntry(allowed, entry);
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(plain);
  return family !== 0 && allowed.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

function addEntry(list: BlockList, entry: string): boolean {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) {
    list.addAddress(address, type);
    return true;
  }
  const prefix = Number(entry.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128) || entry.slice(slash + 1) === '') return false;
  list.addSubnet(address, prefix, type);
  return true;
}
