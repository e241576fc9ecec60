// Proves the in-doubt rules: a write that may have reached the server is in doubt and never
// re-sent; reads are re-sent while their budget lasts; a call never sent is never in doubt.
import t from 'tap';
import { classifyLoss, lossError, serverError, type CallFacts, type Loss } from '../../src/client/outcome';
import { Status } from '../../src/errors';

const base: CallFacts = { sent: true, write: false, sendCount: 1, maxRetries: 2, connected: true };

t.test('the full table', async (t) => {
  const cases: Array<[Loss, Partial<CallFacts>, ReturnType<typeof classifyLoss>]> = [
    ['timeout', { sent: false }, { retry: false, code: Status.TIMEOUT_CLIENT, inDoubt: false }],
    ['timeout', { sent: false, write: true }, { retry: false, code: Status.TIMEOUT_CLIENT, inDoubt: false }],
    ['timeout', { sent: false, write: true, connected: false }, { retry: false, code: Status.SERVER_NOT_AVAILABLE, inDoubt: false }],
    ['disconnect', { sent: false, write: true }, { retry: true }],
    ['close', { sent: false, write: true }, { retry: false, code: Status.SERVER_NOT_AVAILABLE, inDoubt: false }],
    ['timeout', {}, { retry: false, code: Status.TIMEOUT_CLIENT, inDoubt: false }],
    ['timeout', { write: true }, { retry: false, code: Status.TIMEOUT_CLIENT, inDoubt: true }],
    ['disconnect', { write: true }, { retry: false, code: Status.CONNECTION_CLOSED, inDoubt: true }],
    ['disconnect', { write: true, maxRetries: 100 }, { retry: false, code: Status.CONNECTION_CLOSED, inDoubt: true }],
    ['disconnect', {}, { retry: true }],
    ['disconnect', { sendCount: 2 }, { retry: true }],
    ['disconnect', { sendCount: 3 }, { retry: false, code: Status.MAX_RETRIES_EXCEEDED, inDoubt: false }],
    ['disconnect', { maxRetries: 0 }, { retry: false, code: Status.MAX_RETRIES_EXCEEDED, inDoubt: false }],
    ['close', {}, { retry: false, code: Status.CONNECTION_CLOSED, inDoubt: false }],
    ['close', { write: true }, { retry: false, code: Status.CONNECTION_CLOSED, inDoubt: true }],
  ];
  for (const [loss, facts, expected] of cases) {
    t.same(classifyLoss(loss, { ...base, ...facts }), expected, `${loss} ${JSON.stringify(facts)}`);
  }
});

t.test('loss errors carry code and inDoubt', async (t) => {
  const error = lossError('disconnect', { ...base, write: true })!;
  t.equal(error.code, Status.CONNECTION_CLOSED);
  t.equal(error.inDoubt, true);
  t.equal(lossError('disconnect', base), null, 'a retry is not an error');
});

t.test('server codes are definite except TIMEOUT on a write', async (t) => {
  t.equal(serverError(Status.KEY_EXISTS, { message: 'exists' }, true).inDoubt, false);
  t.equal(serverError(Status.KEY_EXISTS, { message: 'exists' }, true).message, 'exists');
  t.equal(serverError(Status.TIMEOUT, null, true).inDoubt, true);
  t.equal(serverError(Status.TIMEOUT, null, false).inDoubt, false);
  t.equal(serverError(Status.DEVICE_OVERLOAD, { message: 7 }, true).message, 'DEVICE_OVERLOAD');
  t.equal(serverError(Status.GENERATION, undefined, true).code, Status.GENERATION);
});
