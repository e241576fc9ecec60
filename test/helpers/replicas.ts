// Checks replication from the outside: waits until every copy is in sync, then compares what each
// worker holds, straight from its shared memory (read-only), against its partitions' other holders.

import type { Client } from '../../src/client/index';
import { replicationOf } from '../../src/config';
import { holderOf } from '../../src/partition/map';
import type { AerieNode } from '../../src/primary/node';
import { IndexTable } from '../../src/shm/index-table';
import { waitForValue } from './wait';

interface RoleInfo {
  state: string;
  roles: { master: number; replica: number; outOfSync: number };
  rebuild: unknown;
}

/**
 * Waits until every worker is up, every copy in sync, nothing moving and no write waiting. Resolves
 * true (callers assert it, naming the step); a timeout rejects, naming the state it was stuck in.
 */
export async function waitInSync(client: Client, timeoutMs = 30_000): Promise<true> {
  const state = async () => {
    const info = await client.info();
    return { workers: info.workers as RoleInfo[], replication: info.replication as { partitionsMoving: number; writesWaiting: number } | null };
  };
  await waitForValue(
    state,
    ({ workers, replication: rep }) =>
      workers.every((w) => w.state === 'up' && w.roles.outOfSync === 0 && w.rebuild === null) && (rep === null || (rep.partitionsMoving === 0 && rep.writesWaiting === 0)),
    { what: 'every copy in sync', timeoutMs, intervalMs: 50 },
  );
  return true;
}

/**
 * Differences between the copies of each partition: a record one holder has and another lacks or
 * holds at another generation, or a record on a worker that does not hold its partition. Call it
 * only while nothing is written.
 */
export function compareCopies(node: AerieNode, nsIndex = 0): { problems: string[]; records: number } {
  const n = node.workers.length;
  const copies = replicationOf(node.config.namespaces[nsIndex], n);
  const held = node.workers.map((h) => {
    const sab = h.stores[nsIndex].indexSab;
    const records = new Map<string, number>();
    if (sab === null) return records;
    const index = IndexTable.attach(sab);
    const digest = Buffer.alloc(20);
    for (let slot = index.nextLive(0); slot >= 0; slot = index.nextLive(slot + 1)) {
      index.copyDigest(slot, digest, 0);
      records.set(digest.toString('hex'), index.generation(slot));
    }
    return records;
  });
  const problems: string[] = [];
  const all = new Set<string>();
  for (const m of held) for (const d of m.keys()) all.add(d);
  for (const d of all) {
    const bytes = Buffer.from(d, 'hex');
    const p = bytes[0] | ((bytes[1] & 0x0f) << 8);
    const holders = Array.from({ length: copies }, (_, k) => holderOf(p, n, k));
    for (let w = 0; w < n; w++) {
      if (!holders.includes(w) && held[w].has(d)) problems.push(`${d} (partition ${p}) on worker ${w}, which does not hold it`);
    }
    const gens = holders.map((w) => held[w].get(d));
    if (gens.some((g) => g !== gens[0])) problems.push(`${d} (partition ${p}): generations ${JSON.stringify(gens)} on workers ${holders.join(', ')}`);
  }
  return { problems, records: all.size };
}
