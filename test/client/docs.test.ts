// Proves the client and CLI documentation stay complete: every exported SDK value, every
// connect() option, every Client method, every client-side error code and every shell command
// is named in docs/client.md or docs/cli.md.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as sdk from '../../src/client';
import { resolveOptions } from '../../src/client/options';
import { COMMANDS } from '../../src/cli/shell-commands';
import { Status } from '../../src/errors';

function findDocs(name: string): string {
  // Compiled tests run from dist/test/client, sources from test/client.
  for (const up of ['../..', '../../..']) {
    try {
      return readFileSync(join(__dirname, up, 'docs', name), 'utf8');
    } catch {
      // try the next candidate
    }
  }
  throw new Error(`docs/${name} not found`);
}

const clientDoc = findDocs('client.md');
const cliDoc = findDocs('cli.md');

t.test('client.md names every export, option, method and client-side code', async (t) => {
  for (const name of Object.keys(sdk)) t.match(clientDoc, `\`${name}\``, `export ${name}`);
  for (const option of Object.keys(resolveOptions({ hosts: 'h:1' }))) t.match(clientDoc, `\`${option}\``, `option ${option}`);
  for (const option of ['user', 'password']) t.match(clientDoc, `\`${option}\``, `option ${option}`);
  // Public methods are read from the compiled declarations, where private members are marked.
  const declarations = readFileSync(join(__dirname, '..', '..', 'src', 'client', 'client.d.ts'), 'utf8');
  const methods = [...declarations.matchAll(/^ {4}([a-zA-Z]+)(?:<[^>]*>)?\(/gm)].map((m) => m[1]).filter((m) => m !== 'constructor');
  t.ok(methods.includes('put') && methods.includes('close'), 'declarations found');
  for (const method of methods) t.match(clientDoc, `\`${method}(`, `method ${method}`);
  for (const [name, code] of Object.entries(Status)) {
    if (code < 0) t.match(clientDoc, new RegExp(`\\| ${code} \\| ${name} \\|`), `client code ${name}`);
  }
});

t.test('cli.md names every shell command', async (t) => {
  for (const command of Object.values(COMMANDS)) t.match(cliDoc, `\`${command.usage}\``, command.usage);
  for (const command of ['start', 'info', 'shell']) t.match(cliDoc, `## aerie ${command}`);
});
