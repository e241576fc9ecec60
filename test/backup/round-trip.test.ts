// Proves backup and restore against a real node with 100,000 records of every bin type, with and
// without stored keys, with and without TTLs, in sets and outside any: the file holds exactly what
// the node held; after records are removed and changed, create-only writes back exactly the
// missing ones and leaves the rest, and replace brings back every record as it was, its stored key
// and its TTL included.
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeDigest } from '../../src/partition/digest';
import { backupNamespace } from '../../src/backup/backup';
import { restoreFile } from '../../src/backup/restore';
import { BackupFileReader } from '../../src/backup/file-reader';
import type { BackupRecord } from '../../src/backup/format';
import { startTestNode } from '../helpers/node';
import { binsOf, count, genOf, hasTtl, ids, inChunks, keyIn, keyOf, keyStored, loadDataSet, mismatches, N, setOf, TTL_SEC } from './helpers/dataset';

t.test('100,000 records: backup, change, restore create-only, restore replace', async (t) => {
  const { client } = await startTestNode(t);
  let started = Date.now();
  // A TTL counts down with the clock, and a restore keeps the expiry time (docs/backup.md): whatever
  // the machine's speed, a record's TTL stays within the seconds since it was first written.
  const loadedFrom = started;
  const ttlFloor = () => TTL_SEC - Math.ceil((Date.now() - loadedFrom) / 1000) - 1;
  await loadDataSet(client);
  t.comment(`loaded ${N} records in ${Date.now() - started} ms`);

  const dir = mkdtempSync(join(tmpdir(), 'aerie-backup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'test.bak');
  let progressCalls = 0;
  const backup = await backupNamespace(client, { ns: 'test', out: file, onProgress: () => progressCalls++ });
  t.equal(backup.records, N, 'every record backed up');
  t.ok(progressCalls >= N / 5000, `progress reported per page (${progressCalls})`);
  t.comment(`backup: ${N} records, ${backup.bytes} bytes in ${backup.elapsedMs.toFixed(0)} ms`);

  const byDigest = new Map<string, BackupRecord>();
  const reader = await BackupFileReader.open(file);
  for (let r = await reader.next(); r !== null; r = await reader.next()) byDigest.set(r.digest.toString('hex'), r);
  await reader.close();
  t.equal(byDigest.size, N, 'no record twice');
  let wrong = 0;
  const backupFloor = ttlFloor();
  for (const i of ids) {
    const r = byDigest.get(computeDigest(setOf(i), keyOf(i)).toString('hex'));
    const ttlOk = hasTtl(i) ? r !== undefined && r.ttl >= backupFloor && r.ttl <= TTL_SEC + 1 : r?.ttl === -1;
    const ok = r !== undefined && r.set === setOf(i) && isDeepStrictEqual(r.key, keyStored(i) ? keyOf(i) : null) && r.gen === genOf(i) && ttlOk && isDeepStrictEqual(r.bins, binsOf(i));
    if (!ok && wrong++ < 3) t.fail(`record ${i} differs in the file`);
  }
  t.equal(wrong, 0, 'the file holds set, key or digest only, generation, TTL and bins as written');

  const removed = (i: number) => i % 7 === 0;
  const changed = (i: number) => i % 7 === 1;
  await inChunks(ids.filter(removed), (i) => client.remove(keyIn('test', i)));
  await inChunks(ids.filter(changed), (i) => client.put(keyIn('test', i), { changed: 1 }));

  started = Date.now();
  const createOnly = await restoreFile(client, { file, policy: 'create-only', inFlightMax: 512 });
  t.comment(`create-only restore of ${N} records, 512 in flight: ${Date.now() - started} ms`);
  t.match(createOnly, { records: N, total: N, restored: count(removed), existed: N - count(removed), skippedOlder: 0, expired: 0, failed: 0, inDoubt: 0, interrupted: false });
  t.same(createOnly.errors, []);
  t.same(await mismatches(client, 'test', (i) => (changed(i) ? { ...binsOf(i), changed: 1 } : binsOf(i))), [], 'missing records back, others untouched');

  started = Date.now();
  const replace = await restoreFile(client, { file, policy: 'replace', inFlightMax: 512 });
  t.comment(`replace restore of ${N} records, 512 in flight: ${Date.now() - started} ms`);
  t.match(replace, { records: N, restored: N, existed: 0, skippedOlder: 0, expired: 0, failed: 0, inDoubt: 0 });
  t.same(await mismatches(client, 'test', binsOf), [], 'every record as backed up: the changed bins are gone');
  let withKey = 0;
  let ttlWrong = 0;
  const scanFloor = ttlFloor();
  for await (const r of client.scan('test')) {
    if (r.key.value !== null) withKey++;
    const i = (r.bins.i ?? r.bins.int) as number; // allTypesBins names it 'int'
    if (hasTtl(i) ? !(r.ttl >= scanFloor && r.ttl <= TTL_SEC) : r.ttl !== -1) ttlWrong++;
  }
  t.equal(withKey, count(keyStored), 'keys stored again exactly where the backup had them');
  t.equal(ttlWrong, 0, `TTLs preserved (each within ${TTL_SEC - scanFloor} s of ${TTL_SEC}: the seconds since the records were written)`);
});
