// The 100,000-record data set of the backup round-trip tests (not a test itself): every bin type,
// keys of every kind stored for two records in three, a TTL on one in ten, generation 2 on one in
// five, in sets 'a' and 'b' and outside any set; and a check of what a node holds against it.

import { isDeepStrictEqual } from 'node:util';
import { Key, type Client } from '../../../src/client/index';
import { computeDigest } from '../../../src/partition/digest';
import type { Bins, UserKey } from '../../../src/protocol/ops';
import type { BackupRecord } from '../../../src/backup/format';
import { allTypesBins } from './files';

export const N = 100_000;
export const TTL_SEC = 3600;
export const ids = Array.from({ length: N }, (_, i) => i);

export const setOf = (i: number): string | null => (i % 4 === 3 ? null : i % 4 === 2 ? 'b' : 'a');
export const keyOf = (i: number): UserKey => (i % 6 === 0 ? `k${i}` : i % 6 === 1 ? 2n ** 62n + BigInt(i) : i % 6 === 2 ? Buffer.from(`b${i}`) : i);
export const keyStored = (i: number) => i % 3 !== 0;
export const hasTtl = (i: number) => i % 10 === 0;
/** Records written twice before the backup, so the file holds generation 2 for them. */
export const genOf = (i: number) => (i % 5 === 0 ? 2 : 1);
export const binsOf = (i: number): Bins =>
  i % 50 === 0 ? allTypesBins(i) : { i, big: 2n ** 53n + BigInt(i), f: i / 4 + 0.125, s: `s${i}`, e: '', b: Buffer.from([i & 0xff]), ok: i % 2 === 0, l: [i, [`${i}`]], m: { k: { n: i } } };
export const keyIn = (ns: string, i: number) => new Key(ns, setOf(i), keyOf(i));
export const count = (predicate: (i: number) => boolean) => ids.filter(predicate).length;

/** Record i as a backup of the loaded data set holds it (round-trip.test.ts proves a real backup does). */
export function backupRecordOf(i: number): BackupRecord {
  return {
    digest: computeDigest(setOf(i), keyOf(i)),
    set: setOf(i),
    key: keyStored(i) ? keyOf(i) : null,
    gen: genOf(i),
    ttl: hasTtl(i) ? TTL_SEC : -1,
    bins: binsOf(i),
  };
}

/** Runs `run` for each item, `chunk` at a time (the SDK queues at most 100,000 calls). */
export async function inChunks(items: number[], run: (i: number) => Promise<unknown>, chunk = 20_000): Promise<void> {
  for (let at = 0; at < items.length; at += chunk) await Promise.all(items.slice(at, at + chunk).map(run));
}

/** Writes the data set into namespace 'test': every record, then the generation-2 ones again. */
export async function loadDataSet(client: Client): Promise<void> {
  const write = (i: number) => client.put(keyIn('test', i), binsOf(i), hasTtl(i) ? { ttl: TTL_SEC } : undefined, { sendKey: keyStored(i) });
  await inChunks(ids, write);
  await inChunks(
    ids.filter((i) => genOf(i) === 2),
    write,
  );
}

/** The records whose bins differ from `expected(i)` (null: must be absent); the first few with what was found. */
export async function mismatches(client: Client, ns: string, expected: (i: number) => Bins | null): Promise<string[]> {
  const found = await client.batchGet(ids.map((i) => keyIn(ns, i)));
  const wrong: string[] = [];
  for (const i of ids) {
    const got = found[i]?.bins ?? null;
    if (isDeepStrictEqual(got, expected(i))) continue;
    wrong.push(wrong.length < 3 ? `${i}: ${JSON.stringify(got, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}` : `${i}`);
  }
  return wrong;
}
