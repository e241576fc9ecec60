// Slows down password guessing: each failed login from an address doubles the wait before that
// address's next login is checked (LOGIN_FAIL_DELAY_MS_BASE, then twice that, up to the max). A
// login during the wait is held, not refused, so a user who mistyped once barely notices; at most
// LOGINS_WAITING_PER_ADDRESS_MAX wait per address, more are refused with QUOTA_EXCEEDED. A
// successful login clears the address. The table is bounded; the quietest address leaves first.

import * as C from '../constants';
import { AerieError, Status } from '../errors';

interface AddressState {
  failures: number;
  /** The next login from this address is checked no earlier than this. */
  nextCheckAtMs: number;
  lastFailureAtMs: number;
  waiting: number;
}

export interface ThrottleState {
  failures: number;
  /** How long a login from the address arriving now would be held. */
  delayMs: number;
  waiting: number;
}

export class LoginThrottle {
  private readonly addresses = new Map<string, AddressState>();
  /** Failed logins since start, for INFO. */
  failuresTotal = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** The delay after `failures` failures in a row. */
  static delayAfter(failures: number): number {
    if (failures <= 0) return 0;
    return Math.min(C.LOGIN_FAIL_DELAY_MS_MAX, C.LOGIN_FAIL_DELAY_MS_BASE * 2 ** Math.min(failures - 1, 30));
  }

  /** Resolves when a login from `address` may be checked; QUOTA_EXCEEDED when too many already wait. */
  async admit(address: string): Promise<void> {
    const entry = this.current(address);
    if (entry === undefined) return;
    const delayMs = entry.nextCheckAtMs - this.now();
    if (delayMs <= 0) return;
    if (entry.waiting >= C.LOGINS_WAITING_PER_ADDRESS_MAX) throw new AerieError(Status.QUOTA_EXCEEDED, 'too many logins from this address are waiting after failed ones');
    entry.waiting++;
    try {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    } finally {
      entry.waiting--;
    }
  }

  failed(address: string): ThrottleState {
    const nowMs = this.now();
    const entry = this.current(address) ?? { failures: 0, nextCheckAtMs: 0, lastFailureAtMs: 0, waiting: 0 };
    entry.failures++;
    entry.lastFailureAtMs = nowMs;
    entry.nextCheckAtMs = nowMs + LoginThrottle.delayAfter(entry.failures);
    this.failuresTotal++;
    // Re-inserted so the map's order is the order of last failure: the first is the quietest.
    this.addresses.delete(address);
    this.addresses.set(address, entry);
    if (this.addresses.size > C.LOGIN_THROTTLE_ADDRESSES_MAX) this.addresses.delete(this.addresses.keys().next().value as string);
    return this.state(address);
  }

  succeeded(address: string): void {
    this.addresses.delete(address);
  }

  state(address: string): ThrottleState {
    const entry = this.current(address);
    if (entry === undefined) return { failures: 0, delayMs: 0, waiting: 0 };
    return { failures: entry.failures, delayMs: Math.max(0, entry.nextCheckAtMs - this.now()), waiting: entry.waiting };
  }

  /** The longest hold a login would meet now, over every address (INFO; walks the bounded table). */
  delayMsMax(): number {
    const nowMs = this.now();
    let max = 0;
    for (const entry of this.addresses.values()) max = Math.max(max, entry.nextCheckAtMs - nowMs);
    return max;
  }

  /** Addresses with failures remembered now. */
  get addressCount(): number {
    return this.addresses.size;
  }

  private current(address: string): AddressState | undefined {
    const entry = this.addresses.get(address);
    if (entry !== undefined && entry.waiting === 0 && this.now() - entry.lastFailureAtMs > C.LOGIN_FAIL_FORGET_MS) {
      this.addresses.delete(address);
      return undefined;
    }
    return entry;
  }
}

/** The address part of `host:port` (IPv6 addresses keep their colons). */
export function addressOf(remote: string): string {
  const colon = remote.lastIndexOf(':');
  return colon < 0 ? remote : remote.slice(0, colon);
}
