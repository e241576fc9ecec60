// Proves a scan never silently skips records when partitions change master or an index rehashes
// between its pages: the page is refused with SCAN_ABORT (15), and a backup taken while a worker
// fails and comes back restarts its scan and holds every record.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { backupNamespace, Key, status } from '../../src/index';
import { BackupFileReader } from '../../src/backup/file-reader';
import { startTestNode } from '../helpers/node';
import { waitFor } from '../helpers/wait';

t.test('a page after a partition move is refused, not answered short', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
  });
  await Promise.all(Array.from({ length: 600 }, (_, i) => client.put(new Key('test', 's', i), { i })));
  const first = await client.scanPage('test', 's', { pageSize: 10 });
  t.not(first.cursor, null, 'the scan has more pages');
  const before = (await client.info()).partitionMapVersion as number;
  await client.injectFault({ worker: 1, kind: 'crash' });
  await waitFor(async () => ((await client.info()).partitionMapVersion as number) !== before, { what: 'the failover to move partitions' });
  await t.rejects(client.scanPage('test', 's', { pageSize: 10, cursor: first.cursor }), { code: status.SCAN_ABORT });
  // A scan started afresh sees every record.
  let seen = 0;
  for await (const _ of client.scan('test', 's')) seen++;
  t.equal(seen, 600);
});

t.test('a page after the index rehashed is refused', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.workers.count = 1;
  });
  await Promise.all(Array.from({ length: 1000 }, (_, i) => client.put(new Key('test', 's', i), { i })));
  const first = await client.scanPage('test', 's', { pageSize: 10 });
  t.not(first.cursor, null);
  // Enough new records to grow the index past its initial capacity (it doubles by rehashing).
  for (let from = 1000; from < 40_000; from += 2000) {
    await Promise.all(Array.from({ length: 2000 }, (_, i) => client.put(new Key('test', 'other', from + i), { i })));
  }
  await t.rejects(client.scanPage('test', 's', { pageSize: 10, cursor: first.cursor }), { code: status.SCAN_ABORT });
});

t.test('a backup taken while a worker fails and comes back holds every record', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
  });
  const N = 3000;
  await Promise.all(Array.from({ length: N }, (_, i) => client.put(new Key('test', 'b', i), { i })));
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-scan-abort-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'b.abk');
  // Worker 1 fails while worker 0's pages are being read: its partitions move to worker 0, whose
  // part of the scan is behind the cursor. Small pages keep the scan on worker 0 long enough.
  let crashed: Promise<void> | null = null;
  const result = await backupNamespace(client, {
    ns: 'test',
    set: 'b',
    out,
    pageSize: 20,
    onProgress: () => {
      crashed ??= client.injectFault({ worker: 1, kind: 'crash' });
    },
  });
  await crashed;
  const digests = new Set<string>();
  const reader = await BackupFileReader.open(out);
  for (let r = await reader.next(); r !== null; r = await reader.next()) digests.add(r.digest.toString('hex'));
  await reader.close();
  t.equal(result.records, N, 'the backup counts every record');
  t.equal(digests.size, N, 'the file holds every record once');
});
