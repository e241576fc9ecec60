// Proves the versions the SDK sends in HELLO and the node reports are the package's version.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_VERSION } from '../../src/client/version';
import { NODE_VERSION } from '../../src/primary/version';

t.test('CLIENT_VERSION and NODE_VERSION match package.json', async (t) => {
  // Compiled tests run from dist/test/client, sources from test/client: find package.json upwards.
  let dir = __dirname;
  for (let depth = 0; depth < 5 && !safeRead(join(dir, 'package.json')); depth++) dir = join(dir, '..');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
  t.equal(pkg.name, 'aerie-kv');
  t.equal(CLIENT_VERSION, pkg.version);
  t.equal(NODE_VERSION, pkg.version, "the node reads its manifest's version at start-up");
});

function safeRead(path: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: string };
    return pkg.name === 'aerie-kv';
  } catch {
    return false;
  }
}
