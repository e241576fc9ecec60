// Proves the restore rules without a node: what each policy asks of a put, and what each answer
// counts as (a policy's own refusal is not a failure, an in-doubt write is never "failed"), with
// only the first few errors kept.
import t from 'tap';
import { AerieError, Status } from '../../src/errors';
import { BACKUP_RESTORE_ERRORS_KEPT_MAX } from '../../src/constants';
import { checkRestorePolicy, classifyError, RestoreTally, writePolicyFor } from '../../src/backup/restore-report';

t.test('each policy writes the whole record, with its own check', async (t) => {
  t.same(writePolicyFor('create-only', 3, true), { meta: {}, write: { exists: 'create-only', sendKey: true } });
  t.same(writePolicyFor('replace', 3, false), { meta: {}, write: { exists: 'replace', sendKey: false } });
  t.same(writePolicyFor('generation-gt', 3, true), { meta: { gen: 3 }, write: { exists: 'replace', genPolicy: 'gt', sendKey: true } });
  t.equal(checkRestorePolicy('replace'), 'replace');
  t.throws(() => checkRestorePolicy('update'), { code: Status.PARAMETER });
});

t.test('answers are classified by policy, in-doubt first', async (t) => {
  const exists = new AerieError(Status.KEY_EXISTS);
  const generation = new AerieError(Status.GENERATION);
  t.equal(classifyError('create-only', exists), 'existed');
  t.equal(classifyError('replace', exists), 'failed', 'only create-only expects KEY_EXISTS');
  t.equal(classifyError('generation-gt', generation), 'skippedOlder');
  t.equal(classifyError('create-only', generation), 'failed');
  t.equal(classifyError('replace', new AerieError(Status.TIMEOUT, 'worker died', true)), 'inDoubt');
  t.equal(classifyError('create-only', new AerieError(Status.KEY_EXISTS, 'odd', true)), 'inDoubt', 'in doubt wins over any code');
  t.equal(classifyError('replace', new AerieError(Status.RECORD_TOO_BIG)), 'failed');
  t.equal(classifyError('replace', new TypeError('bug')), 'failed');
});

t.test('the tally counts everything and describes the first few failures', async (t) => {
  const tally = new RestoreTally();
  for (let i = 0; i < 30; i++) tally.add(i % 2 ? 'failed' : 'inDoubt', `k${i}`, new AerieError(Status.TIMEOUT_CLIENT, 'late', i % 2 === 0));
  tally.add('restored');
  tally.add('expired');
  tally.add('failed', 'odd', 'not an error object');
  t.match(tally.counts, { failed: 16, inDoubt: 15, restored: 1, expired: 1 });
  t.equal(tally.settled, 33);
  t.equal(tally.errors.length, BACKUP_RESTORE_ERRORS_KEPT_MAX);
  t.same(tally.errors[0], { key: 'k0', code: Status.TIMEOUT_CLIENT, name: 'TIMEOUT_CLIENT', message: 'late', inDoubt: true });
});
