// Proves the client and CLI documentation stay complete and true: every exported SDK value, every
// connect() option, every Client method, every client-side error code and every shell command
// is named in docs/client.md or docs/cli.md, and the README's SDK snippet runs as written.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as sdk from '../../src/client';
import { resolveOptions } from '../../src/client/options';
import { COMMANDS } from '../../src/cli/shell-commands';
import { Status } from '../../src/errors';
import * as pkg from '../../src/index';
import type { Client } from '../../src/client';
import { startTestNode } from '../helpers/node';

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
  const methods = [...declarations.matchAll(/^ {4}([a-zA-Z]+)(?:<.*?>)?\(/gm)].map((m) => m[1]).filter((m) => m !== 'constructor');
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

t.test("README's SDK snippet runs as written against a real node", async (t) => {
  const readme = findDocs('../README.md');
  const snippet = /## Using it\n\n```ts\n([\s\S]*?)```/.exec(readme);
  if (snippet === null) throw new Error("README.md has no ```ts block under '## Using it'");
  const { node } = await startTestNode(t);
  // The one import becomes a destructuring of the SDK, and the documented address this node's.
  const body = snippet[1].replace(/^import (\{[^}]*\}) from 'aerie-kv';$/m, 'const $1 = sdk;').replace("'127.0.0.1:3000'", `'127.0.0.1:${node.address.port}'`);
  t.notMatch(body, /^import /m, 'every import is rewritten');
  // The package's entry point, as `from 'aerie'` resolves it; clients the snippet opens are closed
  // even when it throws, so a failure cannot hold the node open.
  const opened: Client[] = [];
  const entry = {
    ...pkg,
    connect: async (options: Parameters<typeof pkg.connect>[0]) => {
      const client = await pkg.connect(options);
      opened.push(client);
      return client;
    },
  };
  t.teardown(() => Promise.all(opened.map((c) => c.close())));
  const logged: unknown[] = [];
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<void>;
  await new AsyncFunction('sdk', 'console', body)(entry, { log: (...values: unknown[]) => logged.push(values) });
  t.equal(logged.length, 1, 'the scan printed the one record');
});
