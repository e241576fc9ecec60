// Proves the source keeps docs/architecture.md's layer table: every import in src/**/*.ts goes
// to a layer its own layer's row allows (type imports included), and the doc's table lists the
// same rows as the one encoded here.

import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const SRC = path.join(ROOT, 'src');

/** The foundation: top-level files every layer may import, and which import only each other. */
const FOUNDATION = ['constants', 'errors', 'assert', 'config', 'memory-sizing', 'log', 'bytes'];

/**
 * What each layer may import besides itself and the foundation. A `folder/file` entry allows that
 * one file of the folder (the primary reaches the worker only for the thread messages' types).
 * Keep in step with docs/architecture.md's "Source layout" table.
 */
const ALLOWED: Record<string, string[]> = {
  protocol: [],
  partition: [],
  storage: [],
  shm: ['protocol', 'storage'],
  replication: ['shm'],
  snapshot: ['partition', 'shm', 'storage'],
  jobs: ['protocol', 'shm', 'snapshot', 'storage'],
  endpoint: ['protocol', 'partition', 'shm', 'security'],
  worker: ['protocol', 'partition', 'shm', 'replication', 'storage', 'snapshot', 'endpoint', 'security'],
  ops: ['partition', 'shm'],
  security: ['protocol'],
  primary: ['protocol', 'partition', 'shm', 'replication', 'storage', 'snapshot', 'jobs', 'endpoint', 'ops', 'security', 'worker/thread-messages'],
  client: ['protocol', 'partition'],
  /** The admin page: browser code, bundled apart from the node (src/admin-page/tsconfig.json). */
  'admin-page': ['protocol', 'client'],
  backup: ['protocol', 'partition', 'storage', 'client'],
  offline: ['partition', 'shm', 'storage', 'snapshot'],
  cli: ['protocol', 'storage', 'client', 'primary', 'backup', 'offline'],
  /** src/index.ts, the package's public surface. */
  index: ['primary', 'client', 'backup'],
};

/** Within the foundation, each file's allowed imports (a narrower rule: nothing above them). */
const FOUNDATION_ALLOWED: Record<string, string[]> = {
  constants: [],
  errors: [],
  assert: ['errors'],
  'memory-sizing': ['constants'],
  config: ['constants', 'errors', 'memory-sizing'],
  log: ['config'],
  bytes: [],
};

const IMPORT = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)'(\.{1,2}\/[^']+)'/g;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** The layer of a path under src/: its folder, or a top-level file's name without `.ts`. */
function layerOf(file: string): { layer: string; rest: string } | null {
  const parts = path.relative(SRC, file).split(path.sep);
  if (parts[0] === '..') return null;
  if (parts.length === 1) return { layer: parts[0].replace(/\.ts$/, ''), rest: '' };
  return { layer: parts[0], rest: parts.slice(1).join('/').replace(/\.ts$/, '') };
}

function allows(from: string, to: { layer: string; rest: string }): boolean {
  if (to.layer === from) return true;
  if (FOUNDATION.includes(from)) return FOUNDATION_ALLOWED[from].includes(to.layer);
  if (FOUNDATION.includes(to.layer)) return true;
  const row = ALLOWED[from] ?? [];
  return row.includes(to.layer) || row.includes(`${to.layer}/${to.rest}`);
}

t.test('every import in src/ goes where its layer row allows', async (t) => {
  const files = sourceFiles(SRC);
  t.ok(files.length > 100, `read ${files.length} source files`);
  const broken: string[] = [];
  for (const file of files) {
    const from = layerOf(file)!.layer;
    t.ok(from in ALLOWED || FOUNDATION.includes(from), `${path.relative(ROOT, file)}: its layer ${from} has a row`);
    for (const m of fs.readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = path.resolve(path.dirname(file), m[1]);
      const to = layerOf(target);
      // Nothing outside src/ (the node reads package.json's version with fs, src/primary/version.ts).
      if (to === null) {
        broken.push(`${path.relative(ROOT, file)} imports ${m[1]}`);
        continue;
      }
      if (!allows(from, to)) broken.push(`${path.relative(ROOT, file)} (${from}) imports ${m[1]} (${to.layer})`);
    }
  }
  t.same(broken, [], 'imports outside the layer table');
});

t.test('docs/architecture.md lists each layer with the imports encoded here', async (t) => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const rows = new Map<string, string>();
  for (const line of doc.split('\n')) {
    const m = /^\| `src\/([a-z-]+)\/` \|.*\| ([^|]*) \|$/.exec(line);
    if (m !== null) rows.set(m[1], m[2].trim());
  }
  for (const [layer, row] of Object.entries(ALLOWED)) {
    if (layer === 'index') continue;
    t.ok(rows.has(layer), `the doc has a row for src/${layer}/`);
    const listed = (rows.get(layer) ?? '')
      .split(',')
      .map((s) => s.trim().replace(/\s*\(.*\)$/, ''))
      .filter((s) => s !== '' && s !== 'foundation');
    t.same([...listed].sort(), [...row].sort(), `src/${layer}/: the doc's imports match the test's`);
  }
  for (const layer of rows.keys()) t.ok(layer in ALLOWED, `the doc's row src/${layer}/ is encoded in the test`);
});

t.test('a forbidden import is caught', async (t) => {
  t.notOk(allows('shm', { layer: 'worker', rest: 'engine' }), 'shm may not import the worker');
  t.notOk(allows('primary', { layer: 'worker', rest: 'engine' }), 'the primary reaches the worker only for its thread messages');
  t.ok(allows('primary', { layer: 'worker', rest: 'thread-messages' }));
  t.notOk(allows('constants', { layer: 'config', rest: '' }), 'constants imports nothing above it');
});
