// Proves the TTL a client is shown is the whole seconds a record has left: never more than the TTL
// it was written with, whatever the millisecond of the write.
import t from 'tap';
import { nowVoidSec, ttlOf, voidTimeAfter } from '../../src/shm/void-time';

t.test('a TTL reads back as itself at the write, then counts down', async (t) => {
  for (const ttl of [1, 100, 3600]) {
    for (const nowMs of [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_500, 1_700_000_000_999]) {
      const voidTime = voidTimeAfter(ttl, nowMs);
      t.equal(ttlOf(voidTime, nowMs), ttl, `ttl ${ttl} written at ms ${nowMs % 1000}`);
      t.ok(voidTime > nowVoidSec(nowMs + ttl * 1000 - 1), 'the record lives at least its TTL');
      t.equal(ttlOf(voidTime, nowMs + 1000), ttl === 1 ? 1 : ttl - 1, 'a second later, one less (at least 1)');
    }
  }
  t.equal(ttlOf(0, 1_700_000_000_000), -1, 'never expires');
});
