// Proves the version sent in HELLO is the package's version.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_VERSION } from '../../src/client/version';

t.test('CLIENT_VERSION matches package.json', async (t) => {
  // Compiled tests run from dist/test/client, sources from test/client: find package.json upwards.
  let dir = __dirname;
  for (let depth = 0; depth < 5 && !safeRead(join(dir, 'package.json')); depth++) dir = join(dir, '..');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string };
  t.equal(pkg.name, 'aerie-kv');
  t.equal(CLIENT_VERSION, pkg.version);
});

function safeRead(path: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: string };
    return pkg.name === 'aerie-kv';
  } catch {
    return false;
  }
}
