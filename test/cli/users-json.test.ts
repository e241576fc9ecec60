// Proves `aerie user` and `aerie role` with --json, run as the real command against a real node
// with security: the login comes from AERIE_USER and AERIE_PASSWORD, each answer is one JSON
// document, and a refused command is a JSON error with its result code and exit 1.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ExitCode } from '../../src/cli/args';
import { Status } from '../../src/errors';
import { startNode } from '../../src/primary/node';
import { testNodeConfig } from '../helpers/node';
import { runCli } from '../helpers/run-cli';

t.test('user and role --json, logged in through AERIE_USER', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-users-json-'));
  writeFileSync(path.join(dir, 'admin-password'), 'admin-secret-11235\n');
  const node = await startNode(
    testNodeConfig((c) => {
      c.security = { ...c.security, enabled: true, adminPasswordFile: path.join(dir, 'admin-password'), dataDir: path.join(dir, 'security') };
    }),
  );
  t.teardown(() => node.close());
  const env = { AERIE_HOST: `127.0.0.1:${node.address.port}`, AERIE_USER: 'admin', AERIE_PASSWORD: 'admin-secret-11235', AERIE_NEW_PASSWORD: 'bob-secret-58132' };
  const json = async (args: string[], expected: number = ExitCode.OK) => {
    const run = await runCli([...args, '--json'], { env });
    t.equal(run.code, expected, `${args.join(' ')}: exit ${expected} (${run.stderr})`);
    return JSON.parse(run.stdout) as Record<string, unknown>;
  };
  t.same(await json(['user', 'create', 'bob', '--role', 'read']), { user: 'bob', created: true, roles: ['read'] });
  const list = (await json(['user', 'list'])) as { users: { user: string; roles: string[] }[] };
  t.same(list.users.map((u) => u.user).sort(), ['admin', 'bob']);
  t.same(await json(['user', 'grant', 'bob', '--role', 'truncate']), { user: 'bob', granted: ['truncate'] });
  t.same(await json(['role', 'create', 'demo-reader', '--privilege', 'read:test.demo']), {
    role: 'demo-reader',
    created: true,
    privileges: ['read:test.demo'],
    allowlist: [],
    readQuota: 0,
    writeQuota: 0,
  });
  const roles = (await json(['role', 'list'])) as { roles: { role: string }[] };
  t.ok(roles.roles.some((r) => r.role === 'demo-reader'));
  t.match(await json(['user', 'drop', 'nobody'], ExitCode.FAILURE), { error: { code: Status.INVALID_USER, name: 'INVALID_USER' } }, 'a refusal as a JSON error');
  const wrong = await runCli(['user', 'list', '--json'], { env: { ...env, AERIE_PASSWORD: 'wrong-password-1' } });
  t.equal(wrong.code, ExitCode.FAILURE);
  t.match(JSON.parse(wrong.stdout), { error: { code: Status.INVALID_CREDENTIAL } }, 'a failed login too');
});
