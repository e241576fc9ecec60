// Proves what goes wrong is reported and leaves no half file: an interrupted, failed or killed
// backup never leaves a file under its final name (an older one stays intact); a restore whose
// writes meet a stopped node, or a connection lost mid-write, counts them failed or in doubt,
// never restored; a damaged file writes nothing; an abort stops a restore; bad options are coded.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, Key } from '../../src/client/index';
import { Status } from '../../src/errors';
import { BACKUP_RESTORE_IN_FLIGHT_BYTES_MAX } from '../../src/constants';
import { Op } from '../../src/protocol/ops';
import { backupNamespace } from '../../src/backup/backup';
import { restoreFile } from '../../src/backup/restore';
import { checkBackupFile } from '../../src/backup/file-reader';
import { startTestNode } from '../helpers/node';
import { MockNode } from '../helpers/scripted-node';
import { buildFile, HEADER, record } from './helpers/files';

const dir = mkdtempSync(join(tmpdir(), 'aerie-backup-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const RECORDS = 500;
const sample = Array.from({ length: RECORDS }, (_, i) => record('s', i, { i, s: `v${i}` }));
const sampleFile = join(dir, 'sample.bak');
writeFileSync(sampleFile, buildFile(HEADER, sample).bytes);

async function putMany(client: Awaited<ReturnType<typeof connect>>, count: number, bins: (i: number) => Record<string, unknown>) {
  await Promise.all(Array.from({ length: count }, (_, i) => client.put(new Key('test', 's', i), bins(i) as never)));
}

t.test('an interrupted or failed backup leaves no file under its final name', async (t) => {
  const { node, client } = await startTestNode(t);
  await putMany(client, 5000, (i) => ({ i }));
  const file = join(dir, 'interrupted.bak');
  writeFileSync(file, 'an older backup');

  const controller = new AbortController();
  const aborted = await backupNamespace(client, { ns: 'test', out: file, pageSize: 100, signal: controller.signal, onProgress: () => controller.abort() }).catch((error: unknown) => error);
  t.match(aborted, { code: Status.CLIENT_ERROR, failure: 'interrupted' });
  t.equal(readFileSync(file, 'utf8'), 'an older backup', 'the older file is untouched');
  t.notOk(existsSync(`${file}.tmp`), 'the temporary file is removed');

  // A client of its own, with a short timeout: the next page waits for a node that is gone.
  const quick = await connect({ hosts: `127.0.0.1:${node.address.port}`, timeoutMs: 500 });
  t.teardown(() => quick.close());
  const stopped = await backupNamespace(quick, { ns: 'test', out: join(dir, 'stopped.bak'), pageSize: 100, onProgress: () => void node.close() }).catch((error: unknown) => error);
  t.ok(stopped instanceof Error && typeof (stopped as { code?: unknown }).code === 'number', `the scan's error: ${String(stopped)}`);
  t.notOk(existsSync(join(dir, 'stopped.bak')), 'no file');
  t.notOk(existsSync(join(dir, 'stopped.bak.tmp')), 'no temporary file');
});

t.test('a backup killed with SIGKILL leaves only a partial FILE.tmp, which reads as truncated', async (t) => {
  const { node, client } = await startTestNode(t);
  await putMany(client, 3000, (i) => ({ i, pad: 'x'.repeat(1000) }));
  const file = join(dir, 'killed.bak');
  const helper = join(__dirname, 'helpers', 'crash-backup.js');
  const child = spawn(process.execPath, [helper, `127.0.0.1:${node.address.port}`, file, String(1.5 * 1024 * 1024)], { stdio: 'inherit' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
  clearTimeout(timer);
  t.equal(signal, 'SIGKILL', 'the backup died mid-way');
  t.notOk(existsSync(file), 'nothing under the final name');
  t.ok(existsSync(`${file}.tmp`), 'the partial temporary file is left, as after any crash');
  t.match(await checkBackupFile(`${file}.tmp`).catch((e: unknown) => e), { failure: 'truncated', code: Status.PARAMETER });
});

t.test('a restore against a stopped node counts every record failed', async (t) => {
  const { node } = await startTestNode(t);
  const host = `127.0.0.1:${node.address.port}`;
  const oneShot = await connect({ hosts: host, reconnect: false });
  const patient = await connect({ hosts: host, timeoutMs: 200 });
  t.teardown(() => Promise.all([oneShot.close(), patient.close()]));
  await node.close();
  for (const client of [oneShot, patient]) {
    const report = await restoreFile(client, { file: sampleFile, policy: 'replace' });
    t.match(report, { records: RECORDS, restored: 0, failed: RECORDS, inDoubt: 0 });
    t.equal(report.errors.length, 10, 'the first ten described');
    t.ok(
      report.errors.every((e) => e.code === Status.SERVER_NOT_AVAILABLE || e.code === Status.TIMEOUT_CLIENT),
      report.errors[0].name,
    );
  }
});

t.test('writes cut off by a lost connection are in doubt, never restored', async (t) => {
  const ANSWERED = 100;
  let puts = 0;
  const mock = await MockNode.start({
    onRequest: (request) => {
      if (request.op !== Op.PUT) return request.reply(0, null);
      // Answer the first puts, then vanish with the rest unanswered, as a crashed node would.
      if (++puts <= ANSWERED) request.reply(0, { gen: 1, ttl: -1 });
      else if (puts === ANSWERED + 1) setImmediate(() => mock.dropAll());
    },
  });
  t.teardown(() => mock.close());
  const client = await connect({ hosts: mock.host, reconnect: false });
  t.teardown(() => client.close());
  const report = await restoreFile(client, { file: sampleFile, policy: 'replace' });
  // A crash can also lose answers the node had already written (still in its socket, or cut by
  // the reset), so those writes may be in doubt: what must hold is that nothing unanswered counts
  // as restored, and nothing the node received counts as failed.
  t.ok(report.restored <= ANSWERED, `restored ${report.restored}: no more than the ${ANSWERED} answered`);
  t.ok(report.restored + report.inDoubt >= puts, `restored or in doubt: ${report.restored + report.inDoubt}, at least the ${puts} received`);
  t.ok(report.inDoubt > 0, `${report.inDoubt} in doubt`);
  t.equal(report.restored + report.inDoubt + report.failed, RECORDS, 'every record accounted for');
  t.ok(
    report.errors.some((e) => e.inDoubt && e.code === Status.CONNECTION_CLOSED && e.message === 'connection lost with the request in flight'),
    'an in-doubt write described as such: the connection was lost, the client was not closed',
  );
});

t.test('a damaged file writes nothing; without the check, it stops at the damage', async (t) => {
  const mock = await MockNode.start({ onRequest: (request) => request.reply(0, { gen: 1, ttl: -1 }) });
  t.teardown(() => mock.close());
  const client = await connect({ hosts: mock.host });
  t.teardown(() => client.close());
  const { bytes, frameOffsets } = buildFile(HEADER, sample);
  const damagedAt = frameOffsets[RECORDS - 10];
  bytes[damagedAt + 20] ^= 0x10;
  const damaged = join(dir, 'damaged.bak');
  writeFileSync(damaged, bytes);
  const refused = await restoreFile(client, { file: damaged, policy: 'replace' }).catch((e: unknown) => e);
  t.match(refused, { code: Status.PARAMETER, failure: 'bad-checksum', offset: damagedAt, file: damaged });
  t.equal(mock.requests.length, 0, 'no write sent');
  const unchecked = await restoreFile(client, { file: damaged, policy: 'replace', verify: false }).catch((e: unknown) => e);
  t.match(unchecked, { failure: 'bad-checksum', offset: damagedAt });
  t.equal(mock.requests.filter((r) => r.op === Op.PUT).length, RECORDS - 11, 'every record before the damage written, each answered');
});

t.test('a restore holds at most BACKUP_RESTORE_IN_FLIGHT_BYTES_MAX of records in flight', async (t) => {
  const recordBytes = 4 * 1024 * 1024;
  const allowed = Math.floor(BACKUP_RESTORE_IN_FLIGHT_BYTES_MAX / (recordBytes + 64));
  let outstanding = 0;
  let outstandingMax = 0;
  const mock = await MockNode.start({
    onRequest: (request) => {
      if (request.op !== Op.PUT) return request.reply(0, null);
      outstandingMax = Math.max(outstandingMax, ++outstanding);
      setTimeout(() => {
        outstanding--;
        request.reply(0, { gen: 1, ttl: -1 });
      }, 200);
    },
  });
  t.teardown(() => mock.close());
  const client = await connect({ hosts: mock.host });
  t.teardown(() => client.close());
  const large = Array.from({ length: 3 * allowed }, (_, i) => record('big', i, { blob: Buffer.alloc(recordBytes, i) }));
  const file = join(dir, 'large.bak');
  writeFileSync(file, buildFile(HEADER, large).bytes);
  const report = await restoreFile(client, { file, policy: 'replace' });
  t.equal(report.restored, large.length);
  t.ok(outstandingMax <= allowed && outstandingMax >= 2, `at most ${allowed} large records in flight (${outstandingMax})`);
});

t.test('an aborted restore waits for its writes and says it was interrupted', async (t) => {
  const controller = new AbortController();
  let puts = 0;
  const mock = await MockNode.start({
    onRequest: (request) => {
      if (request.op === Op.PUT && ++puts === 50) controller.abort();
      request.reply(0, { gen: 1, ttl: -1 });
    },
  });
  t.teardown(() => mock.close());
  const client = await connect({ hosts: mock.host });
  t.teardown(() => client.close());
  const report = await restoreFile(client, { file: sampleFile, policy: 'create-only', inFlightMax: 8, signal: controller.signal });
  t.equal(report.interrupted, true);
  t.ok(report.records < RECORDS, `stopped after ${report.records} records`);
  t.equal(report.restored, report.records, 'every write it started was answered before it returned');
});

t.test('bad options and unknown namespaces are refused with codes before anything is written', async (t) => {
  const mock = await MockNode.start();
  t.teardown(() => mock.close());
  const client = await connect({ hosts: mock.host });
  t.teardown(() => client.close());
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => 'accepted',
      (e: { code?: number; failure?: string }) => e.failure ?? e.code,
    );
  t.equal(await refusal(restoreFile(client, { file: sampleFile, policy: 'merge' as never })), Status.PARAMETER);
  t.equal(await refusal(restoreFile(client, { file: sampleFile, policy: 'replace', inFlightMax: 0 })), Status.PARAMETER);
  t.equal(await refusal(restoreFile(client, { file: sampleFile, policy: 'replace', ns: 'elsewhere' })), Status.INVALID_NAMESPACE);
  t.equal(await refusal(restoreFile(client, { file: join(dir, 'missing.bak'), policy: 'replace' })), 'io-failed');
  t.equal(await refusal(backupNamespace(client, { ns: 'test', out: '' })), Status.PARAMETER);
  t.equal(await refusal(backupNamespace(client, { ns: '', out: join(dir, 'x.bak') })), Status.PARAMETER);
  t.equal(await refusal(backupNamespace(client, { ns: 'test', out: join(dir, 'no-such-dir', 'x.bak') })), 'io-failed');
  t.equal(mock.requests.length, 0, 'no request reached the node');
});
