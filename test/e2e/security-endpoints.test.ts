// Proves worker endpoints check logins with security on: they listen and HELLO's map names them;
// a request there without a login is answered NOT_AUTHENTICATED (80); a password or a token from
// the front logs in there (the token with no password hash); each role is held to its ops there
// (ROLE_VIOLATION, 81), a role change reaches an open worker-endpoint connection, a wrong password
// there is throttled and audited as that endpoint's, and USER / ROLE / TOKEN work there too.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Status } from '../../src/errors';
import { Op } from '../../src/protocol/ops';
import { ADMIN_PASSWORD, ask, login, startSecureNode, USER_PASSWORD } from '../helpers/security';
import type { RawPeer } from '../helpers/raw';
import { waitFor } from '../helpers/wait';

t.test('worker endpoints log in and authorize like the front', async (t) => {
  const { url, auditFile } = await startSecureNode(t);
  const peers: RawPeer[] = [];
  t.teardown(() => {
    for (const p of peers) p.ws.terminate();
  });
  const open = async (where: string, fields: Record<string, unknown>) => {
    const l = await login(where, fields);
    peers.push(l.peer);
    return l;
  };
  const admin = await open(url, { user: 'admin', password: ADMIN_PASSWORD });
  t.equal(admin.code, Status.OK);
  const endpoints = (admin.body.map as { endpoints: (string | null)[] }).endpoints;
  t.ok(endpoints.length === 2 && endpoints.every((e) => e !== null), 'HELLO names both worker endpoints');
  const worker0 = `ws://${endpoints[0]}`;
  const info = async () => (await ask(admin.peer, Op.INFO, null)).body as { security: Record<string, number> };

  await t.test('without a login: NOT_AUTHENTICATED', async (t) => {
    const none = await open(worker0, {});
    t.equal(none.code, Status.NOT_AUTHENTICATED, 'HELLO without credentials');
    t.equal((await ask(none.peer, Op.GET, { ns: 'test', key: 'k' })).code, Status.NOT_AUTHENTICATED, 'a GET after it');
    t.equal((await ask(none.peer, Op.PUT, { ns: 'test', key: 'k', bins: { a: 1 } })).code, Status.NOT_AUTHENTICATED, 'a PUT after it');
    const forged = await open(worker0, { token: 'eyJ1IjoiYWRtaW4ifQ.AAAA' });
    t.equal(forged.code, Status.INVALID_CREDENTIAL, 'a forged token');
  });

  await t.test("the front's token logs in without the password; the password works too", async (t) => {
    const before = (await info()).security;
    const byToken = await open(worker0, { token: admin.body.token });
    t.equal(byToken.code, Status.OK, 'token login');
    t.equal(typeof byToken.body.token, 'string', 'answers a token of its own');
    const after = (await info()).security;
    t.equal(after.loginsByToken - before.loginsByToken, 1, 'counted as a token login (no hash)');
    t.equal(after.loginsByPassword, before.loginsByPassword, 'no password login');
    t.equal((await ask(byToken.peer, Op.USER, { action: 'list' })).code, Status.OK, 'USER list runs (on the primary)');
    const renewed = await ask(byToken.peer, Op.TOKEN, null);
    t.equal(renewed.code, Status.OK, 'TOKEN there');
    t.equal(typeof (renewed.body as { token?: unknown }).token, 'string');
    const byPassword = await open(`ws://${endpoints[1]}`, { user: 'admin', password: ADMIN_PASSWORD });
    t.equal(byPassword.code, Status.OK, 'password login on the other endpoint');
  });

  await t.test('role × op spot checks on a worker endpoint', async (t) => {
    const cases: [string, keyof typeof Op, unknown, boolean][] = [
      ['read', 'GET', { ns: 'test', set: 'w', key: 'k' }, true],
      ['read', 'BATCH_GET', { keys: [{ ns: 'test', set: 'w', key: 'k' }] }, true],
      ['read', 'PUT', { ns: 'test', set: 'w', key: 'k', bins: { a: 1 } }, false],
      ['read', 'TRUNCATE', { ns: 'test', set: 'w-none' }, false],
      ['read', 'USER', { action: 'list' }, false],
      ['write', 'PUT', { ns: 'test', set: 'w', key: 'k', bins: { a: 1 } }, true],
      ['write', 'GET', { ns: 'test', set: 'w', key: 'k' }, false],
      ['write', 'OPERATE', { ns: 'test', set: 'w', key: 'k', ops: [[1, 'a']] }, false],
      ['read-write', 'OPERATE', { ns: 'test', set: 'w', key: 'k', ops: [[1, 'a']] }, true],
      ['read-write', 'SNAPSHOT', { action: 'list', ns: 'test' }, false],
      ['truncate', 'TRUNCATE', { ns: 'test', set: 'w-none' }, true],
      ['sys-admin', 'WORKER_RESTART', { worker: 99 }, true],
      ['sys-admin', 'SCAN', { ns: 'test' }, false],
      ['user-admin', 'ROLE', { action: 'list' }, true],
    ];
    const users = new Map<string, RawPeer>();
    for (const [role, name, body, allowed] of cases) {
      if (!users.has(role)) {
        t.equal((await ask(admin.peer, Op.USER, { action: 'create', user: `w-${role}`, password: USER_PASSWORD, roles: [role] })).code, Status.OK);
        // Log in at the front once (the hash), then on the worker endpoint by token.
        const front = await open(url, { user: `w-${role}`, password: USER_PASSWORD });
        const there = await open(worker0, { token: front.body.token });
        t.equal(there.code, Status.OK, `${role}: token login on worker 0`);
        users.set(role, there.peer);
      }
      const { code } = await ask(users.get(role)!, Op[name], body);
      if (allowed) t.ok(code !== Status.ROLE_VIOLATION && code !== Status.NOT_AUTHENTICATED, `${role} × ${name}: allowed (${code})`);
      else t.equal(code, Status.ROLE_VIOLATION, `${role} × ${name}: refused`);
    }
    const reader = users.get('read')!;
    const put = { ns: 'test', set: 'w', key: 'g', bins: { a: 2 } };
    t.equal((await ask(admin.peer, Op.USER, { action: 'grant', user: 'w-read', roles: ['write'] })).code, Status.OK);
    t.equal((await ask(reader, Op.PUT, put)).code, Status.OK, 'a grant reaches the open worker-endpoint connection');
    t.equal((await ask(admin.peer, Op.USER, { action: 'revoke', user: 'w-read', roles: ['write'] })).code, Status.OK);
    t.equal((await ask(reader, Op.PUT, put)).code, Status.ROLE_VIOLATION, 'a revoke too');
    t.equal((await ask(admin.peer, Op.USER, { action: 'drop', user: 'w-read' })).code, Status.OK);
    t.equal((await ask(reader, Op.GET, put)).code, Status.NOT_AUTHENTICATED, 'a dropped user is logged out there');
  });

  await t.test('an allow-list change logs an open worker-endpoint connection out', async (t) => {
    t.equal((await ask(admin.peer, Op.ROLE, { action: 'create', role: 'local-reader', privileges: ['read'], allowlist: ['127.0.0.0/8'] })).code, Status.OK);
    t.equal((await ask(admin.peer, Op.USER, { action: 'create', user: 'local', password: USER_PASSWORD, roles: ['local-reader'] })).code, Status.OK);
    const local = await open(worker0, { user: 'local', password: USER_PASSWORD });
    t.equal(local.code, Status.OK);
    t.equal((await ask(local.peer, Op.GET, { ns: 'test', key: 'k' })).code, Status.KEY_NOT_FOUND);
    t.equal((await ask(admin.peer, Op.ROLE, { action: 'allowlist', role: 'local-reader', allowlist: ['10.0.0.0/8'] })).code, Status.OK);
    t.equal((await ask(local.peer, Op.GET, { ns: 'test', key: 'k' })).code, Status.NOT_WHITELISTED, 'its next request');
    t.equal((await ask(local.peer, Op.GET, { ns: 'test', key: 'k' })).code, Status.NOT_AUTHENTICATED, 'then logged out');
    t.equal((await open(worker0, { token: local.body.token })).code, Status.NOT_WHITELISTED, 'its token no longer logs in');
  });

  await t.test('a wrong password there is slowed down and audited as that endpoint', async (t) => {
    const before = (await info()).security;
    const wrong = await open(worker0, { user: 'admin', password: 'wrong-password-0' });
    t.equal(wrong.code, Status.INVALID_CREDENTIAL);
    t.equal((await info()).security.loginFailures - before.loginFailures, 1, 'counted by the one throttle');
    const lines = await waitFor(
      () => {
        const all = readFileSync(auditFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        return all.some((l) => l.endpoint === 'worker 0' && l.action === 'login' && l.result === Status.INVALID_CREDENTIAL) ? all : null;
      },
      { what: "the failed login's audit line from worker 0" },
    );
    t.ok(
      lines.some((l) => l.endpoint === 'worker 0' && l.action === 'truncate' && l.user === 'w-truncate' && l.result === Status.OK),
      'a truncate sent there is audited',
    );
    const text = readFileSync(auditFile, 'utf8');
    for (const secret of [ADMIN_PASSWORD, USER_PASSWORD, 'wrong-password-0', admin.body.token as string]) t.notOk(text.includes(secret), 'no secret in the trail');
  });
});
