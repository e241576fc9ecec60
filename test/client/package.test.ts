// Proves the package as an installer sees it: `npm pack` ships the library and not the tests,
// TypeScript users compile against `aerie-kv/client` with no @types/node and no DOM types (ESM and
// CommonJS, typed records included), and the ES module build connects from Node 20 through `ws`.
import t, { type Test } from 'tap';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTestNode } from '../helpers/node';

const ROOT = path.join(__dirname, '..', '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'client', 'aerie-client.mjs');

/** A folder where `aerie-kv` resolves to this checkout, as it would once installed. */
function consumerDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-consumer-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'aerie-kv'), 'dir');
  return dir;
}

t.test('npm pack ships the library, its types, the client bundle and the admin page, and no tests', async (t) => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  const files = (JSON.parse(out) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
  t.same(
    files.filter(
      (f) =>
        !/^(bin\/aerie\.js|dist\/src\/.*\.(js|d\.ts)|dist\/client\/aerie-client\.(mjs|d\.mts)|dist\/admin\/(index\.html|admin\.js|admin\.css)|config\/default\.json|docs\/client\.md|package\.json|README\.md|LICENSE)$/.test(
          f,
        ),
    ),
    [],
    'nothing but the library',
  );
  for (const needed of [
    'dist/src/index.js',
    'dist/src/client/index.js',
    'dist/src/client/index.d.ts',
    'dist/src/cli/main.js',
    'dist/client/aerie-client.mjs',
    'dist/client/aerie-client.d.mts',
    'dist/admin/index.html',
    'dist/admin/admin.js',
    'config/default.json',
  ]) {
    t.ok(files.includes(needed), `ships ${needed}`);
  }
});

const CONSUMER = `
import { connect, Key, AerieError, Status, type AerieRecord, type NodeInfo } from 'aerie-kv/client';
interface User { name: string; visits: number }
export async function main(port: number): Promise<string> {
  const client = await connect({ hosts: \`127.0.0.1:\${port}\` });
  const key = new Key('test', 'users', 'ada');
  await client.put<User>(key, { name: 'Ada', visits: 1 });
  const record: AerieRecord<User> = await client.get<User>(key);
  const visits: number = record.bins.visits;
  // @ts-expect-error: a typed record has no such bin
  record.bins.missing;
  // @ts-expect-error: put<User> refuses a bin of the wrong type
  await client.put<User>(key, { name: 'Ada', visits: 'many' }).catch(() => undefined);
  const info: NodeInfo = await client.info();
  const records: number = info.namespaces[0].records;
  let code = 0;
  try { await client.get(new Key('test', 'users', 'nobody')); } catch (error) { if (error instanceof AerieError) code = error.code; }
  await client.close();
  return JSON.stringify({ visits, records, notFound: code === Status.KEY_NOT_FOUND, digest: key.digest.length });
}
`;

t.test('client types compile without @types/node or DOM types, as ESM and as CommonJS', async (t) => {
  const dir = consumerDir(t);
  fs.writeFileSync(path.join(dir, 'esm.mts'), CONSUMER);
  fs.writeFileSync(path.join(dir, 'cjs.cts'), CONSUMER);
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, types: [], lib: ['ES2022'], module: 'node16', moduleResolution: 'node16', target: 'ES2022', skipLibCheck: false },
      files: ['esm.mts', 'cjs.cts'],
    }),
  );
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8', timeout: 120_000 });
  t.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);
});

t.test('the ES module build works from Node 20 (ws fallback) through the exports map', async (t) => {
  t.ok(fs.existsSync(BUNDLE), 'the bundle was built (node scripts/bundle-client.js)');
  const { node } = await startTestNode(t);
  const dir = consumerDir(t);
  fs.writeFileSync(
    path.join(dir, 'run.mjs'),
    `
import { connect, Key } from 'aerie-kv/client';
import * as cjs from 'aerie-kv/client';
const client = await connect({ hosts: '127.0.0.1:${node.address.port}' });
const key = new Key('test', 'esm', 'k');
await client.put(key, { n: 41 });
const { bins } = await client.get(key);
await client.close();
console.log(JSON.stringify({ n: bins.n, hasKey: typeof cjs.Key === 'function' }));
`,
  );
  fs.writeFileSync(path.join(dir, 'run.cjs'), `const { connect, Key } = require('aerie-kv/client'); console.log(typeof connect, typeof Key);`);
  // Not spawnSync: the node runs in this process and must answer while the child waits.
  const esm = await promisify(execFile)(process.execPath, [path.join(dir, 'run.mjs')], { encoding: 'utf8', timeout: 60_000 });
  t.same(JSON.parse(esm.stdout), { n: 41, hasKey: true });
  const cjs = spawnSync(process.execPath, [path.join(dir, 'run.cjs')], { encoding: 'utf8', timeout: 60_000 });
  t.equal(cjs.stdout.trim(), 'function function', cjs.stderr);
});
