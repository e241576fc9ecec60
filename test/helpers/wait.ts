// The one way a test waits for a condition: poll until it holds, and fail with what was awaited
// (and the last value seen) when it does not hold in time. Never returns quietly on a timeout.

import { inspect } from 'node:util';

export interface WaitOptions {
  /** What is awaited, for the failure message. */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
}

const WAIT_TIMEOUT_MS_DEFAULT = 20_000;
const WAIT_INTERVAL_MS_DEFAULT = 25;
/** How much of the last value seen a timeout message shows. */
const SEEN_CHARS_MAX = 600;

/**
 * Resolves with the first truthy value `probe` returns; rejects once `timeoutMs` passed without
 * one. A probe that throws counts as "not yet" (a node restarting may refuse a call), and its last
 * error is named in the failure.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, options: WaitOptions): Promise<NonNullable<T>> {
  return (await waitForValue(probe, Boolean, options)) as NonNullable<T>;
}

/**
 * Polls `read` until `accept` holds for what it returned, and resolves with that value; rejects
 * once `timeoutMs` passed, naming the last value read (so a timeout shows the state it was stuck
 * in, not just `false`). A `read` that throws counts as "not yet", as in waitFor.
 */
export async function waitForValue<T>(read: () => T | Promise<T>, accept: (value: T) => boolean, options: WaitOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? WAIT_TIMEOUT_MS_DEFAULT;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await read();
      if (accept(value)) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const seen = last instanceof Error ? `${last.name}: ${last.message}` : inspect(last, { depth: 4, breakLength: Infinity });
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what} (last seen: ${seen.slice(0, SEEN_CHARS_MAX)})`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? WAIT_INTERVAL_MS_DEFAULT));
  }
}
