// Proves a file namespace's disk states on one worker (src/worker/persistence.ts) against a real
// store, log and statfs, with faults injected at the storage calls: under the reserve writes are
// refused SERVER_MEM and deletes pass; a full device refuses both until space returns and the
// waiting records are written; an fsync error refuses everything for good with SERVER_ERROR;
// and each change of state is reported once, however many requests it refuses.
import t from 'tap';
import { Status } from '../../src/errors';
import { DiskState } from '../../src/storage/disk-space';
import { StorageFaults } from '../../src/storage/storage-faults';
import { recoverLog } from '../../src/storage/recovery';
import { RecordStore } from '../../src/shm/record-store';
import { NamespaceLog } from '../../src/worker/persistence';
import { digestOf, makeDataDir, namespaceConfig, nowVoid } from '../jobs/helpers/log-harness';
import { logDirectory } from '../../src/storage/segment-files';
import type { LogFields } from '../../src/log';

/** One disk-state report: its level and fields (the message is for people). */
type Report = { level: string; fields: LogFields };

function openLog(dataDir: string, faults: StorageFaults, lines: Report[]) {
  const config = namespaceConfig(dataDir, 64 * 1024);
  const store = RecordStore.create({ memoryBytesMax: 1 << 24, blockBytes: 1 << 16 });
  const { log } = NamespaceLog.open(config, 0, store, false, nowVoid(), null, 0, faults, (level, _m, fields) => lines.push({ level, fields }));
  return { log, store };
}

function put(store: RecordStore, log: NamespaceLog, key: number): void {
  const digest = digestOf(key);
  const bins = Buffer.alloc(100, key & 0xff);
  store.write(digest, 0, 1, 1, 0, Date.now(), null, 0, 0, bins, 0, bins.length);
  log.logPut(store, store.lookup(digest, 0));
}

t.test('stop-writes, full and back: codes, deletes, once-per-episode reports, nothing lost', async (t) => {
  const dataDir = makeDataDir(t, 'disk-state');
  const faults = new StorageFaults();
  const lines: Report[] = [];
  const { log, store } = openLog(dataDir, faults, lines);
  t.equal(log.diskState, DiskState.OK);
  t.ok(log.freeBytesEstimate > 0, 'free space read from the real device');
  t.equal(log.writeRefusal(), null);
  put(store, log, 1);
  put(store, log, 2);
  await log.flush();

  faults.set('disk-low');
  log.tick(Date.now(), true);
  t.equal(log.diskState, DiskState.STOP_WRITES);
  for (let i = 0; i < 50; i++) t.equal(log.writeRefusal()?.code, Status.SERVER_MEM);
  t.equal(log.deleteRefusal(), null, 'a delete may still write its tombstone');
  log.logDelete(store, store.lookup(digestOf(2), 0));
  store.remove(store.lookup(digestOf(2), 0));
  await log.flush();
  t.equal(lines.length, 1, 'entering stop-writes is reported once, not per refusal');
  t.same([lines[0].level, lines[0].fields.state, lines[0].fields.code], ['error', 'stop-writes', Status.SERVER_MEM]);

  faults.set('disk-ok');
  faults.set('disk-full');
  log.tick(Date.now(), true);
  t.equal(log.diskState, DiskState.OK, 'statfs shows space: writes go');
  put(store, log, 3);
  await t.rejects(log.flush(), { code: Status.SERVER_MEM, inDoubt: true }, 'the write that met ENOSPC is in doubt');
  log.tick(Date.now(), true);
  t.equal(log.diskState, DiskState.FULL);
  t.equal(log.blocked, true, 'replication stops taking messages');
  t.equal(log.writeRefusal()?.code, Status.SERVER_MEM);
  t.equal(log.deleteRefusal()?.code, Status.SERVER_MEM, 'nothing more can be logged');
  for (let i = 0; i < 5; i++) log.tick(Date.now(), true);
  t.equal(log.diskState, DiskState.FULL, 'retries while the device stays full change nothing');
  const reportsWhileFull = lines.length;

  faults.set('disk-ok');
  log.tick(Date.now(), true);
  t.equal(log.diskState, DiskState.OK, 'space back: the waiting record is written and writes resume');
  t.equal(lines.length, reportsWhileFull + 1, 'the end of the episode is reported once');
  const end = lines[lines.length - 1].fields;
  t.same([end.state, end.previous], ['ok', 'full'], 'the end names the state it leaves');
  t.ok(typeof end.count === 'number' && end.count >= 2 && typeof end.durationMs === 'number', `with the refusals it counted (${end.count}) and its length`);
  t.equal(lines.find((l) => l.fields.state === 'full')?.fields.errno, 'ENOSPC', 'the full device says why');
  put(store, log, 4);
  await log.flush();
  await log.close();
  const keys: number[] = [];
  recoverLog({ directory: logDirectory(dataDir, 'ns', 0), onRecord: (v) => keys.push(v.kind) });
  t.equal(keys.length, 5, 'puts 1, 2, the tombstone of 2, put 3 (in doubt, written after all) and put 4');
});

t.test('an fsync error refuses everything for good', async (t) => {
  const dataDir = makeDataDir(t, 'disk-eio');
  const faults = new StorageFaults();
  const lines: Report[] = [];
  const { log, store } = openLog(dataDir, faults, lines);
  faults.set('sync-eio');
  put(store, log, 1);
  await t.rejects(log.flush(), { code: Status.SERVER_ERROR, inDoubt: true });
  log.tick(Date.now(), true);
  t.equal(log.diskState, DiskState.FAILED);
  t.equal(log.writeRefusal()?.code, Status.SERVER_ERROR);
  t.equal(log.deleteRefusal()?.code, Status.SERVER_ERROR);
  faults.set('disk-ok');
  log.tick(Date.now(), true);
  t.equal(log.diskState, DiskState.FAILED, 'never retried');
  t.equal(lines.length, 1, 'reported once');
  t.same([lines[0].fields.state, lines[0].fields.code], ['failed', Status.SERVER_ERROR]);
  await log.close();
});
