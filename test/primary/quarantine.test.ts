// Proves the quarantine's rules: a request whose worker failed by itself is quarantined at once,
// one in flight when the supervisor ended a thread only at its second such death, and it holds at
// most QUARANTINED_REQUESTS_MAX requests, dropping the oldest.
import t from 'tap';
import { QUARANTINED_REQUESTS_MAX } from '../../src/constants';
import { REQ_HEADER_BYTES, ReqOffset } from '../../src/protocol/internal';
import { Quarantine } from '../../src/primary/quarantine';

/** A request ring message: header (op GET, namespace 0, a digest from `n`), then a body. */
function message(n: number): Buffer {
  const m = Buffer.alloc(REQ_HEADER_BYTES + 4);
  m[ReqOffset.OP] = 3;
  m.writeUInt32LE(n, ReqOffset.DIGEST);
  m.writeUInt32LE(0xabcd, REQ_HEADER_BYTES);
  return m;
}

t.test('blamed deaths quarantine at once, supervisor kills at the second', async (t) => {
  const q = new Quarantine();
  t.equal(q.noteDeath(message(1), true), true, 'an exception in the thread: quarantined');
  t.equal(q.noteDeath(message(2), false), false, 'a hang: only suspected');
  t.equal(q.size, 1);
  t.equal(q.noteDeath(message(2), false), true, 'in flight at a second hang: quarantined');
  t.equal(q.size, 2);
});

t.test('the quarantine is bounded', async (t) => {
  const q = new Quarantine();
  for (let n = 0; n < QUARANTINED_REQUESTS_MAX + 10; n++) q.noteDeath(message(n), true);
  t.equal(q.size, QUARANTINED_REQUESTS_MAX);
});
