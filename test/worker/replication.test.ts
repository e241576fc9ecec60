// The two sides of a replication channel in one thread, over real rings and stores: a master's
// writes and deletes reach the replica as images; what was applied is acknowledged only on
// release; a full channel is flagged overflowed rather than dropping a write silently; and a
// migration round leaves the replica's partitions exactly the master's, stale copies dropped.
import t from 'tap';
import { loadConfig } from '../../src/config';
import { computeDigest, partitionOf } from '../../src/partition/digest';
import { PartitionMap } from '../../src/partition/map';
import { ReplicationChannels } from '../../src/replication/channels';
import { RecordStore } from '../../src/shm/record-store';
import { Ring } from '../../src/shm/ring';
import { StatsBlock, WorkerStat } from '../../src/shm/stats';
import { Migrations } from '../../src/worker/migrate-out';
import { Namespace } from '../../src/worker/namespace';
import { ReplicationIn, ReplicationOut } from '../../src/worker/replication';

function setup(ringBytes = 1 << 20) {
  const config = loadConfig().namespaces[0];
  const map = PartitionMap.create(2, [2]);
  const channels = ReplicationChannels.create(2, ringBytes);
  const store = () => RecordStore.create({ memoryBytesMax: 64 * 1024 * 1024, blockBytes: 64 * 1024, indexSlotsInitial: 64 });
  const master = new Namespace(0, config, 1, store());
  const replica = new Namespace(0, config, 1, store());
  const stats = StatsBlock.create(1);
  const out = new ReplicationOut(0, map, channels, [null, null], stats);
  const into = new ReplicationIn(1, [replica], channels, stats);
  return { map, channels, master, replica, stats, out, into };
}

function put(ns: Namespace, out: ReplicationOut | null, i: number, gen: number, value: string): void {
  const d = computeDigest('s', i);
  const bins = Buffer.from(value);
  ns.store.write(d, 0, gen, 1, 0, 1000 + gen, null, 0, 0, bins, 0, bins.length);
  out?.put(ns, ns.store.lookup(d, 0));
}

/** digest hex -> [generation, bins] of every record in the store (optionally one partition set). */
function contents(ns: Namespace, only?: Set<number>): Map<string, [number, string]> {
  const m = new Map<string, [number, string]>();
  const d = Buffer.alloc(20);
  for (let slot = ns.store.nextLive(0); slot >= 0; slot = ns.store.nextLive(slot + 1)) {
    if (only !== undefined && !only.has(ns.store.partitionId(slot))) continue;
    ns.store.copyDigest(slot, d, 0);
    m.set(d.toString('hex'), [ns.store.generation(slot), Buffer.from(ns.store.binsBytes(slot)).toString()]);
  }
  return m;
}

t.test('writes and deletes reach the replica as images, in order', async (t) => {
  const { master, replica, out, into, channels, stats } = setup();
  for (let i = 0; i < 500; i++) put(master, out, i, 1, `v1-${i}`);
  for (let i = 0; i < 500; i += 3) put(master, out, i, 2, `v2-${i}-${'x'.repeat(i % 70)}`);
  for (let i = 1; i < 500; i += 5) {
    const d = computeDigest('s', i);
    const slot = master.store.lookup(d, 0);
    const p = master.store.partitionId(slot);
    master.store.remove(slot);
    out.remove(0, p, d, 0);
  }
  t.equal(into.drain(), 0, 'nothing is visible before the master commits');
  out.commit();
  t.ok(into.drain() > 0);
  t.same(contents(replica), contents(master), 'the replica holds exactly what the master holds');
  const words = Ring.wordsOf(channels.ring(0, 1)!);
  t.not(Ring.releasedHead(words), Ring.publishedTail(words), 'applied, but not acknowledged before release');
  channels.setAckWanted(0, 1, true);
  t.equal(into.release(), true, 'the primary waits on this channel: tell it');
  t.equal(Ring.releasedHead(words), Ring.publishedTail(words), 'acknowledged up to the tail');
  t.equal(into.release(), false, 'nothing new to acknowledge');
  put(master, out, 1000, 1, 'late');
  out.commit();
  channels.setAckWanted(0, 1, false);
  t.equal(into.drain(), 1);
  t.equal(into.release(), false, 'released, but nobody waits: no ACK');
  t.equal(Ring.releasedHead(words), Ring.publishedTail(words), 'released all the same');
  t.ok(stats.get(WorkerStat.REPL_APPLIED) > 500);
});

