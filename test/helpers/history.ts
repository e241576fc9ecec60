// The history a kill -9 test keeps per key, and the check a restarted node must pass: each key
// holds its newest acknowledged value, or a later write that ended in doubt (null: absent).

import type { Client, Key } from '../../src/index';

export type Outcome = 'ok' | 'doubt' | 'failed';
export type Entry = { value: number | null; outcome: Outcome; code?: number };

/** What a key may hold now, given its history. */
export function allowedValues(log: Entry[]): (number | null)[] {
  const lastOk = log.map((e) => e.outcome).lastIndexOf('ok');
  const allowed = log.filter((e, i) => i === lastOk || (i > lastOk && e.outcome === 'doubt')).map((e) => e.value);
  if (lastOk < 0) allowed.push(null);
  return allowed;
}

/** The history from the last acknowledged write on, for a failure message. */
export function story(log: Entry[]): string {
  const lastOk = log.map((e) => e.outcome).lastIndexOf('ok');
  return log.slice(Math.max(0, lastOk)).map((e) => `${e.value}:${e.outcome}${e.code === undefined ? '' : `(${e.code})`}`).join(' ');
}

/**
 * Writes entry.value to the key's bin `v` (null: removes the record) and records how it ended.
 * Returns true when it was acknowledged.
 */
export async function recordWrite(client: Client, key: Key, entry: Entry): Promise<boolean> {
  try {
    if (entry.value === null) {
      await client.remove(key).catch((e: { code?: number }) => {
        if (e.code !== 2) throw e; // already absent: the delete is still a definite outcome
      });
    } else {
      await client.put(key, { v: entry.value });
    }
    entry.outcome = 'ok';
    return true;
  } catch (e) {
    entry.outcome = (e as { inDoubt?: boolean }).inDoubt ? 'doubt' : 'failed';
    entry.code = (e as { code?: number }).code;
    return false;
  }
}
