// Proves the scan iterator walks every page and that its cursor never skips a record: while a
// page is being consumed, the cursor is the one that fetched that page.
import t from 'tap';
import { Key } from '../../src/client/key';
import type { AerieRecord, ScanPage } from '../../src/client/records';
import { ScanStream } from '../../src/client/scan';
import { Status } from '../../src/errors';

function record(n: number): AerieRecord {
  return { key: new Key('test', 's', n), bins: { n }, gen: 1, ttl: -1 };
}

/** Pages of two records, cursors 'c1', 'c2', ... ; the last page has a null cursor. */
function fetcher(pageCount: number, asked: Array<string | null>) {
  return async (cursor: Uint8Array | null): Promise<ScanPage> => {
    asked.push(cursor === null ? null : cursor.toString());
    const index = cursor === null ? 0 : Number(cursor.toString().slice(1));
    const next = index + 1 < pageCount ? Buffer.from(`c${index + 1}`) : null;
    return { records: [record(index * 2), record(index * 2 + 1)], cursor: next };
  };
}

t.test('iterates every page', async (t) => {
  const asked: Array<string | null> = [];
  const scan = new ScanStream(fetcher(3, asked), null);
  const seen: number[] = [];
  for await (const r of scan) seen.push(r.bins.n as number);
  t.same(seen, [0, 1, 2, 3, 4, 5]);
  t.same(asked, [null, 'c1', 'c2']);
  t.equal(scan.done, true);
  t.equal(scan.cursor, null);
  t.equal(scan.pagesFetched, 3);
  await t.rejects(scan.toArray(), { code: Status.PARAMETER }, 'a scan iterates once');
});

t.test('the cursor resumes without missing records', async (t) => {
  const scan = new ScanStream(fetcher(3, []), null);
  const seen: number[] = [];
  for await (const r of scan) {
    seen.push(r.bins.n as number);
    if (seen.length === 3) break; // mid second page
  }
  t.equal(scan.cursor?.toString(), 'c1', 'the cursor of the page being consumed');
  t.equal(scan.done, false);
  const resumed = new ScanStream(fetcher(3, []), scan.cursor);
  const rest = (await resumed.toArray()).map((r) => r.bins.n);
  t.same(rest, [2, 3, 4, 5], 'record 2 comes again: at least once, never less');
});

t.test('toArray stops at its limit', async (t) => {
  t.same((await new ScanStream(fetcher(5, []), null).toArray(3)).length, 3);
  t.same(await new ScanStream(fetcher(5, []), null).toArray(0), []);
});

t.test('a failing page fails the iteration', async (t) => {
  const scan = new ScanStream(async () => {
    throw new Error('boom');
  }, null);
  await t.rejects(scan.toArray(), { message: 'boom' });
});
