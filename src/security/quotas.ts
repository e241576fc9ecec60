// Per-user read and write rate quotas, Aerospike's (records per second): a custom role may carry a
// read quota and a write quota, and a user's limits are the largest of their roles' (a role
// without one does not lift another's). Each user's counts live in one shared block so that every
// endpoint of the node (the front and each worker's) charges the same counters: a client that
// spreads its requests over several connections meets one limit. A request is charged before it is
// routed and refused whole with QUOTA_EXCEEDED (83) when its records would pass the second's limit.

import * as C from '../constants';
import { assert } from '../assert';
import { AerieError, Status } from '../errors';
import { Op } from '../protocol/ops';

/** The counter of reads and the counter of writes, per user slot. */
export const QuotaKind = { READ: 0, WRITE: 1 } as const;

/** A role's quotas in records per second; 0: none. */
export interface RoleQuota {
  read: number;
  write: number;
}

/** Compare-and-swap attempts before a charge gives up (only when the same user's other threads keep winning). */
const CHARGE_ATTEMPTS_MAX = 64;
const COUNT_MASK = 0xffff_ffffn;

/**
 * One 64-bit word per (user slot, kind): the second it counts (high 32 bits, Unix seconds) and the
 * records charged in it (low 32 bits). A charge is one compare-and-swap, so threads never lose one
 * another's counts and a new second starts from zero without a reset race.
 */
export class QuotaCounters {
  readonly words: BigInt64Array;

  constructor(readonly sab: SharedArrayBuffer = new SharedArrayBuffer(C.USERS_MAX * 2 * 8)) {
    assert(sab.byteLength === C.USERS_MAX * 2 * 8, 'a quota block holds two words per user slot');
    this.words = new BigInt64Array(sab);
  }

  /** Charges `records` to `slot`'s counter of `kind`; false (nothing charged) when the second's count would pass `limit`. */
  charge(slot: number, kind: number, records: number, limit: number, nowSecond: number): boolean {
    assert(slot >= 0 && slot < C.USERS_MAX, 'a quota slot is below USERS_MAX');
    const index = slot * 2 + kind;
    const second = BigInt(nowSecond);
    for (let attempt = 0; attempt < CHARGE_ATTEMPTS_MAX; attempt++) {
      const old = Atomics.load(this.words, index);
      const count = old >> 32n === second ? Number(old & COUNT_MASK) : 0;
      if (count + records > limit) return false;
      if (Atomics.compareExchange(this.words, index, old, (second << 32n) | BigInt(count + records)) === old) return true;
    }
    return false;
  }

  /** Records charged to `slot`'s `kind` in `nowSecond` (for INFO and tests). */
  used(slot: number, kind: number, nowSecond: number): number {
    const word = Atomics.load(this.words, slot * 2 + kind);
    return word >> 32n === BigInt(nowSecond) ? Number(word & COUNT_MASK) : 0;
  }
}

/**
 * Which counter a request charges and how many records: each key of a batch, a scan page's
 * `pageSize` (the records it may return), one for any other data op; -1 for an op quotas do not
 * count (admin, TRUNCATE). OPERATE counts as a write (it needs the write right).
 */
export function quotaKindOf(op: number): number {
  switch (op) {
    case Op.GET:
    case Op.EXISTS:
    case Op.BATCH_GET:
    case Op.BATCH_EXISTS:
    case Op.SCAN:
      return QuotaKind.READ;
    case Op.PUT:
    case Op.REMOVE:
    case Op.TOUCH:
    case Op.OPERATE:
      return QuotaKind.WRITE;
    default:
      return -1;
  }
}

/** Checks a quota given to a role: a whole number of records per second, 0 for none. */
export function parseQuota(value: unknown, name: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > C.QUOTA_RECORDS_PER_SECOND_MAX) {
    throw new AerieError(Status.INVALID_FIELD, `${name} is a whole number of records per second, 0 to ${C.QUOTA_RECORDS_PER_SECOND_MAX} (0: none)`);
  }
  return value;
}

export function quotaExceeded(kind: number, limit: number): AerieError {
  return new AerieError(Status.QUOTA_EXCEEDED, `the user's ${kind === QuotaKind.READ ? 'read' : 'write'} quota of ${limit} records per second is used up`);
}
