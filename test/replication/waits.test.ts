// Writes held for their replicas over real channel rings, by the primary and by a master worker:
// answered once the replica releases past the tail the master had published, in order; never
// twice; a slot reused by a later write is not confused with the wait it held before; a replica
// that stops counting releases what waited on it.
import t from 'tap';
import { AckWaiter, ReplicationChannels } from '../../src/replication/channels';
import { ReplicaWaits } from '../../src/replication/waits';
import { Ring } from '../../src/shm/ring';

function setup() {
  const channels = ReplicationChannels.create(2, 1 << 16);
  const answered: { slot: number; code: number; body: string }[] = [];
  const waits = new ReplicaWaits(channels, {
    answer: (slot, code, bytes, start, end) => answered.push({ slot, code, body: Buffer.from(bytes.subarray(start, end)).toString() }),
    inDoubt: (slot) => answered.push({ slot, code: 9, body: 'in doubt' }),
  });
  const producer = Ring.attach(channels.ring(0, 1)!);
  const consumer = Ring.attach(channels.ring(0, 1)!);
  /** The master replicates one write: a message committed to the channel. */
  const replicate = () => {
    producer.reserve(8);
    producer.commit();
  };
  /** The replica applies what is there and releases. */
  const applyAll = () => {
    while (consumer.next() >= 0);
    consumer.release();
  };
  t.teardown(() => waits.stop());
  return { waits, answered, replicate, applyAll, channels };
}

const replicaOne = Int32Array.of(1);
const body = (s: string) => Buffer.from(s);

t.test('answered once the replica released past the tail, in order', async (t) => {
  const { waits, answered, replicate, applyAll, channels } = setup();
  replicate();
  t.equal(channels.ackWanted(0, 1), false);
  t.equal(waits.hold(3, 0, replicaOne, 1, 0, body('a'), 0, 1), true);
  t.equal(channels.ackWanted(0, 1), true, 'a held write asks the replica for an ACK');
  replicate();
  t.equal(waits.hold(9, 0, replicaOne, 1, 0, body('b'.repeat(100)), 0, 100), true, 'a long body is kept too');
  waits.onAck(1);
  t.same(answered, [], 'nothing released yet');
  applyAll();
  waits.onAck(1);
  t.same(
    answered.map((a) => [a.slot, a.code, a.body.length]),
    [
      [3, 0, 1],
      [9, 0, 100],
    ],
  );
  t.equal(waits.count, 0);
  t.equal(channels.ackWanted(0, 1), false, 'nothing waits: no ACK wanted');
  waits.onAck(1);
  t.equal(answered.length, 2, 'never twice');
  t.equal(waits.hold(4, 0, replicaOne, 1, 0, body('c'), 0, 1), false, 'nothing to wait for once released');
  t.equal(channels.ackWanted(0, 1), false, 'and no ACK asked for');
});

t.test('a replica that stops counting answers what waited on it; a reused slot keeps its own wait', async (t) => {
  const { waits, answered, replicate, applyAll, channels } = setup();
  replicate();
  waits.hold(5, 0, replicaOne, 1, 0, body('old'), 0, 3);
  waits.dropReplica(1);
  t.same(
    answered.map((a) => a.body),
    ['old'],
  );
  t.equal(channels.ackWanted(0, 1), false);
  // Slot 5 is reused by a new write before the replica catches up.
  replicate();
  waits.hold(5, 0, replicaOne, 1, 0, body('new'), 0, 3);
  waits.onAck(1);
  t.equal(answered.length, 1, 'the new wait is not settled by anything stale');
  applyAll();
  waits.onAck(1);
  t.same(
    answered.map((a) => a.body),
    ['old', 'new'],
  );
});

t.test("a master worker's waits raise the master's ack flag, not the primary's, and its poll settles and drops", async (t) => {
  const channels = ReplicationChannels.create(2, 1 << 16);
  const answered: number[] = [];
  const inDoubt: number[] = [];
  const waits = new ReplicaWaits(channels, { answer: (slot) => answered.push(slot), inDoubt: (slot) => inDoubt.push(slot) }, AckWaiter.MASTER);
  t.teardown(() => waits.stop());
  const producer = Ring.attach(channels.ring(0, 1)!);
  const consumer = Ring.attach(channels.ring(0, 1)!);
  producer.reserve(8);
  producer.commit();
  t.equal(waits.hold(1, 0, replicaOne, 1, 0, body('a'), 0, 1), true);
  t.equal(channels.ackWanted(0, 1, AckWaiter.MASTER), true, 'the replica is asked to ring the master');
  t.equal(channels.ackWanted(0, 1, AckWaiter.PRIMARY), false, "the primary's flag is untouched");
  t.equal(
    waits.poll(0, () => false),
    0,
    'nothing released yet',
  );
  while (consumer.next() >= 0);
  consumer.release();
  t.equal(
    waits.poll(0, () => false),
    1,
    'the release answers it',
  );
  t.same(answered, [1]);
  t.equal(channels.ackWanted(0, 1, AckWaiter.MASTER), false, 'nothing waits: flag down');
  producer.reserve(8);
  producer.commit();
  t.equal(waits.hold(2, 0, replicaOne, 1, 0, body('b'), 0, 1), true);
  t.equal(
    waits.poll(0, (to) => to === 1),
    1,
    'a replica that is gone no longer holds it',
  );
  t.same(answered, [1, 2]);
  t.same(inDoubt, []);
});
