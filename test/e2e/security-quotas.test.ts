// Proves per-user rate quotas hold across endpoints: one user's writes sent alternately through the
// front and a worker endpoint meet one write quota (QUOTA_EXCEEDED, 83, once the second's records
// are used, whichever connection sends), a batch is charged per key, the largest quota among the
// user's roles applies, reads and writes count apart, and a quota change reaches open connections.
import t from 'tap';
import { Status } from '../../src/errors';
import { Op } from '../../src/protocol/ops';
import { ADMIN_PASSWORD, ask, login, startSecureNode, USER_PASSWORD } from '../helpers/security';
import type { RawPeer } from '../helpers/raw';

/** Bursts that straddle a second's edge are tried again, this many times at most. */
const BURST_ATTEMPTS_MAX = 10;

/**
 * Sends `count` requests made by `body(i)` alternately on `peers`, one at a time, within one
 * calendar second (a burst crossing an edge is sent again); resolves with their codes.
 */
async function burstInOneSecond(peers: RawPeer[], op: number, count: number, body: (i: number) => unknown): Promise<number[]> {
  for (let attempt = 0; attempt < BURST_ATTEMPTS_MAX; attempt++) {
    // Start just after an edge: a burst of a few ms then stays within the second.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const second = Math.floor(Date.now() / 1000);
    const codes: number[] = [];
    for (let i = 0; i < count; i++) codes.push((await ask(peers[i % peers.length], op, body(i))).code);
    if (Math.floor(Date.now() / 1000) === second) return codes;
  }
  throw new Error(`no burst of ${count} requests fit in one second in ${BURST_ATTEMPTS_MAX} attempts`);
}

const okCount = (codes: number[]) => codes.filter((c) => c === Status.OK).length;

t.test('a user meets one quota across the front and a worker endpoint', async (t) => {
  const { url } = await startSecureNode(t);
  const peers: RawPeer[] = [];
  t.teardown(() => {
    for (const p of peers) p.ws.terminate();
  });
  const open = async (where: string, fields: Record<string, unknown>) => {
    const l = await login(where, fields);
    peers.push(l.peer);
    t.equal(l.code, Status.OK, `logged in at ${where}`);
    return l;
  };
  const admin = await open(url, { user: 'admin', password: ADMIN_PASSWORD });
  const worker0 = `ws://${(admin.body.map as { endpoints: string[] }).endpoints[0]}`;
  const role = async (body: Record<string, unknown>) => t.equal((await ask(admin.peer, Op.ROLE, body)).code, Status.OK, `ROLE ${body.action} ${body.role}`);
  await role({ action: 'create', role: 'metered', privileges: ['read-write'], readQuota: 6, writeQuota: 4 });
  await role({ action: 'create', role: 'roomier', privileges: ['read'], readQuota: 8 });
  t.equal((await ask(admin.peer, Op.ROLE, { action: 'create', role: 'bad', privileges: ['read'], writeQuota: -1 })).code, Status.INVALID_FIELD, 'a negative quota');
  t.equal((await ask(admin.peer, Op.USER, { action: 'create', user: 'app', password: USER_PASSWORD, roles: ['metered'] })).code, Status.OK);
  const front = await open(url, { user: 'app', password: USER_PASSWORD });
  const there = await open(worker0, { token: front.body.token });
  const both = [front.peer, there.peer];
  const put = (i: number) => ({ ns: 'test', set: 'q', key: `k${i}`, bins: { i } });
  const get = (i: number) => ({ ns: 'test', set: 'q', key: `k${i}` });

  await t.test('writes: 4 a second over both connections', async (t) => {
    const codes = await burstInOneSecond(both, Op.PUT, 10, put);
    t.equal(okCount(codes), 4, `4 writes pass, over both endpoints: ${codes}`);
    t.same(codes.slice(4), Array(6).fill(Status.QUOTA_EXCEEDED), 'every later one in that second is QUOTA_EXCEEDED');
    const next = await burstInOneSecond(both, Op.PUT, 2, put);
    t.same(next, [Status.OK, Status.OK], 'the next second starts afresh');
  });

  await t.test("INFO shows each metered user's quotas and this second's use over both endpoints", async (t) => {
    type QuotaInfo = { user: string; readQuota: number; writeQuota: number; readsThisSecond: number; writesThisSecond: number };
    for (let attempt = 0; attempt < BURST_ATTEMPTS_MAX; attempt++) {
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
      const second = Math.floor(Date.now() / 1000);
      for (let i = 0; i < 3; i++) await ask(both[i % 2], Op.PUT, put(100 + i));
      await ask(both[1], Op.GET, get(100));
      const info = (await ask(admin.peer, Op.INFO, {})).body as { security: { quotas: QuotaInfo[] } };
      if (Math.floor(Date.now() / 1000) !== second) continue;
      t.same(info.security.quotas, [{ user: 'app', readQuota: 6, writeQuota: 4, readsThisSecond: 1, writesThisSecond: 3 }], 'app only (admin has no quota)');
      return;
    }
    t.fail(`no burst fit in one second in ${BURST_ATTEMPTS_MAX} attempts`);
  });

  await t.test('reads count apart from writes; a batch counts each key', async (t) => {
    const codes = await burstInOneSecond(both, Op.GET, 8, get);
    t.equal(okCount(codes) + codes.filter((c) => c === Status.KEY_NOT_FOUND).length, 6, `6 reads pass: ${codes}`);
    const batch = (n: number) => () => ({ keys: Array.from({ length: n }, (_, i) => get(i)) });
    t.same(await burstInOneSecond(both, Op.BATCH_GET, 2, batch(4)), [Status.OK, Status.QUOTA_EXCEEDED], 'a batch of 4 keys, then one that would pass 6');
    t.same(await burstInOneSecond(both, Op.BATCH_GET, 1, batch(7)), [Status.QUOTA_EXCEEDED], 'a batch larger than the quota never passes');
  });

  await t.test('the largest quota among the roles applies, and changes reach open connections', async (t) => {
    t.equal((await ask(admin.peer, Op.USER, { action: 'grant', user: 'app', roles: ['roomier'] })).code, Status.OK);
    let codes = await burstInOneSecond(both, Op.EXISTS, 10, get);
    t.equal(codes.filter((c) => c !== Status.QUOTA_EXCEEDED).length, 8, `8 reads a second with both roles: ${codes}`);
    await role({ action: 'quotas', role: 'metered', readQuota: 0, writeQuota: 2 });
    codes = await burstInOneSecond(both, Op.PUT, 4, put);
    t.same(codes, [Status.OK, Status.OK, Status.QUOTA_EXCEEDED, Status.QUOTA_EXCEEDED], 'the new write quota');
    await role({ action: 'quotas', role: 'metered', readQuota: 0, writeQuota: 0 });
    codes = await burstInOneSecond(both, Op.PUT, 12, put);
    t.equal(okCount(codes), 12, 'no write quota: every write passes');
    const listed = (await ask(admin.peer, Op.ROLE, { action: 'list' })).body as { roles: { role: string; readQuota?: number; writeQuota?: number }[] };
    t.same(
      listed.roles.find((r) => r.role === 'roomier'),
      { role: 'roomier', privileges: ['read'], predefined: false, allowlist: [], readQuota: 8, writeQuota: 0 },
      'ROLE list shows the quotas',
    );
  });
});
