// Proves a node with security enabled refuses the cross-origin and DNS-rebinding upgrades (403),
// answers logins with the exact codes, enforces every role on every op over the wire, applies
// role changes to open connections, slows wrong passwords, expires tokens, and never writes a
// password or a token to its log.
import t from 'tap';
import WebSocket from 'ws';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Status } from '../../src/errors';
import { Op } from '../../src/protocol/ops';
import { startNode, type AerieNode } from '../../src/primary/node';
import { rawPeer, type RawPeer } from '../helpers/raw';
import { waitFor } from '../helpers/wait';
import { testNodeConfig } from '../helpers/node';

const ADMIN_PASSWORD = 'admin-secret-31415';
const USER_PASSWORD = 'user-secret-27182';
const TOKEN_TTL_MS = 3000;

/** Every line the node logs in this file, to be searched for secrets at the end: its log files and the console. */
const logged: string[] = [];
const logFiles: string[] = [];
const allLogLines = (): string[] => [...logged, ...logFiles.flatMap((f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n') : []))];
const original = { log: console.log, error: console.error, warn: console.warn };
for (const k of ['log', 'error', 'warn'] as const) {
  console[k] = (...args: unknown[]) => {
    logged.push(args.map(String).join(' '));
    original[k](...args);
  };
}
const secrets = new Set<string>([ADMIN_PASSWORD, USER_PASSWORD]);

async function startSecureNode(): Promise<{ node: AerieNode; url: string; auditFile: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-security-'));
  writeFileSync(path.join(dir, 'admin-password'), `${ADMIN_PASSWORD}\n`);
  const config = testNodeConfig((c) => {
    c.log.level = 'info';
    c.security = {
      ...c.security,
      enabled: true,
      adminPasswordFile: path.join(dir, 'admin-password'),
      dataDir: path.join(dir, 'security'),
      tokenTtlMs: TOKEN_TTL_MS,
      auditFile: path.join(dir, 'audit.jsonl'),
    };
  });
  if (config.log.file !== null) logFiles.push(config.log.file);
  const node = await startNode(config);
  return { node, url: `ws://127.0.0.1:${node.address.port}`, auditFile: config.security.auditFile! };
}

/** HELLO with `fields`; resolves with the peer and HELLO's [id, code, body]. */
async function login(url: string, fields: Record<string, unknown>): Promise<{ peer: RawPeer; code: number; body: Record<string, unknown> }> {
  const peer = await rawPeer(url, false);
  peer.request(0, Op.HELLO, { protocol: 1, ...fields });
  const [, code, body] = await peer.waitFor(0, 20_000);
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.token === 'string') secrets.add(b.token);
  return { peer, code: code as number, body: b };
}

let nextId = 1;
async function ask(peer: RawPeer, op: number, body: unknown): Promise<{ code: number; body: unknown }> {
  const id = nextId++;
  peer.request(id, op, body);
  const [, code, answer] = await peer.waitFor(id, 20_000);
  return { code: code as number, body: answer };
}

/** The HTTP status an upgrade with these options gets (101 when it opens). */
function upgradeStatus(url: string, options: WebSocket.ClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

t.test('security end to end', async (t) => {
  const { node, url, auditFile } = await startSecureNode();
  const peers: RawPeer[] = [];
  t.teardown(async () => {
    for (const p of peers) p.ws.terminate();
    await node.close();
  });
  const admin = await login(url, { user: 'admin', password: ADMIN_PASSWORD });
  peers.push(admin.peer);
  t.equal(admin.code, Status.OK, 'the first admin logs in with the password from the file');
  const info = async () => (await ask(admin.peer, Op.INFO, null)).body as { security: Record<string, number> };

  await t.test('the cross-origin attack and DNS rebinding are refused with 403 before any frame', async (t) => {
    t.equal(await upgradeStatus(url, { origin: 'http://evil.example' }), 403, 'Origin: http://evil.example');
    t.equal(await upgradeStatus(url, { headers: { host: 'evil.example' } }), 403, 'Host: evil.example on a loopback bind');
    t.equal(await upgradeStatus(url, { headers: { host: `localhost:${node.address.port}` } }), 101, 'a loopback Host');
    t.equal((await info()).security.upgradesRefused, 2);
  });

  await t.test('worker endpoints listen with security on (test/e2e/security-endpoints.test.ts checks their logins)', async (t) => {
    const map = admin.body.map as { endpoints: (string | null)[] };
    t.ok(map.endpoints.length > 0 && map.endpoints.every((e) => e !== null), 'HELLO lists every worker endpoint');
  });

  await t.test('logins answer the exact codes', async (t) => {
    const cases: [string, Record<string, unknown>, number][] = [
      ['no credentials', {}, Status.NOT_AUTHENTICATED],
      ['unknown user', { user: 'mallory', password: 'wrong-password' }, Status.INVALID_USER],
      ['wrong password', { user: 'admin', password: 'wrong-password' }, Status.INVALID_CREDENTIAL],
      ['forged token', { token: 'eyJ1IjoiYWRtaW4ifQ.AAAA' }, Status.INVALID_CREDENTIAL],
      ['password and token', { user: 'admin', password: ADMIN_PASSWORD, token: 'x' }, Status.PARAMETER],
    ];
    for (const [what, fields, code] of cases) {
      const r = await login(url, fields);
      peers.push(r.peer);
      t.equal(r.code, code, what);
      t.equal((await ask(r.peer, Op.GET, { ns: 'test', key: 'k' })).code, Status.NOT_AUTHENTICATED, `${what}: not logged in`);
    }
    t.equal(admin.body.token !== undefined && typeof admin.body.tokenExpiresAtMs, 'number', 'a login returns a token and its expiry');
    const byToken = await login(url, { token: admin.body.token });
    peers.push(byToken.peer);
    t.equal(byToken.code, Status.OK, 'the token logs in on another connection');
    t.equal((await ask(byToken.peer, Op.USER, { action: 'list' })).code, Status.OK, 'as the same user');
  });

  await t.test('wrong passwords slow the address down, a right one clears it', async (t) => {
    const before = (await info()).security;
    for (let i = 0; i < 3; i++) {
      const r = await login(url, { user: 'admin', password: `wrong-${i}-password` });
      peers.push(r.peer);
      t.equal(r.code, Status.INVALID_CREDENTIAL);
    }
    const after = (await info()).security;
    t.equal(after.loginFailures - before.loginFailures, 3, 'each failure counted');
    t.equal(after.throttledAddresses, 1, 'one address slowed');
    t.ok(after.loginDelayMsMax > 0, `its next login is held (${after.loginDelayMsMax} ms)`);
    const ok = await login(url, { user: 'admin', password: ADMIN_PASSWORD });
    peers.push(ok.peer);
    t.equal(ok.code, Status.OK, 'the right password still logs in, after the hold');
    t.equal((await info()).security.throttledAddresses, 0, 'and clears the address');
  });

  await t.test('every predefined role × every op over the wire', async (t) => {
    // Allowed ops must not answer 80 or 81 (they may fail for their own reasons); refused ones answer 81.
    const requests: [keyof typeof Op, unknown][] = [
      ['PING', null],
      ['INFO', null],
      ['TOKEN', null],
      ['GET', { ns: 'test', set: 'm', key: 'k' }],
      ['EXISTS', { ns: 'test', set: 'm', key: 'k' }],
      ['BATCH_GET', { keys: [{ ns: 'test', set: 'm', key: 'k' }] }],
      ['BATCH_EXISTS', { keys: [{ ns: 'test', set: 'm', key: 'k' }] }],
      ['SCAN', { ns: 'test', set: 'm' }],
      ['PUT', { ns: 'test', set: 'm', key: 'k', bins: { a: 1 } }],
      ['TOUCH', { ns: 'test', set: 'm', key: 'k' }],
      ['OPERATE', { ns: 'test', set: 'm', key: 'k', ops: [[1, 'a']] }],
      ['REMOVE', { ns: 'test', set: 'm', key: 'k' }],
      ['TRUNCATE', { ns: 'test', set: 'm-empty' }],
      ['SNAPSHOT', { action: 'list', ns: 'test' }],
      ['VERIFY', { ns: 'test' }],
      ['FAULT', { worker: 0, kind: 'crash' }],
      ['WORKER_RESTART', { worker: 99 }],
      ['USER', { action: 'list' }],
      ['ROLE', { action: 'list' }],
    ];
    const allowed: Record<string, string[]> = {
      read: ['GET', 'EXISTS', 'BATCH_GET', 'BATCH_EXISTS', 'SCAN'],
      write: ['PUT', 'TOUCH', 'REMOVE'],
      'read-write': ['GET', 'EXISTS', 'BATCH_GET', 'BATCH_EXISTS', 'SCAN', 'PUT', 'TOUCH', 'OPERATE', 'REMOVE'],
      truncate: ['TRUNCATE'],
      'data-admin': ['GET', 'EXISTS', 'BATCH_GET', 'BATCH_EXISTS', 'SCAN', 'PUT', 'TOUCH', 'OPERATE', 'REMOVE', 'TRUNCATE', 'SNAPSHOT'],
      'sys-admin': ['VERIFY', 'FAULT', 'WORKER_RESTART'],
      'user-admin': ['USER', 'ROLE'],
    };
    for (const [role, ops] of Object.entries(allowed)) {
      t.equal((await ask(admin.peer, Op.USER, { action: 'create', user: `u-${role}`, password: USER_PASSWORD, roles: [role] })).code, Status.OK, `create a ${role} user`);
      const u = await login(url, { user: `u-${role}`, password: USER_PASSWORD });
      peers.push(u.peer);
      t.equal(u.code, Status.OK);
      for (const [name, body] of requests) {
        const { code } = await ask(u.peer, Op[name], body);
        const expectAllowed = ['PING', 'INFO', 'TOKEN'].includes(name) || ops.includes(name);
        if (expectAllowed) t.ok(code !== Status.ROLE_VIOLATION && code !== Status.NOT_AUTHENTICATED, `${role} × ${name}: allowed (${code})`);
        else t.equal(code, Status.ROLE_VIOLATION, `${role} × ${name}: refused`);
      }
    }
  });

  await t.test('scoped roles, and role changes reach open connections', async (t) => {
    t.equal((await ask(admin.peer, Op.ROLE, { action: 'create', role: 'demo-rw', privileges: ['read-write:test.demo'] })).code, Status.OK);
    t.equal((await ask(admin.peer, Op.ROLE, { action: 'create', role: 'demo-rw', privileges: ['read'] })).code, Status.ROLE_ALREADY_EXISTS);
    t.equal((await ask(admin.peer, Op.ROLE, { action: 'create', role: 'bad', privileges: ['sys-admin:test'] })).code, Status.INVALID_PRIVILEGE);
    t.equal((await ask(admin.peer, Op.USER, { action: 'create', user: 'dana', password: USER_PASSWORD, roles: ['nope'] })).code, Status.INVALID_ROLE);
    t.equal((await ask(admin.peer, Op.USER, { action: 'create', user: 'dana', password: 'short', roles: [] })).code, Status.INVALID_PASSWORD);
    t.equal((await ask(admin.peer, Op.USER, { action: 'create', user: 'dana', password: USER_PASSWORD, roles: [] })).code, Status.OK);
    t.equal((await ask(admin.peer, Op.USER, { action: 'create', user: 'dana', password: USER_PASSWORD, roles: [] })).code, Status.USER_ALREADY_EXISTS);
    const dana = await login(url, { user: 'dana', password: USER_PASSWORD });
    peers.push(dana.peer);
    const demo = { ns: 'test', set: 'demo', key: 'k', bins: { a: 1 } };
    t.equal((await ask(dana.peer, Op.PUT, demo)).code, Status.ROLE_VIOLATION, 'no roles yet');
    t.equal((await ask(admin.peer, Op.USER, { action: 'grant', user: 'dana', roles: ['demo-rw'] })).code, Status.OK);
    t.equal((await ask(dana.peer, Op.PUT, demo)).code, Status.OK, 'the grant reaches the open connection');
    t.equal((await ask(dana.peer, Op.GET, { ns: 'test', set: 'demo', key: 'k' })).code, Status.OK);
    t.equal((await ask(dana.peer, Op.GET, { ns: 'test', set: 'other', key: 'k' })).code, Status.ROLE_VIOLATION, 'another set');
    t.equal((await ask(dana.peer, Op.SCAN, { ns: 'test' })).code, Status.ROLE_VIOLATION, 'the whole namespace');
    t.equal(
      (
        await ask(dana.peer, Op.BATCH_GET, {
          keys: [
            { ns: 'test', set: 'demo', key: 'k' },
            { ns: 'test', set: 'other', key: 'k' },
          ],
        })
      ).code,
      Status.ROLE_VIOLATION,
      'a batch reaching outside',
    );
    t.equal((await ask(dana.peer, Op.USER, { action: 'passwd', user: 'dana', password: `${USER_PASSWORD}-2` })).code, Status.OK, 'a user changes their own password');
    secrets.add(`${USER_PASSWORD}-2`);
    t.equal((await ask(dana.peer, Op.USER, { action: 'passwd', user: 'admin', password: USER_PASSWORD })).code, Status.ROLE_VIOLATION, "but no one else's");
    t.equal((await login(url, { token: dana.body.token })).code, Status.INVALID_CREDENTIAL, 'a token from before the password change');
    t.equal((await ask(admin.peer, Op.ROLE, { action: 'drop', role: 'demo-rw' })).code, Status.OK);
    t.equal((await ask(dana.peer, Op.GET, { ns: 'test', set: 'demo', key: 'k' })).code, Status.ROLE_VIOLATION, 'a dropped role is gone from the open connection');
    t.equal((await ask(admin.peer, Op.USER, { action: 'drop', user: 'dana' })).code, Status.OK);
    t.equal((await ask(dana.peer, Op.PING, null)).code, Status.NOT_AUTHENTICATED, 'a dropped user must log in again');
    t.equal((await ask(admin.peer, Op.USER, { action: 'drop', user: 'dana' })).code, Status.INVALID_USER);
    t.equal((await ask(admin.peer, Op.USER, { action: 'rename', user: 'x' })).code, Status.INVALID_COMMAND);
    // Allow-lists: a role listing only another network keeps its holder out of 127.0.0.1.
    t.equal((await ask(admin.peer, Op.ROLE, { action: 'create', role: 'lan-reader', privileges: ['read'], allowlist: ['10.0.0.0/8'] })).code, Status.OK);
    t.equal((await ask(admin.peer, Op.ROLE, { action: 'create', role: 'bad-list', privileges: ['read'], allowlist: ['evil.example'] })).code, Status.INVALID_FIELD);
    t.equal((await ask(admin.peer, Op.USER, { action: 'create', user: 'lan', password: USER_PASSWORD, roles: ['lan-reader'] })).code, Status.OK);
    const outside = await login(url, { user: 'lan', password: USER_PASSWORD });
    peers.push(outside.peer);
    t.equal(outside.code, Status.NOT_WHITELISTED, 'a login from outside the allow-list');
    t.equal((await ask(admin.peer, Op.ROLE, { action: 'allowlist', role: 'lan-reader', allowlist: ['10.0.0.0/8', '127.0.0.0/8'] })).code, Status.OK);
    const inside = await login(url, { user: 'lan', password: USER_PASSWORD });
    peers.push(inside.peer);
    t.equal(inside.code, Status.OK, 'once the list names its address');
    const listed = (await ask(admin.peer, Op.ROLE, { action: 'list' })).body as { roles: { role: string; allowlist?: string[] }[] };
    t.same(listed.roles.find((r) => r.role === 'lan-reader')?.allowlist, ['10.0.0.0/8', '127.0.0.0/8']);
    t.equal((await ask(admin.peer, Op.ROLE, { action: 'allowlist', role: 'read', allowlist: [] })).code, Status.INVALID_ROLE, 'predefined roles take no list');
    t.equal((await ask(admin.peer, Op.USER, { action: 'list', colour: 1 })).code, Status.INVALID_FIELD);
  });

  await t.test('an expired token answers EXPIRED_SESSION', async (t) => {
    const expiresAtMs = admin.body.tokenExpiresAtMs as number;
    await waitFor(() => Date.now() > expiresAtMs, { what: 'the admin token to expire', timeoutMs: TOKEN_TTL_MS * 3 });
    const r = await login(url, { token: admin.body.token });
    peers.push(r.peer);
    t.equal(r.code, Status.EXPIRED_SESSION);
    t.equal((await ask(admin.peer, Op.PING, null)).code, Status.OK, 'the connection that logged in stays logged in');
    const fresh = await ask(admin.peer, Op.TOKEN, null);
    const body = fresh.body as { token: string; tokenExpiresAtMs: number };
    secrets.add(body.token);
    t.ok(body.tokenExpiresAtMs > Date.now(), 'TOKEN renews it without the password');
    const again = await login(url, { token: body.token });
    peers.push(again.peer);
    t.equal(again.code, Status.OK);
  });

  await t.test('the audit trail holds logins, user and role changes and admin actions, without secrets', async (t) => {
    const wanted: [string, string | null, string | null, number][] = [
      ['login', 'admin', null, Status.OK],
      ['login', 'mallory', null, Status.INVALID_USER],
      ['login', 'admin', null, Status.INVALID_CREDENTIAL],
      ['user create', 'admin', 'u-read', Status.OK],
      ['truncate', 'u-truncate', 'test.m-empty', Status.OK],
      ['snapshot list', 'u-data-admin', null, -1],
      ['fault', 'u-sys-admin', 'worker 0 crash', Status.FAIL_FORBIDDEN],
      ['worker restart', 'u-sys-admin', 'worker 99', Status.PARAMETER],
      ['role create', 'admin', 'demo-rw', Status.OK],
      ['user grant', 'admin', 'dana', Status.OK],
      ['user passwd', 'dana', 'dana', Status.OK],
      ['user passwd', 'dana', 'admin', Status.ROLE_VIOLATION],
      ['role drop', 'admin', 'demo-rw', Status.OK],
      ['user drop', 'admin', 'dana', Status.OK],
    ];
    const read = () =>
      readFileSync(auditFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const has = (lines: Record<string, unknown>[], [action, user, target, result]: (typeof wanted)[number]) =>
      lines.some((l) => l.action === action && l.user === user && (target === null || l.target === target) && l.result === result);
    const lines = await waitFor(
      () => {
        const all = read();
        return wanted.filter((w) => w[3] !== -1).every((w) => has(all, w)) ? all : null;
      },
      { what: 'every audited action in the file' },
    );
    for (const w of wanted) t.equal(has(lines, w), w[3] !== -1, `${w[0]} by ${w[1]} on ${w[2]}: ${w[3] === -1 ? 'not audited' : 'audited'}`);
    t.ok(
      lines.every((l) => typeof l.time === 'string' && typeof l.client === 'string' && l.endpoint === 'primary'),
      'time, client and endpoint on every line',
    );
    const text = readFileSync(auditFile, 'utf8');
    for (const secret of secrets) t.notOk(text.includes(secret), 'no secret in the audit trail');
  });

  await t.test('no password or token in any log line', async (t) => {
    const lines = allLogLines();
    t.ok(
      lines.some((l) => l.includes('login failed')),
      'failed logins are logged',
    );
    for (const line of lines) for (const secret of secrets) t.notOk(line.includes(secret), `a log line holds a secret: ${line.slice(0, 80)}`);
    t.ok(secrets.size >= 4, `searched for ${secrets.size} secrets in ${lines.length} lines`);
  });
});
