// The history a kill -9 test keeps per key, and the check a restarted node must pass: each key
// holds its newest acknowledged value, or a later write that ended in doubt (null: absent).

import { Key, type Client } from '../../src/index';
import { sleep } from './node';

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
  return log
    .slice(Math.max(0, lastOk))
    .map((e) => `${e.value}:${e.outcome}${e.code === undefined ? '' : `(${e.code})`}`)
    .join(' ');
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

/** Counters a test's write streams share across its rounds. */
export interface StreamTally {
  nextValue: number;
  acked: number;
}

/**
 * Ten streams of writes to keys 0..keys-1 of set `set` (a tenth of them deletes), one write at a
 * time per key, each stream owning every tenth key; every write is recorded in `history` with its
 * outcome. Returns stop(), which resolves once every stream has ended.
 */
export function streamWrites(client: Client, set: string, keys: number, history: Map<number, Entry[]>, rand: () => number, tally: StreamTally): () => Promise<void> {
  let running = true;
  const writer = async (own: number[]) => {
    while (running) {
      const k = own[Math.floor(rand() * own.length)];
      const remove = rand() < 0.1;
      const entry: Entry = { value: remove ? null : tally.nextValue++, outcome: 'failed' };
      history.get(k)!.push(entry);
      if (await recordWrite(client, new Key('test', set, k), entry)) {
        tally.acked++;
      } else {
        if (!running) return;
        await sleep(1);
      }
    }
  };
  const loops = Array.from({ length: 10 }, (_, w) => writer(Array.from({ length: keys }, (_, k) => k).filter((k) => k % 10 === w)));
  return async () => {
    running = false;
    await Promise.all(loops);
  };
}
