// Proves protected mode: without security a non-loopback bind is refused at start with a message
// naming the way out, loopback binds and explicit choices start, and a node with security but no
// first admin password refuses to start (there is no default password).
import t from 'tap';
import { PassThrough, Readable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isLoopbackHost, parseConfig } from '../../src/config';
import { type AerieError, Status } from '../../src/errors';
import { main } from '../../src/cli/main';
import type { Io } from '../../src/cli/args';

function refusal(raw: unknown): AerieError | null {
  try {
    parseConfig(raw);
    return null;
  } catch (err) {
    return err as AerieError;
  }
}

function capture(): { io: Io; err: () => string } {
  let err = '';
  const stderr = new PassThrough();
  stderr.on('data', (d) => (err += d));
  return { io: { stdout: new PassThrough(), stderr, stdin: Readable.from([]) }, err: () => err };
}

t.test('loopback names', async (t) => {
  for (const h of ['127.0.0.1', '127.9.9.9', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) t.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', 'localhost.example.com', '127.0.0.1.evil']) t.notOk(isLoopbackHost(h), h);
});

t.test('the config refuses a non-loopback bind without security, and names the settings', async (t) => {
  const e = refusal({ service: { host: '0.0.0.0' } });
  t.equal(e?.code, Status.PARAMETER);
  t.match(e?.message, /service\.host.*security\.enabled.*security\.allowUnauthenticated/);
  t.equal(refusal({ service: { host: '0.0.0.0' }, security: { allowUnauthenticated: true } }), null, 'open on purpose');
  t.equal(refusal({ service: { host: '0.0.0.0' }, security: { enabled: true } }), null, 'with security');
  t.equal(refusal({}), null, 'the default (loopback) starts as before');
  t.equal(refusal({ security: { enabled: 'yes' } })?.code, Status.PARAMETER);
  t.equal(refusal({ security: { tokenTtlMs: 10 } })?.code, Status.PARAMETER);
  t.equal(refusal({ service: { allowedOrigins: 'http://x' } })?.code, Status.PARAMETER);
  t.same(parseConfig({ service: { allowedOrigins: ['HTTP://App.Example'] } }).service.allowedOrigins, ['http://app.example']);
});

t.test('aerie start refuses the bind before listening, with the message', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-protected-'));
  const config = path.join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ service: { host: '0.0.0.0', port: 0 }, workers: { count: 2 }, namespaces: [{ name: 'test' }] }));
  const c = capture();
  t.equal(await main(['start', '--config', config], c.io), 1);
  t.match(c.err(), /could not start.*not a loopback address and security is off/);
});

t.test('security without a first admin password does not start', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-noadmin-'));
  const config = path.join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ service: { port: 0 }, workers: { count: 2 }, namespaces: [{ name: 'test' }], security: { enabled: true, dataDir: path.join(dir, 'sec') } }));
  const saved = process.env.AERIE_ADMIN_PASSWORD;
  delete process.env.AERIE_ADMIN_PASSWORD;
  t.teardown(() => {
    if (saved !== undefined) process.env.AERIE_ADMIN_PASSWORD = saved;
  });
  const c = capture();
  t.equal(await main(['start', '--config', config], c.io), 1);
  t.match(c.err(), /AERIE_ADMIN_PASSWORD or security\.adminPasswordFile/);
});
