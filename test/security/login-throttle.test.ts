// Proves failed logins from one address slow that address down exponentially up to the cap,
// that other addresses are untouched, that a success clears it, and that waiters are bounded.
import t from 'tap';
import * as C from '../../src/constants';
import { Status } from '../../src/errors';
import { addressOf, LoginThrottle } from '../../src/security/login-throttle';

t.test('delays double per failure up to the cap', async (t) => {
  let now = 1_000_000;
  const th = new LoginThrottle(() => now);
  const delays = [1, 2, 3, 4].map(() => th.failed('10.0.0.1').delayMs);
  t.same(delays, [C.LOGIN_FAIL_DELAY_MS_BASE, 2 * C.LOGIN_FAIL_DELAY_MS_BASE, 4 * C.LOGIN_FAIL_DELAY_MS_BASE, 8 * C.LOGIN_FAIL_DELAY_MS_BASE]);
  t.equal(LoginThrottle.delayAfter(100), C.LOGIN_FAIL_DELAY_MS_MAX);
  t.same(th.state('10.0.0.2'), { failures: 0, delayMs: 0, waiting: 0 }, 'another address is not slowed');
  now += 5 * C.LOGIN_FAIL_DELAY_MS_BASE;
  t.same(th.state('10.0.0.1'), { failures: 4, delayMs: 3 * C.LOGIN_FAIL_DELAY_MS_BASE, waiting: 0 });
  th.succeeded('10.0.0.1');
  t.equal(th.state('10.0.0.1').failures, 0);
  th.failed('10.0.0.3');
  now += C.LOGIN_FAIL_FORGET_MS + 1;
  t.equal(th.state('10.0.0.3').failures, 0, 'forgotten after a quiet spell');
  t.equal(th.failuresTotal, 5);
});

t.test('logins wait out the delay, and only so many may wait', async (t) => {
  const th = new LoginThrottle();
  for (let i = 0; i < 3; i++) th.failed('a'); // a delay of 4 × base: the waiters below are still waiting when checked
  const waiting = Array.from({ length: C.LOGINS_WAITING_PER_ADDRESS_MAX }, () => th.admit('a'));
  t.equal(th.state('a').waiting, C.LOGINS_WAITING_PER_ADDRESS_MAX);
  await t.rejects(th.admit('a'), { code: Status.QUOTA_EXCEEDED });
  await th.admit('b');
  t.pass('another address is admitted at once');
  await Promise.all(waiting);
  t.equal(th.state('a').waiting, 0, 'every waiter was let through once the delay passed');
});

t.test('addresses of host:port', async (t) => {
  t.same(['127.0.0.1:5', '::1:5', '::ffff:127.0.0.1:9'].map(addressOf), ['127.0.0.1', '::1', '::ffff:127.0.0.1']);
});
