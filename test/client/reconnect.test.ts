// Proves the reconnect schedule stays within [MIN, MAX], grows exponentially until capped, and
// that hosts are parsed strictly and tried round-robin.
import t from 'tap';
import { HostRotation, parseHost, reconnectDelayMs } from '../../src/client/reconnect';
import { CLIENT_RECONNECT_DELAY_MS_MAX, CLIENT_RECONNECT_DELAY_MS_MIN } from '../../src/constants';
import { prng, testSeed } from '../helpers/prng';

t.test('delays stay within bounds and double until capped', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const low = () => 0;
  const high = () => 0.999999;
  const seeded = prng(seed);
  for (let attempt = 0; attempt < 100; attempt++) {
    for (const random of [low, high, seeded]) {
      const delayMs = reconnectDelayMs(attempt, random);
      t.ok(delayMs >= CLIENT_RECONNECT_DELAY_MS_MIN && delayMs <= CLIENT_RECONNECT_DELAY_MS_MAX, `attempt ${attempt}: ${delayMs}`);
    }
  }
  t.equal(reconnectDelayMs(0, high), CLIENT_RECONNECT_DELAY_MS_MIN);
  t.equal(reconnectDelayMs(1, high), 2 * CLIENT_RECONNECT_DELAY_MS_MIN);
  t.equal(reconnectDelayMs(2, high), 4 * CLIENT_RECONNECT_DELAY_MS_MIN);
  t.equal(reconnectDelayMs(3, low), 4 * CLIENT_RECONNECT_DELAY_MS_MIN, 'jitter keeps at least half the ceiling');
  t.equal(reconnectDelayMs(50, high), CLIENT_RECONNECT_DELAY_MS_MAX);
  t.equal(reconnectDelayMs(1e9, low), CLIENT_RECONNECT_DELAY_MS_MAX / 2);
  t.equal(reconnectDelayMs(-5, high), CLIENT_RECONNECT_DELAY_MS_MIN);
});

t.test('host parsing', async (t) => {
  t.same(parseHost('127.0.0.1:3000'), { host: '127.0.0.1', port: 3000 });
  t.same(parseHost(' db.local:4000 '), { host: 'db.local', port: 4000 });
  t.same(parseHost('db.local'), { host: 'db.local', port: 3000 });
  t.same(parseHost('[::1]:3001'), { host: '::1', port: 3001 });
  for (const bad of ['', ':3000', 'h:0', 'h:70000', 'h:x', '::1', 'h:1:2', 'a host:1', 'h/p:1', '[zz]:1']) t.equal(parseHost(bad), null, bad);
});

t.test('round-robin rotation', async (t) => {
  const rotation = new HostRotation([
    { host: 'a', port: 1 },
    { host: 'b', port: 2 },
  ]);
  t.same([rotation.next().host, rotation.next().host, rotation.next().host], ['a', 'b', 'a']);
  t.throws(() => new HostRotation([]));
});
