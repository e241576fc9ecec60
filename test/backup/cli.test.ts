// Proves `aerie backup` and `aerie restore` end to end as separate processes against a real node:
// a backup and restores with each policy print their summary and exit 0, a failed write or a
// damaged file or an absent node exits 1 naming the cause, a bad command line exits 2 with the
// usage, and the progress line is drawn only on a terminal.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Key } from '../../src/client/index';
import { main } from '../../src/cli/main';
import { checkBackupFile } from '../../src/backup/file-reader';
import { startTestNode } from '../helpers/node';
import { waitForValue } from '../helpers/wait';

// Compiled, this file is dist/test/backup/cli.test.js and the CLI dist/src/cli/main.js.
const CLI = join(__dirname, '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'aerie-backup-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const RECORDS = 3000;

const execFileAsync = promisify(execFile);

/** Runs the CLI to its exit; a command that hangs is killed after 30 s, a failure rather than a stuck suite. */
async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { timeout: 30_000, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: unknown; stdout: string; stderr: string };
    return { code: typeof code === 'number' ? code : null, stdout, stderr };
  }
}

t.test('backup and restore through the command line', async (t) => {
  const { node, client } = await startTestNode(t, (c) => {
    c.namespaces.push({ ...c.namespaces[0], name: 'small', recordBytesMax: 1024 });
  });
  const host = `127.0.0.1:${node.address.port}`;
  const keys = Array.from({ length: RECORDS }, (_, i) => new Key('test', i % 2 ? 'odd' : 'even', i));
  await Promise.all(keys.map((key, i) => client.put(key, { i, pad: i % 1000 === 0 ? 'x'.repeat(2000) : 'y' }, i % 3 ? undefined : { ttl: 600 }, { sendKey: i % 4 !== 0 })));
  const file = join(dir, 'test.bak');

  const backup = await run(['backup', '--ns', 'test', '--out', file, '--host', host]);
  t.equal(backup.code, 0, backup.stderr);
  t.match(backup.stdout, new RegExp(`backed up ${RECORDS} records of test to .*test\\.bak: [\\d.]+ [KM]iB in [\\d.]+s \\([\\d,]+ records/s\\)`));
  t.equal(backup.stderr, '', 'no progress line when stderr is not a terminal');
  t.equal((await checkBackupFile(file)).records, RECORDS);

  const odd = await run(['backup', '--ns', 'test', '--set', 'odd', '--out', join(dir, 'odd.bak'), '--host', host]);
  t.match(odd.stdout, `backed up ${RECORDS / 2} records of test.odd`);

  await Promise.all(keys.slice(0, 100).map((key) => client.remove(key)));
  const createOnly = await run(['restore', file, '--host', host]);
  t.equal(createOnly.code, 0, createOnly.stderr);
  t.match(createOnly.stdout, `into test: ${RECORDS} records in`);
  t.match(createOnly.stdout, `100 restored, ${RECORDS - 100} existed, 0 skipped-older, 0 expired, 0 failed, 0 in doubt`);

  const replace = await run(['restore', file, '--policy', 'replace', '--host', host]);
  t.match(replace.stdout, `${RECORDS} restored, 0 existed`);
  const older = await run(['restore', file, '--policy', 'generation-gt', '--host', host]);
  t.match(older.stdout, `0 restored, 0 existed, ${RECORDS} skipped-older`);
  t.equal(older.code, 0);

  const tooBig = await run(['restore', file, '--ns', 'small', '--host', host]);
  t.equal(tooBig.code, 1, 'a failed write fails the command');
  t.match(tooBig.stdout, `${RECORDS - 3} restored, 0 existed, 0 skipped-older, 0 expired, 3 failed, 0 in doubt`);
  t.match(tooBig.stderr, /small:even:digest:[0-9a-f]{40}: error 13 RECORD_TOO_BIG/, 'a key stored without its key is named by its digest');

  const bytes = readFileSync(file);
  bytes[bytes.length - 30] ^= 1;
  const damaged = join(dir, 'damaged.bak');
  writeFileSync(damaged, bytes);
  const refused = await run(['restore', damaged, '--host', host]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /error 4 PARAMETER: .*damaged\.bak: the frame at offset \d+ fails its checksum/);
  t.notMatch(refused.stdout, 'restored');

  await node.close();
  const absent = await run(['restore', file, '--host', host]);
  t.equal(absent.code, 1, 'no node: exit 1');
  t.match(absent.stderr, 'SERVER_NOT_AVAILABLE');
  const absentBackup = await run(['backup', '--ns', 'test', '--out', join(dir, 'never.bak'), '--host', host]);
  t.equal(absentBackup.code, 1);
});

t.test('bad command lines exit 2 with the usage; --help exits 0', async (t) => {
  const cases: [string[], RegExp][] = [
    [['backup', '--out', 'x.bak'], /--ns is required[\s\S]*usage: aerie backup/],
    [['backup', '--ns', 'test'], /--out is required/],
    [['backup', '--ns', 'test', '--out', 'x', 'extra'], /unexpected argument: extra/],
    [['backup', '--ns', 'test', '--out', 'x', '--set', ''], /--set must name a set/],
    [['restore'], /a backup FILE is required[\s\S]*usage: aerie restore/],
    [['restore', 'f.bak', '--policy', 'merge'], /--policy must be one of create-only, replace, generation-gt/],
    [['restore', 'f.bak', '--bogus'], /usage: aerie restore/],
  ];
  for (const [args, stderr] of cases) {
    const result = await run(args);
    t.equal(result.code, 2, args.join(' '));
    t.match(result.stderr, stderr);
  }
  for (const args of [
    ['backup', '--help'],
    ['help', 'restore'],
  ]) {
    const result = await run(args);
    t.equal(result.code, 0);
    t.match(result.stdout, /usage: aerie (backup|restore)/);
  }
  t.match((await run(['--help'])).stdout, /backup .*\n.*restore /);
});

t.test('on a terminal, a progress line is drawn on stderr and cleared', async (t) => {
  const { node, client } = await startTestNode(t);
  await Promise.all(Array.from({ length: 2000 }, (_, i) => client.put(new Key('test', null, i), { i })));
  // INFO's record counts are published by the workers a little after the writes.
  const infoRecords = async () => ((await client.info()).namespaces as { records: number }[])[0].records;
  await waitForValue(infoRecords, (n) => n >= 2000, { what: 'INFO to count the 2000 records', timeoutMs: 10_000, intervalMs: 50 });
  const capture = () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk) => (text += chunk));
    return { stream, text: () => text };
  };
  const stdout = capture();
  const stderr = capture();
  Object.assign(stderr.stream, { isTTY: true });
  const io = { stdout: stdout.stream, stderr: stderr.stream, stdin: process.stdin };
  const file = join(dir, 'tty.bak');
  t.equal(await main(['backup', '--ns', 'test', '--out', file, '--host', `127.0.0.1:${node.address.port}`], io), 0);
  t.match(stderr.text(), /\r\x1b\[K[\d,]+ \/ 2,000 \(\d+%\) records, [\d.]+s/, 'records done of the namespace total, and the rate');
  t.ok(stderr.text().endsWith('\r\x1b[K'), 'the line is cleared before the summary');
  t.match(stdout.text(), 'backed up 2000 records');
  const backupDrawn = stderr.text().length;
  t.equal(await main(['restore', file, '--host', `127.0.0.1:${node.address.port}`], io), 0);
  t.match(stderr.text().slice(backupDrawn), /\/ 2,000 \(\d+%\) records/, 'a restore knows its total from the file check');
});
