// Proves the node-wide socket and session caps hold across endpoints: each endpoint counts in its
// own words, the cap is on their sum (the drawn budget, or the fallback before it is drawn), a
// refusal takes nothing, and a dead worker's words are zeroed.
import t from 'tap';
import { ConnectionCounts, FRONT_ENDPOINT, workerEndpoint } from '../../src/endpoint/connection-counts';

t.test('sockets are capped over every endpoint', async (t) => {
  const c = ConnectionCounts.create(2);
  t.ok(c.tryOpenSocket(FRONT_ENDPOINT, 3), 'before the budget is drawn, the fallback caps');
  t.ok(c.tryOpenSocket(workerEndpoint(0), 3));
  t.ok(c.tryOpenSocket(workerEndpoint(1), 3));
  t.notOk(c.tryOpenSocket(workerEndpoint(1), 3), 'a fourth socket anywhere is refused');
  t.equal(c.socketsOf(workerEndpoint(1)), 1, 'the refusal took nothing');
  c.setSocketsMax(4);
  t.ok(c.tryOpenSocket(workerEndpoint(1), 3), 'the drawn budget replaces the fallback');
  t.notOk(c.tryOpenSocket(FRONT_ENDPOINT, 100));
  c.closeSocket(FRONT_ENDPOINT);
  t.ok(c.tryOpenSocket(workerEndpoint(0), 3), 'a closed socket frees room for any endpoint');
});

t.test('sessions are capped over every endpoint, and a dead worker frees its own', async (t) => {
  const c = ConnectionCounts.create(2);
  const shared = ConnectionCounts.attach(c.sab);
  t.ok(c.tryOpenSession(FRONT_ENDPOINT, 2));
  t.ok(shared.tryOpenSession(workerEndpoint(1), 2), 'another thread counts in the same memory');
  t.notOk(c.tryOpenSession(workerEndpoint(0), 2));
  t.equal(c.sessionsTotal(), 2);
  c.reset(workerEndpoint(1));
  t.equal(c.sessionsOf(workerEndpoint(1)), 0);
  t.equal(c.sessionsOf(FRONT_ENDPOINT), 1, "the front's are untouched");
  t.ok(c.tryOpenSession(workerEndpoint(0), 2));
});
