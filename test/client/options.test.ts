// Proves connect() options get their documented defaults and that bad ones fail with PARAMETER.
import t from 'tap';
import { CLIENT_MAX_RETRIES_DEFAULT, resolveOptions } from '../../src/client/options';
import { CLIENT_CONNECT_TIMEOUT_MS_DEFAULT, CLIENT_IN_FLIGHT_MAX_DEFAULT, CLIENT_QUEUE_MAX_DEFAULT, CLIENT_TIMEOUT_MS_DEFAULT } from '../../src/constants';
import { Status } from '../../src/errors';

t.test('defaults', async (t) => {
  const options = resolveOptions({ hosts: '127.0.0.1:3000' });
  t.same(options.hosts, [{ host: '127.0.0.1', port: 3000 }]);
  t.equal(options.timeoutMs, CLIENT_TIMEOUT_MS_DEFAULT);
  t.equal(options.connectTimeoutMs, CLIENT_CONNECT_TIMEOUT_MS_DEFAULT);
  t.equal(options.maxInFlight, CLIENT_IN_FLIGHT_MAX_DEFAULT);
  t.equal(options.maxQueued, CLIENT_QUEUE_MAX_DEFAULT);
  t.equal(options.maxRetries, CLIENT_MAX_RETRIES_DEFAULT);
  t.equal(options.reconnect, true);
  t.notOk('user' in options);
});

t.test('hosts as a list or comma-separated', async (t) => {
  t.same(resolveOptions({ hosts: 'a:1,b:2' }).hosts, [
    { host: 'a', port: 1 },
    { host: 'b', port: 2 },
  ]);
  t.same(resolveOptions({ hosts: ['a:1', 'b'] }).hosts, [
    { host: 'a', port: 1 },
    { host: 'b', port: 3000 },
  ]);
});

t.test('bad options', async (t) => {
  const bad: unknown[] = [
    null,
    {},
    { hosts: [] },
    { hosts: 'a:x' },
    { hosts: [5] },
    { hosts: 'a:1', timeoutMs: 0 },
    { hosts: 'a:1', connectTimeoutMs: 1.5 },
    { hosts: 'a:1', maxInFlight: 0 },
    { hosts: 'a:1', maxQueued: -1 },
    { hosts: 'a:1', maxRetries: 1000 },
    { hosts: 'a:1', reconnect: 'yes' },
    { hosts: 'a:1', user: 5 },
    { hosts: 'a:1', maxFrameBytes: 10 },
  ];
  for (const options of bad) t.throws(() => resolveOptions(options as never), { code: Status.PARAMETER }, JSON.stringify(options));
});
