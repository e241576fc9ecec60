// Proves the SDK's user and password options log in, that the SDK renews its session token
// before it expires so a reconnect long after the first token's expiry logs in by token (not by
// password), and that the token never shows in client.server.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect, roles, Status, users, type Client } from '../../src/client';
import { startNode } from '../../src/primary/node';
import { waitFor } from '../helpers/wait';
import { testNodeConfig } from '../helpers/node';

const ADMIN_PASSWORD = 'sdk-admin-pass-6611';
const TOKEN_TTL_MS = 2000;

t.test('SDK login, token renewal and the security calls', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-sec-sdk-'));
  writeFileSync(path.join(dir, 'admin.pw'), ADMIN_PASSWORD);
  const config = testNodeConfig((c) => {
    c.security = { ...c.security, enabled: true, adminPasswordFile: path.join(dir, 'admin.pw'), dataDir: path.join(dir, 'sec'), tokenTtlMs: TOKEN_TTL_MS };
  });
  const node = await startNode(config);
  t.teardown(() => node.close());
  const hosts = `127.0.0.1:${node.address.port}`;

  await t.rejects(connect({ hosts, reconnect: false }), { code: Status.NOT_AUTHENTICATED }, 'no user: refused at connect');
  await t.rejects(connect({ hosts, user: 'admin', password: 'not-the-password', reconnect: false }), { code: Status.INVALID_CREDENTIAL });
  const admin: Client = await connect({ hosts, user: 'admin', password: ADMIN_PASSWORD });
  t.teardown(() => admin.close());
  t.equal(admin.server.token, undefined, 'the token is not in client.server');
  t.equal(admin.server.node, 'aerie');

  await roles.create(admin, 'ns-reader', ['read:test']);
  await users.create(admin, 'erin', 'erin-pass-4412', ['ns-reader']);
  t.same(
    (await users.list(admin)).find((u) => u.user === 'erin'),
    { user: 'erin', roles: ['ns-reader'] },
  );
  t.ok((await roles.list(admin)).some((r) => r.role === 'ns-reader' && r.privileges[0] === 'read:test' && !r.predefined));
  await users.grant(admin, 'erin', ['write']);
  await users.revoke(admin, 'erin', ['write']);
  await t.rejects(users.create(admin, 'erin', 'erin-pass-4412'), { code: Status.USER_ALREADY_EXISTS });
  await users.drop(admin, 'erin');
  await roles.drop(admin, 'ns-reader');

  const security = async () => (await admin.info()).security as { loginsByPassword: number; loginsByToken: number };
  const before = await security();
  const firstExpiry = Date.now() + TOKEN_TTL_MS;
  await waitFor(() => Date.now() > firstExpiry + 200, { what: 'the first token to expire', timeoutMs: TOKEN_TTL_MS * 3 });
  // Drop the socket from the client's side; it reconnects with its (renewed) token.
  const reconnected = new Promise((resolve) => admin.once('connected', resolve));
  (admin as unknown as { connection: { terminate(why: string): void } }).connection.terminate('test drops the connection');
  await reconnected;
  const after = await security();
  t.equal(after.loginsByToken - before.loginsByToken, 1, 'the reconnect logged in by token, renewed before the first expired');
  t.equal(after.loginsByPassword, before.loginsByPassword, 'without sending the password again');
});
