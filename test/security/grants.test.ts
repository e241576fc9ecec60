// Proves the role × op matrix: every predefined role against every op of the protocol is allowed
// or refused exactly as docs/security.md's table says, and scoped privileges hold only in their scope.
import t from 'tap';
import { Op } from '../../src/protocol/ops';
import { compileGrants, NO_GRANTS } from '../../src/security/grants';
import { OP_RIGHTS, parsePrivilege, PREDEFINED_ROLES } from '../../src/security/privileges';
import { type AerieError, Status } from '../../src/errors';

/** The expected table, written out by hand (not derived from OP_RIGHTS): op name -> roles allowed. */
const ANY = ['read', 'write', 'read-write', 'truncate', 'data-admin', 'sys-admin', 'user-admin'];
const EXPECTED: Record<keyof typeof Op, string[]> = {
  HELLO: ANY,
  PING: ANY,
  DRAINED: ANY,
  INFO: ANY,
  WATCH: ANY,
  TOKEN: ANY,
  GET: ['read', 'read-write', 'data-admin'],
  EXISTS: ['read', 'read-write', 'data-admin'],
  BATCH_GET: ['read', 'read-write', 'data-admin'],
  BATCH_EXISTS: ['read', 'read-write', 'data-admin'],
  SCAN: ['read', 'read-write', 'data-admin'],
  PUT: ['write', 'read-write', 'data-admin'],
  REMOVE: ['write', 'read-write', 'data-admin'],
  TOUCH: ['write', 'read-write', 'data-admin'],
  OPERATE: ['read-write', 'data-admin'],
  TRUNCATE: ['truncate', 'data-admin'],
  SNAPSHOT: ['data-admin'],
  VERIFY: ['sys-admin'],
  FAULT: ['sys-admin'],
  WORKER_RESTART: ['sys-admin'],
  USER: ['user-admin'],
  ROLE: ['user-admin'],
};

t.test('every predefined role × every op', async (t) => {
  t.same(
    Object.keys(OP_RIGHTS)
      .map(Number)
      .sort((a, b) => a - b),
    Object.values(Op).sort((a, b) => a - b),
    'the table covers every op',
  );
  for (const [name, op] of Object.entries(Op)) {
    for (const role of PREDEFINED_ROLES) {
      const grants = compileGrants([role], new Map());
      t.equal(grants.opAllowed[op], EXPECTED[name as keyof typeof Op].includes(role) ? 1 : 0, `${role} × ${name}`);
    }
    t.equal(NO_GRANTS.opAllowed[op], OP_RIGHTS[op] === 0 ? 1 : 0, `no role × ${name}`);
  }
  t.equal(compileGrants(['no-such-role'], new Map()).opAllowed[Op.GET], 0, 'a missing role grants nothing');
});

t.test('scoped privileges hold in their namespace and set only', async (t) => {
  const custom = new Map([['demo-reader', [parsePrivilege('read:test.demo'), parsePrivilege('write:test')]]]);
  const g = compileGrants(['demo-reader'], custom);
  t.equal(g.opAllowed[Op.GET], 0, 'not node-wide');
  t.ok(g.mightAllow(Op.GET));
  t.ok(g.allowsIn(Op.GET, 'test', 'demo'));
  t.notOk(g.allowsIn(Op.GET, 'test', 'other'));
  t.notOk(g.allowsIn(Op.GET, 'test', null), 'a whole namespace is more than the set');
  t.ok(g.allowsIn(Op.PUT, 'test', 'other'));
  t.ok(g.allowsIn(Op.OPERATE, 'test', 'demo'), 'read in the set and write in its namespace make read-write there');
  t.notOk(g.allowsIn(Op.OPERATE, 'test', 'other'));
  t.notOk(g.allowsIn(Op.PUT, 'bar', null));
  t.notOk(g.mightAllow(Op.TRUNCATE));
});

t.test('privileges parse with their scope rules', async (t) => {
  t.same(parsePrivilege('read:test.demo'), { name: 'read', ns: 'test', set: 'demo' });
  t.same(parsePrivilege('data-admin:test'), { name: 'data-admin', ns: 'test', set: null });
  const code = (text: unknown) => {
    try {
      parsePrivilege(text);
      return 0;
    } catch (err) {
      return (err as AerieError).code;
    }
  };
  for (const bad of ['sys-admin:test', 'user-admin:test.x', 'data-admin:test.demo', 'root', 'read:', 'read:te st', 5]) t.equal(code(bad), Status.INVALID_PRIVILEGE, String(bad));
});

t.test('allow-lists: addresses and subnets, IPv4-mapped addresses, bad entries refused', async (t) => {
  const { addressAllowed, parseAllowlist } = await import('../../src/security/allowlist');
  t.ok(addressAllowed('127.0.0.1', []), 'no list: any address');
  t.ok(addressAllowed('10.1.2.3', [['10.0.0.0/8']]));
  t.ok(addressAllowed('::ffff:10.1.2.3', [['10.0.0.0/8']]), 'IPv4-mapped');
  t.notOk(addressAllowed('127.0.0.1', [['10.0.0.0/8']]));
  t.ok(addressAllowed('127.0.0.1', [['10.0.0.0/8'], ['127.0.0.1']]), "the union of the roles' lists");
  t.ok(addressAllowed('::1', [['::1']]));
  t.notOk(addressAllowed('not-an-address', [['10.0.0.0/8']]));
  t.same(parseAllowlist(['10.0.0.0/8', '10.0.0.0/8', '::1']), ['10.0.0.0/8', '::1']);
  for (const bad of [['example.com'], ['10.0.0.0/33'], ['10.0.0.0/'], [5], 'x']) {
    t.throws(() => parseAllowlist(bad), { code: Status.INVALID_FIELD }, JSON.stringify(bad));
  }
});
