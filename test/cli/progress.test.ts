// Proves the progress lines on a terminal, with the real command on a pseudo-terminal: backup and
// restore show records done of the total with an ETA, and so do verify and snapshot create and
// restore, from the node's progress pushes; with --json those show the time so far, as before;
// piped, none of it is printed; and the ETA arithmetic.
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key } from '../../src/client/index';
import { ExitCode } from '../../src/cli/args';
import { etaMs, formatEta } from '../../src/cli/progress';
import { startTestNode } from '../helpers/node';
import { runCli, runCliInTerminal } from '../helpers/run-cli';

t.test('progress on a terminal, none in a pipe', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-progress-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { node, client } = await startTestNode(t, (c) => {
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = path.join(dir, 'data');
  });
  const host = ['--host', `127.0.0.1:${node.address.port}`];
  for (let i = 0; i < 300; i++) await client.put(new Key('test', 'p', i), { i, pad: 'x'.repeat(200) });
  const file = path.join(dir, 'test.bak');
  const never = () => null;

  const backup = await runCliInTerminal(['backup', '--ns', 'test', '--out', file, ...host], never);
  t.equal(backup.code, ExitCode.OK, backup.stdout);
  t.match(backup.stdout, /\d+ \/ 300 \(\d+%\) records, [\d.]+s \([\d,]+ records\/s\), ETA \d+s/, 'records of the total, rate and ETA');
  t.match(backup.stdout, /backed up 300 records/);

  const restore = await runCliInTerminal(['restore', file, '--policy', 'replace', ...host], never);
  t.equal(restore.code, ExitCode.OK, restore.stdout);
  t.match(restore.stdout, /\/ 300 \(\d+%\) records, .*ETA \d+s/, 'restore: the ETA');

  // The node's progress counts index entries (a replica's copy apart), so the total is not 300.
  const fromNode = (what: string) => new RegExp(`${what}: [\\d,]+ / [\\d,]+ \\(\\d+%\\) copies, [\\d.]+s \\([\\d,]+ copies/s\\)`);
  const snapshot = await runCliInTerminal(['snapshot', 'create', '--ns', 'test', ...host], never);
  t.equal(snapshot.code, ExitCode.OK, snapshot.stdout);
  t.match(snapshot.stdout, fromNode('snapshot of test'), 'snapshot create: copies done of the total, from the node');
  const id = /snapshot (\d+) of test/.exec(snapshot.stdout)?.[1] ?? '';
  const snapshotRestore = await runCliInTerminal(['snapshot', 'restore', id, '--ns', 'test', ...host], never);
  t.equal(snapshotRestore.code, ExitCode.OK, snapshotRestore.stdout);
  t.match(snapshotRestore.stdout, fromNode(`restoring test to snapshot ${id}`), 'snapshot restore: copies done of the total');
  const verify = await runCliInTerminal(['verify', '--ns', 'test', ...host], never);
  t.equal(verify.code, ExitCode.OK, verify.stdout);
  t.match(verify.stdout, fromNode('verifying test'), 'verify: copies done of the total');
  const verifyJson = await runCliInTerminal(['verify', '--ns', 'test', '--json', ...host], never);
  t.equal(verifyJson.code, ExitCode.OK, verifyJson.stdout);
  t.notMatch(verifyJson.stdout, /copies\/s/, '--json: no progress asked for, as before');

  const piped = await runCli(['backup', '--ns', 'test', '--out', path.join(dir, 'again.bak'), ...host]);
  t.equal(piped.code, ExitCode.OK);
  t.notMatch(piped.stdout + piped.stderr, /ETA|\r/, 'piped: the summary alone');
  const pipedSnapshot = await runCli(['snapshot', 'create', '--ns', 'test', ...host]);
  t.notMatch(pipedSnapshot.stderr, /snapshot of test:/);
  const pipedVerify = await runCli(['verify', '--ns', 'test', ...host]);
  t.equal(pipedVerify.code, ExitCode.OK);
  t.notMatch(pipedVerify.stdout + pipedVerify.stderr, /copies\/s|\r/, 'piped verify: the report alone');
});

t.test('ETA arithmetic', async (t) => {
  t.equal(etaMs(100, 400, 1000), 3000, 'a quarter done in 1 s: 3 s to go');
  t.equal(etaMs(0, 400, 1000), null, 'nothing done yet');
  t.equal(etaMs(500, 400, 1000), null, 'past the total (INFO lags): no ETA');
  t.equal(etaMs(100, null, 1000), null, 'no total');
  t.equal(formatEta(3000), '3s');
  t.equal(formatEta(65_001), '1m 6s');
});
