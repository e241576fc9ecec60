// What the restore tests share (test/e2e/restore-*.test.ts): 5000 keys of set 'r' with their
// values, reading them back through batches, and checking both copies of a two-copy namespace.
import type { Test } from 'tap';
import { Key, status } from '../../src/index';
import type { Client } from '../../src/client/index';
import { sleep, waitStable, type TestNode } from './node';
import { compareCopies, waitInSync } from './replicas';
import { waitForValue } from './wait';

export const RECORDS = 5000;
export const keys = Array.from({ length: RECORDS }, (_, i) => new Key('test', 'r', i));

/** Records served with their value. A batch answered PARTITION_UNAVAILABLE (a move under way) is asked again, for 10 s at most. */
export async function present(client: Client, from = 0, to = RECORDS): Promise<number> {
  let found = 0;
  for (let i = from; i < to; i += 500) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const got = await client.batchGet(keys.slice(i, Math.min(to, i + 500))).catch((err: { code?: number }) => {
        if (err.code !== status.PARTITION_UNAVAILABLE || Date.now() > deadline) throw err;
        return null;
      });
      if (got === null) {
        await sleep(20);
        continue;
      }
      got.forEach((r, j) => {
        if (r !== null && r.bins.v === i + j) found++;
      });
      break;
    }
  }
  return found;
}

export async function load(client: Client, from = 0, to = RECORDS): Promise<void> {
  for (let i = from; i < to; i += 500) await Promise.all(keys.slice(i, Math.min(to, i + 500)).map((k, j) => client.put(k, { v: i + j })));
}

/** Every copy back and equal: COPIES = 2 × RECORDS once in sync, and no record differs between holders. */
export async function checkCopies(t: Test, n: TestNode, when: string, records = RECORDS): Promise<void> {
  t.ok(await waitInSync(n.client), `${when}: every copy in sync`);
  // INFO's counts are published every 50 ms: wait (10 s at most) for them to reach the expected ones.
  const nsInfo = async () => ((await n.client.info()).namespaces as { records: number; copies: number }[])[0];
  const ns = await waitForValue(nsInfo, (x) => x.records === records && x.copies === 2 * records, {
    what: `${when}: INFO to count ${records} records and ${2 * records} copies`,
    timeoutMs: 10_000,
    intervalMs: 50,
  });
  t.equal(ns.records, records, `${when}: RECORDS`);
  t.equal(ns.copies, 2 * records, `${when}: COPIES is twice RECORDS`);
  t.same(compareCopies(n.node).problems, [], `${when}: the copies agree`);
}

/** Crashes worker 1, then checks every record is served at once, once it is back, and in sync. */
export async function crashAndCheck(t: Test, n: TestNode, records = RECORDS): Promise<void> {
  await n.client.injectFault({ worker: 1, kind: 'crash' });
  t.equal(await present(n.client), records, 'every record served after the crash');
  await waitStable(n.client, 300);
  t.equal(await present(n.client), records, 'every record served once the worker is back');
  await checkCopies(t, n, 'after the crash', records);
}