t.test('a channel with no room is flagged overflowed; nothing is skipped silently', async (t) => {
  const { master, out, channels, stats } = setup(64 * 1024);
  let i = 0;
  while (!channels.overflowed(0, 1) && i < 10_000) put(master, out, i++, 1, 'y'.repeat(500));
  t.ok(channels.overflowed(0, 1), `overflowed after ${i} writes`);
  t.equal(stats.get(WorkerStat.REPL_OVERFLOWS), 1);
  t.ok(channels.overflowEpoch > 0, 'the primary sees it from the epoch word');
  const sent = stats.get(WorkerStat.REPL_SENT);
  put(master, out, i + 1, 1, 'z');
  t.equal(stats.get(WorkerStat.REPL_SENT), sent, 'later writes are not sent into a channel with a gap');
  out.replaceRing(1, channels.replace(0, 1));
  t.notOk(channels.overflowed(0, 1), 'a fresh ring clears the flag');
  put(master, out, i + 2, 1, 'z');
  t.equal(stats.get(WorkerStat.REPL_SENT), sent + 1, 'and replication resumes');
});

t.test("a migration round replaces what the replica held of the partitions with the master's records", async (t) => {
  const { master, replica, out, into } = setup();
  for (let i = 0; i < 2000; i++) put(master, null, i, 2, `m-${i}`);
  // The replica's copy is stale: older versions, records since deleted, and none of the rest.
  for (let i = 0; i < 2000; i += 2) put(replica, null, i, 1, `old-${i}`);
  for (let i = 5000; i < 5100; i++) put(replica, null, i, 1, `gone-${i}`);
  const partitions = new Set<number>();
  for (let i = 0; i < 2000; i++) partitions.add(partitionOf(computeDigest('s', i)));
  const list = [...partitions].filter((p) => p % 3 !== 0); // not every partition: the others stay as they are
  const chosen = new Set(list);
  const untouchedBefore = contents(replica, new Set([...Array(4096).keys()].filter((p) => !chosen.has(p))));
  const replies: unknown[] = [];
  const migrations = new Migrations([master], out, (id, error, value) => replies.push({ id, error, value }), StatsBlock.create(1));
  migrations.start(7, 0, 1, list);
  // A live write during the round, to a record the walk may already have passed.
  let steps = 0;
  while (migrations.active && steps < 1000) {
    migrations.step(Date.now());
    if (steps === 1) put(master, out, 1, 3, 'live');
    out.commit();
    into.drain();
    into.release();
    steps++;
  }
  t.equal(replies.length, 1);
  const reply = replies[0] as { id: number; error: string | null; value: { records: number } };
  t.equal(reply.error, null);
  t.ok(reply.value.records > 0, `${reply.value.records} records copied`);
  t.same(contents(replica, chosen), contents(master, chosen), "the chosen partitions are the master's exactly");
  t.same(contents(replica, new Set([...Array(4096).keys()].filter((p) => !chosen.has(p)))), untouchedBefore, 'the others are untouched');
  t.equal(into.roundsEnded, 1);
});

t.test('an image its master truncated is not applied by a replica that truncated first', async (t) => {
  const { master, replica, out, into } = setup();
  // The replica applied a truncate of set 1 at cut-off 1001 before its master's older writes arrived.
  replica.truncateCutoffs.set(1, 1001);
  put(master, out, 1, 1, 'written at 1001: truncated on the master too'); // last update 1000 + gen = 1001
  put(master, out, 2, 2, 'written at 1002: after the cut-off');
  out.commit();
  into.drain();
  t.equal(replica.store.lookup(computeDigest('s', 1), 0), -1, 'dropped');
  t.not(replica.store.lookup(computeDigest('s', 2), 0), -1, 'applied');
  replica.truncateCutoffs.clear();
  replica.truncateCutoffs.set(0xffff, 5000); // the whole namespace
  put(master, out, 3, 3, 'older than a namespace truncate');
  out.commit();
  into.drain();
  t.equal(replica.store.lookup(computeDigest('s', 3), 0), -1, 'a namespace-wide cut-off applies to every set');
});
