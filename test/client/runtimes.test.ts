// Proves the SDK's ES module runs under Deno and Bun (both installed from npm as devDependencies):
// each runtime, with its own global WebSocket, connects to a real node, writes and reads a record
// with a string and a byte value, gets a coded error, and the record it wrote reads back from Node.
import t from 'tap';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Key, status } from '../../src/index';
import { startTestNode } from '../helpers/node';

const ROOT = path.join(__dirname, '..', '..', '..');
const RUN_TIMEOUT_MS = 60_000;

const { bundleClient } = require(path.join(ROOT, 'scripts', 'bundle-client.js')) as { bundleClient(outDir: string): Promise<string> };

const RUNTIMES: { name: string; bin: string; args: (script: string) => string[] }[] = [
  { name: 'deno', bin: path.join(ROOT, 'node_modules', '.bin', 'deno'), args: (script) => ['run', '--allow-net', '--allow-read', script] },
  { name: 'bun', bin: path.join(ROOT, 'node_modules', '.bin', 'bun'), args: (script) => [script] },
];

function run(bin: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: RUN_TIMEOUT_MS, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

const script = (bundleUrl: string, port: number, runtime: string) => `
import { connect, Key } from ${JSON.stringify(bundleUrl)};
const client = await connect({ hosts: '127.0.0.1:${port}', timeoutMs: 10000 });
const key = new Key('test', 'runtimes', ${JSON.stringify(runtime)});
await client.put(key, { who: ${JSON.stringify(runtime)}, text: 'héllo ✓', bytes: new Uint8Array([1, 2, 255]) });
const got = await client.get(key);
let code = null;
try {
  await client.put(key, { who: 'again' }, undefined, { exists: 'create-only' });
} catch (err) {
  code = err.code;
}
console.log(JSON.stringify({ who: got.bins.who, text: got.bins.text, bytes: Array.from(got.bins.bytes), gen: got.gen, code }));
await client.close();
`;

t.test('the SDK under Deno and Bun', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-runtimes-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bundleUrl = pathToFileURL(await bundleClient(dir)).href;
  const { node, client } = await startTestNode(t);
  for (const runtime of RUNTIMES) {
    await t.test(runtime.name, { skip: fs.existsSync(runtime.bin) ? false : `${runtime.bin} is missing (npm ci installs it)` }, async (t) => {
      const file = path.join(dir, `${runtime.name}.mjs`);
      fs.writeFileSync(file, script(bundleUrl, node.address.port, runtime.name));
      const out = await run(runtime.bin, runtime.args(file));
      t.equal(out.code, 0, `${runtime.name} exits 0${out.code === 0 ? '' : `: ${out.stderr.slice(0, 2000)}`}`);
      const answer = JSON.parse(out.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
      t.same(answer, { who: runtime.name, text: 'héllo ✓', bytes: [1, 2, 255], gen: 1, code: status.KEY_EXISTS }, 'put, get and a coded error');
      const fromNode = await client.get(new Key('test', 'runtimes', runtime.name));
      t.equal(fromNode.bins.who, runtime.name, 'the record it wrote reads back from Node');
      t.same([...(fromNode.bins.bytes as Uint8Array)], [1, 2, 255]);
    });
  }
});
