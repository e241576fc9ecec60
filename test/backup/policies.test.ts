// Proves the restore policies that compare with what the node holds, against a real node and the
// 100,000-record data set: generation-gt into another namespace writes exactly the records whose
// backed-up generation is greater (or that are absent) and leaves the rest; records whose TTL ran
// out since the backup are skipped and counted; a set filter backs up that set only. The file is
// written directly with the format's writer, as a backup of the data set holds it (the round-trip
// test proves a real backup does), to spend the time on the restore rather than on loading.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupNamespace } from '../../src/backup/backup';
import { restoreFile } from '../../src/backup/restore';
import { BackupFileReader, checkBackupFile } from '../../src/backup/file-reader';
import { BackupFileWriter } from '../../src/backup/file-writer';
import { startTestNode } from '../helpers/node';
import { HEADER } from './helpers/files';
import { backupRecordOf, binsOf, count, genOf, hasTtl, ids, inChunks, keyIn, mismatches, N, setOf } from './helpers/dataset';

const dir = mkdtempSync(join(tmpdir(), 'aerie-backup-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A backup file of the data set's records 0 … to − 1, dated `createdAtMs`. */
async function writeDataSet(file: string, createdAtMs: number, to = N): Promise<void> {
  const writer = await BackupFileWriter.create(file, { ...HEADER, createdAtMs });
  for (let i = 0; i < to; i++) await writer.add(backupRecordOf(i));
  await writer.finish();
}

t.test('generation-gt into another namespace writes only what is newer in the backup', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.namespaces.push({ ...c.namespaces[0], name: 'other' });
  });
  const file = join(dir, 'test.bak');
  await writeDataSet(file, Date.now());
  // In 'other': i % 8 == 0 at generation 2, i % 8 == 1 at generation 1, the rest absent.
  const pre = { pre: 1 };
  await inChunks(
    ids.filter((i) => i % 8 <= 1),
    (i) => client.put(keyIn('other', i), pre),
  );
  await inChunks(
    ids.filter((i) => i % 8 === 0),
    (i) => client.put(keyIn('other', i), pre),
  );
  const storedGen = (i: number) => (i % 8 === 0 ? 2 : i % 8 === 1 ? 1 : 0);
  const written = (i: number) => genOf(i) > storedGen(i);
  const started = Date.now();
  const report = await restoreFile(client, { file, policy: 'generation-gt', ns: 'other', inFlightMax: 512 });
  t.comment(`generation-gt restore of ${N} records, 512 in flight: ${Date.now() - started} ms`);
  t.match(report, { ns: 'other', records: N, restored: count(written), skippedOlder: N - count(written), existed: 0, expired: 0, failed: 0, inDoubt: 0 });
  t.same(await mismatches(client, 'other', (i) => (written(i) ? binsOf(i) : pre)), [], 'newer records written whole, the others untouched');
});

t.test('records whose TTL ran out since the backup are skipped and counted', async (t) => {
  const { client } = await startTestNode(t);
  // The first 20,000 records, backed up 4000 s ago: every 3600 s TTL has run out since.
  const aged = join(dir, 'aged.bak');
  const sample = 20_000;
  await writeDataSet(aged, Date.now() - 4_000_000, sample);
  const expired = ids.slice(0, sample).filter(hasTtl).length;
  const report = await restoreFile(client, { file: aged, policy: 'replace' });
  t.match(report, { records: sample, total: sample, restored: sample - expired, expired, existed: 0, failed: 0, inDoubt: 0 });
  t.equal(
    (
      await client.batchGet(
        ids
          .slice(0, sample)
          .filter(hasTtl)
          .map((i) => keyIn('test', i)),
      )
    ).filter((r) => r !== null).length,
    0,
    'none written',
  );
  t.equal(count(hasTtl), N / 10);
});

t.test('a set filter backs up that set only', async (t) => {
  const { client } = await startTestNode(t);
  const few = ids.slice(0, 2000);
  await inChunks(few, (i) => client.put(keyIn('test', i), { i }, undefined, { sendKey: true }));
  const file = join(dir, 'set-a.bak');
  const result = await backupNamespace(client, { ns: 'test', set: 'a', out: file, pageSize: 100 });
  const inSetA = few.filter((i) => setOf(i) === 'a').length;
  t.match(result, { records: inSetA, set: 'a' });
  t.match(await checkBackupFile(file), { records: inSetA, header: { ns: 'test', set: 'a' } });
  const reader = await BackupFileReader.open(file);
  let otherSets = 0;
  for (let r = await reader.next(); r !== null; r = await reader.next()) if (r.set !== 'a') otherSets++;
  await reader.close();
  t.equal(otherSets, 0);
  const empty = await backupNamespace(client, { ns: 'test', set: 'none-here', out: join(dir, 'empty.bak') });
  t.equal(empty.records, 0, 'an empty set makes a valid, empty backup');
  t.equal((await checkBackupFile(join(dir, 'empty.bak'))).records, 0);
});
