// Proves the node behaves under process managers: a SIGTERM to `npm start` reaches the node (it
// drains, exits and frees its port instead of living on as an orphan), and the `aerie` command
// npm links runs by itself after any rebuild of dist/ (its file keeps its run bit).
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect } from '../../src/index';
import { waitFor, waitForValue } from '../helpers/wait';

const ROOT = path.join(__dirname, '..', '..', '..');

/** Resolves with the node's address once it prints it; rejects if the child exits first. */
function listeningAddress(child: ChildProcess, output: { text: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const seen = (d: Buffer) => {
      output.text += d;
      const m = /ws:\/\/([\d.]+):(\d+)/.exec(output.text);
      if (m) resolve(`${m[1]}:${m[2]}`);
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', (d: Buffer) => (output.text += d));
    child.once('exit', (code) => reject(new Error(`exited ${code} before listening: ${output.text}`)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('SIGTERM to `npm start` stops the node and frees its port', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-npm-start-'));
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(config, JSON.stringify({ service: { port: 0 }, workers: { count: 2 }, namespaces: [{ name: 'test', storage: 'memory' }] }));
  // --ignore-scripts skips prestart (the build: the tests run from the dist/ it would rewrite).
  const npm = spawn('npm', ['start', '--ignore-scripts', '--', '--config', config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { text: '' };
  const address = await listeningAddress(npm, output);
  const client = await connect({ hosts: address, reconnect: false, timeoutMs: 10_000 });
  const nodePid = (await client.info()).pid as number;
  await client.close();
  t.teardown(() => {
    // Never leave an orphan behind, whatever the outcome.
    if (alive(nodePid)) process.kill(nodePid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  t.not(nodePid, npm.pid, 'the node runs in its own process, under npm');
  const npmExited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
  npm.kill('SIGTERM');
  await npmExited;
  await waitFor(() => !alive(nodePid), { what: `the node (pid ${nodePid}) to exit after npm got SIGTERM`, timeoutMs: 20_000 });
  const [host, port] = address.split(':');
  const refused = await waitForValue(
    () =>
      fetch(`http://${host}:${port}/livez`).then(
        () => 'answered',
        () => 'refused',
      ),
    (r) => r === 'refused',
    { what: 'the port to be free' },
  );
  t.equal(refused, 'refused');
  t.match(output.text, /shutting down|stopped/, 'the node drained on the signal');
});

t.test('the `aerie` bin lives outside dist/, keeps its run bit and runs by itself', async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const bin = pkg.bin.aerie;
  t.notOk(bin.startsWith('dist/'), `${bin}: a rebuild of dist/ cannot drop its mode`);
  const file = path.join(ROOT, bin);
  t.ok((fs.statSync(file).mode & 0o111) !== 0, `${bin} is executable`);
  // Run as npm's link runs it: the file itself, through its #! line.
  const run = spawnSync(file, ['help'], { encoding: 'utf8', timeout: 30_000 });
  t.equal(run.error, undefined, 'it starts');
  t.equal(run.status, 0, 'exit 0');
  t.match(run.stdout, /^usage: aerie <command>/);
});
