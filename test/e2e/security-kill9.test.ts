// Proves users and roles made with the CLI survive kill -9 of the node (a real child process):
// after the restart they log in with their passwords and keep their roles, the users file holds
// no password, and nothing the node or the CLI printed holds a password.
import t from 'tap';
import { PassThrough, Readable } from 'node:stream';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect, Key } from '../../src/client';
import { Status } from '../../src/errors';
import { main } from '../../src/cli/main';
import type { Io } from '../../src/cli/args';
import { startCliNode } from '../helpers/cli-node';

const ADMIN_PASSWORD = 'first-admin-pass-8841';
const CAROL_PASSWORD = 'carol-pass-5527';
const CAROL_PASSWORD_2 = 'carol-pass-9163';

function capture(): { io: Io; text: () => string } {
  let text = '';
  const out = new PassThrough();
  out.on('data', (d) => (text += d));
  return { io: { stdout: out, stderr: out, stdin: Readable.from([]) }, text: () => text };
}

t.test('users survive kill -9', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-sec-kill9-'));
  const adminFile = path.join(dir, 'admin.pw');
  const carolFile = path.join(dir, 'carol.pw');
  writeFileSync(adminFile, `${ADMIN_PASSWORD}\n`);
  writeFileSync(carolFile, CAROL_PASSWORD);
  const config = path.join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      service: { port: 0 },
      workers: { count: 2 },
      namespaces: [{ name: 'test', storage: 'memory' }],
      log: { level: 'info' },
      security: { enabled: true, dataDir: path.join(dir, 'security'), adminPasswordFile: adminFile },
    }),
  );
  let nodeOutput = '';
  const first = await startCliNode(config, { stderr: (s) => (nodeOutput += s) });
  first.child.stdout!.on('data', (d) => (nodeOutput += d));
  t.teardown(() => {
    first.child.kill('SIGKILL');
  });
  const cli: string[] = [];
  const run = async (...args: string[]) => {
    const c = capture();
    const code = await main([...args, '--host', first.host, '--user', 'admin', '--password-file', adminFile], c.io);
    cli.push(c.text());
    return { code, text: c.text() };
  };
  t.equal((await run('role', 'create', 'demo-writer', '--privilege', 'read-write:test.demo', '--allow', '127.0.0.0/8')).code, 0);
  t.equal((await run('user', 'create', 'carol', '--role', 'demo-writer', '--new-password-file', carolFile)).code, 0);
  writeFileSync(carolFile, CAROL_PASSWORD_2);
  t.equal((await run('user', 'passwd', 'carol', '--new-password-file', carolFile)).code, 0);
  const listed = await run('user', 'list');
  t.match(listed.text, /carol\tdemo-writer/);
  const refused = capture();
  t.equal(await main(['user', 'list', '--host', first.host], refused.io), 1, 'without --user the node refuses');
  t.match(refused.text(), /NOT_AUTHENTICATED/);

  first.child.kill('SIGKILL');
  await first.exited;
  const second = await startCliNode(config, { stderr: (s) => (nodeOutput += s) });
  second.child.stdout!.on('data', (d) => (nodeOutput += d));
  t.teardown(() => {
    second.child.kill('SIGKILL');
  });
  await t.rejects(connect({ hosts: second.host, user: 'carol', password: CAROL_PASSWORD, reconnect: false }), { code: Status.INVALID_CREDENTIAL }, 'the old password is gone');
  const carol = await connect({ hosts: second.host, user: 'carol', password: CAROL_PASSWORD_2, reconnect: false });
  t.teardown(() => carol.close());
  await carol.put(new Key('test', 'demo', 'k'), { a: 1 });
  t.same((await carol.get(new Key('test', 'demo', 'k'))).bins, { a: 1 }, 'carol kept her role');
  await t.rejects(carol.get(new Key('test', 'other', 'k')), { code: Status.ROLE_VIOLATION }, 'and only it');

  // The shell logs in too (password from AERIE_PASSWORD here), and keeps carol's scope.
  const shell = capture();
  shell.io.stdin = Readable.from(['get test demo k\n', 'get test other k\n']);
  process.env.AERIE_PASSWORD = CAROL_PASSWORD_2;
  try {
    t.equal(await main(['shell', '--host', second.host, '--user', 'carol'], shell.io), 1, 'one command refused');
  } finally {
    delete process.env.AERIE_PASSWORD;
  }
  cli.push(shell.text());
  t.match(shell.text(), /"a": ?1/, 'the shell read test.demo');
  t.match(shell.text(), /ROLE_VIOLATION/, 'and was refused test.other');

  const rolesAfter = capture();
  t.equal(await main(['role', 'list', '--host', second.host, '--user', 'admin', '--password-file', adminFile], rolesAfter.io), 0);
  t.match(rolesAfter.text(), /demo-writer\tread-write:test\.demo\tfrom 127\.0\.0\.0\/8/, 'the role kept its privileges and allow-list');

  const usersFile = readFileSync(path.join(dir, 'security', 'users.json'), 'utf8');
  for (const secret of [ADMIN_PASSWORD, CAROL_PASSWORD, CAROL_PASSWORD_2]) {
    t.notOk(usersFile.includes(secret), 'the users file holds hashes only');
    t.notOk(nodeOutput.includes(secret), 'the node never printed a password');
    t.notOk(
      cli.some((text) => text.includes(secret)),
      'the CLI never printed a password',
    );
  }
  t.match(usersFile, /"hash": "scrypt\$/);
  t.match(nodeOutput, /login failed for user \\?"carol/, 'the node output was captured (the old password refused)');
});
