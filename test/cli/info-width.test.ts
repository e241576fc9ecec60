// Proves `aerie info`, run as the real command against a real node with a file and a memory
// namespace holding records, prints every line within 100 columns (a terminal's default width
// with room to spare), the file namespace's free space on a line of its own.
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key } from '../../src/client/index';
import { ExitCode } from '../../src/cli/args';
import { startTestNode } from '../helpers/node';
import { runCli } from '../helpers/run-cli';

const COLUMNS_MAX = 100;

t.test('aerie info fits 100 columns', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-info-width-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const { node, client } = await startTestNode(t, (c) => {
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = dir;
    c.namespaces.push({ ...c.namespaces[0], name: 'cache', storage: 'memory' });
  });
  for (let i = 0; i < 2000; i++) await client.put(new Key(i % 2 === 0 ? 'test' : 'cache', 'w', i), { i });
  const run = await runCli(['info', '--host', `127.0.0.1:${node.address.port}`]);
  t.equal(run.code, ExitCode.OK, run.stderr);
  const lines = run.stdout.split('\n');
  t.same(
    lines.filter((l) => l.length > COLUMNS_MAX),
    [],
    `every line within ${COLUMNS_MAX} columns`,
  );
  t.match(run.stdout, /^namespace test: [\d.]+ [KMGT]iB free on its log device$/m);
  t.match(run.stdout, /^worker requests$/m, "the workers' requests in a table of their own");
});
