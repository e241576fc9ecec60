// The one way a test waits for a condition: poll until it holds, and fail with what was awaited
// (and the last value seen) when it does not hold in time. Never returns quietly on a timeout.

export interface WaitOptions {
  /** What is awaited, for the failure message. */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
}

const WAIT_TIMEOUT_MS_DEFAULT = 20_000;
const WAIT_INTERVAL_MS_DEFAULT = 25;

/**
 * Resolves with the first truthy value `probe` returns; rejects once `timeoutMs` passed without
 * one. A probe that throws counts as "not yet" (a node restarting may refuse a call), and its last
 * error is named in the failure.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, options: WaitOptions): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? WAIT_TIMEOUT_MS_DEFAULT;
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const seen = last instanceof Error ? `${last.name}: ${last.message}` : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what} (last seen: ${seen})`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? WAIT_INTERVAL_MS_DEFAULT));
  }
}
