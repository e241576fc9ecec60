// Proves failover's partition ownership decisions on the real partition map, without threads: who
// masters a partition after a crash and in which order holders are promoted, which copies a dead,
// restarted, damaged or cold-started worker holds in sync or stale, and what a rebuild copies.
import t from 'tap';
import { PARTITION_COUNT } from '../../src/constants';
import { PartitionMap, holderOf } from '../../src/partition/map';
import * as own from '../../src/primary/ownership';

/** Failover's state for one namespace on a fresh map: every holder in sync, nothing held, all up. */
function setup(workers: number, copies: number) {
  const map = PartitionMap.create(workers, [copies]);
  const up = new Array<boolean>(workers).fill(true);
  const sync = [Array.from({ length: workers }, () => new Uint8Array(PARTITION_COUNT))];
  for (let p = 0; p < PARTITION_COUNT; p++) for (let k = 0; k < copies; k++) sync[0][holderOf(p, workers, k)][p] = 1;
  const state: own.CopyState = { map, sync, held: [new Uint8Array(PARTITION_COUNT)], up: (w) => up[w] };
  const mustCopy = Array.from({ length: workers }, () => new Uint8Array(PARTITION_COUNT));
  return { map, up, sync, state, mustCopy };
}

const partitionsOf = (workers: number, master: number) => Array.from({ length: PARTITION_COUNT }, (_, p) => p).filter((p) => p % workers === master);

t.test("a dead master's partitions go to their next holder, grouped by new master", async (t) => {
  const { up, sync, state, mustCopy } = setup(3, 2);
  t.same(own.plannedMoves(state, 0, mustCopy), [], 'nothing moves while every master is up and in sync');
  up[1] = false;
  own.workerDown(state, 0, 1);
  const moves = own.plannedMoves(state, 0, mustCopy);
  t.same(moves.map((m) => `${m.from}->${m.to}`).sort(), ['1->0', '1->2'], 'worker 1 gives its partitions to both survivors');
  const moved = moves.flatMap((m) => m.partitions).sort((a, b) => a - b);
  t.same(moved, partitionsOf(3, 1), 'exactly the partitions worker 1 mastered move');
  t.ok(
    moves.every((m) => m.partitions.every((p) => m.to === holderOf(p, 3, 1))),
    'each partition goes to its second holder',
  );
  const counts = moves.map((m) => m.partitions.length);
  t.ok(Math.abs(counts[0] - counts[1]) <= 1, `spread evenly: ${counts.join(' / ')}`);
  t.equal(sync[0][1][1], 1, 'the dead worker keeps sync on what it masters (no other copy may exist)');
  t.same(
    mustCopy.map((row) => row.reduce((a, b) => a + b, 0)),
    [0, 0, 0],
    'with two copies no other holder is away: nothing to copy later',
  );
  const held = state.held[0];
  for (const p of moved) held[p] = 1;
  t.same(own.plannedMoves(state, 0, mustCopy), [], 'a held partition is not planned twice');
});

t.test('promotion follows the succession order, skipping holders away or out of sync', async (t) => {
  const { up, sync, state, mustCopy } = setup(4, 3);
  const p = 5; // holders of 5 among 4 workers: 1, then two others in order
  const [h0, h1, h2] = [0, 1, 2].map((k) => holderOf(p, 4, k));
  t.equal(own.preferredMaster(state, 0, p), h0, 'the configured master while it is up');
  up[h0] = false;
  t.equal(own.preferredMaster(state, 0, p), h1, 'then the second holder');
  sync[0][h1][p] = 0;
  t.equal(own.preferredMaster(state, 0, p), h2, 'the third when the second is out of sync');
  t.equal(own.firstInSync(state, 0, p), h0, 'firstInSync ignores who is up');
  up[h2] = false;
  t.equal(own.preferredMaster(state, 0, p), -1, 'no holder up and in sync: none');
  up[h2] = true;
  own.plannedMoves(state, 0, mustCopy);
  t.equal(mustCopy[h0][p], 0, 'the old master, away, is not marked: its copy falls behind when the move ends');
  const fresh = setup(4, 3);
  fresh.up[h0] = false;
  fresh.up[h2] = false;
  own.plannedMoves(fresh.state, 0, fresh.mustCopy);
  t.equal(fresh.mustCopy[h2][p], 1, 'a replica away while its partition changes master must be copied when it returns');
});

t.test('a worker that dies loses sync on its replicas and gets back what its journal covers', async (t) => {
  const { map, up, sync, state } = setup(2, 2);
  const replicas = own.replicaPartitions(map, 0, 1);
  t.same(replicas, partitionsOf(2, 0), "worker 1's replicas are worker 0's masters");
  up[1] = false;
  const was = own.workerDown(state, 0, 1);
  t.equal(
    was.reduce((a, b) => a + b, 0),
    PARTITION_COUNT / 2,
    'every replica it held in sync is remembered',
  );
  t.ok(
    replicas.every((p) => sync[0][1][p] === 0),
    'its replicas are out of sync',
  );
  t.ok(
    partitionsOf(2, 1).every((p) => sync[0][1][p] === 1),
    'its own masters keep sync',
  );
  up[1] = true;

  const adopted = own.readmitted(state, 0, 1, was, true, new Uint8Array(PARTITION_COUNT));
  t.same(adopted.only, partitionsOf(2, 1), 'it still masters its partitions (none moved): its copy is the one there is');
  t.same(adopted.journalled, replicas, 'an adopted memory plus the journal makes each replica whole');

  own.workerDown(state, 0, 1);
  const cold = own.readmitted(state, 0, 1, was, false, new Uint8Array(PARTITION_COUNT));
  t.same(cold.journalled, [], 'a thread that did not adopt its memory has no prefix to journal onto');
  t.same(own.outOfSync(state, 0, 1), replicas, 'so every replica is copied');

  const mustCopy = new Uint8Array(PARTITION_COUNT);
  mustCopy[replicas[0]] = 1;
  own.workerDown(state, 0, 1);
  const marked = own.readmitted(state, 0, 1, was, true, mustCopy);
  t.equal(marked.journalled.length, replicas.length - 1, 'a copy marked must-copy (a missed truncate, an overflow) is not trusted');
  t.equal(sync[0][1][replicas[0]], 0);

  state.held[0][1] = 1;
  const whileHeld = own.readmitted(state, 0, 1, was, true, new Uint8Array(PARTITION_COUNT));
  t.notOk(whileHeld.only.includes(1), 'a partition moving away from it is not counted as its own');
});

t.test('a start masters each partition on a holder whose copy is current', async (t) => {
  const { map, sync, state } = setup(2, 2);
  const stale = [new Uint8Array(PARTITION_COUNT), new Uint8Array(PARTITION_COUNT)];
  stale[0][0] = 1; // worker 0's copy of its own partition 0 is behind: worker 1 serves it
  stale[0][2] = 1;
  stale[1][2] = 1; // both copies of partition 2 stale: the configured master's is used
  stale[1][4] = 1; // a stale replica: no move
  const { promoted, noCurrentCopy } = own.startingMasters(state, 0, stale);
  t.same(promoted, [{ partition: 0, worker: 1 }]);
  t.same(noCurrentCopy, [2]);
  t.equal(sync[0][0][2], 1, "with no current copy, the master's is taken as in sync");
  t.equal(sync[0][1][4], 0, 'a stale replica starts out of sync');
  for (const { partition, worker } of promoted) map.setMaster(0, partition, worker);

  own.distrustReplicas(state, 0, stale);
  t.equal(sync[0][0][0], 0, 'after a crash the old master of a promoted partition is a replica: out of sync');
  t.equal(stale[0][0], 1);
  t.equal(sync[0][1][0], 1, 'the new master keeps its copy');
  t.equal(sync[0][1][6], 0, 'every replica copy is distrusted');
  t.equal(stale[1][6], 1, '… and recorded stale');
  t.equal(sync[0][0][6], 1, 'every master is trusted');

  const none = own.startingMasters(setup(2, 2).state, 0, null);
  t.same(none, { promoted: [], noCurrentCopy: [] }, 'no record (a memory namespace): every holder in sync, nothing moves');
});

t.test("a damaged log's copies are distrusted; its masters go to a holder whole on record", async (t) => {
  const { sync, state } = setup(2, 2);
  const onRecord = [new Uint8Array(PARTITION_COUNT), new Uint8Array(PARTITION_COUNT)];
  // After the crash's cold start, worker 1's replicas are stale (distrustReplicas): on record
  // before it, only partition 2's copy on worker 1 was behind.
  onRecord[1][2] = 1;
  for (const p of partitionsOf(2, 0)) sync[0][1][p] = 0;
  const { trusted, distrusted, kept } = own.distrustDamaged(state, 0, [true, false], onRecord);
  t.equal(kept, 1, 'partition 2 has no whole copy on record: the damaged master keeps it');
  t.notOk(distrusted[0].includes(2));
  t.same(
    trusted[1],
    partitionsOf(2, 0).filter((p) => p !== 2),
    "every other partition of worker 0 is trusted to worker 1's copy",
  );
  t.equal(sync[0][1][0], 1);
  t.same(
    distrusted[0],
    Array.from({ length: PARTITION_COUNT }, (_, p) => p).filter((p) => p !== 2),
    'every copy of the damaged worker but the kept one is out of sync',
  );
  t.equal(own.preferredMaster(state, 0, 0), 1, 'so worker 1 is the rightful master of partition 0');
});

t.test('a rebuild copies from each partition’s live, in-sync master, in bounded rounds', async (t) => {
  const { map, up, sync, state } = setup(3, 2);
  const wanted = own.replicaPartitions(map, 0, 2);
  for (const p of wanted) sync[0][2][p] = 0;
  t.same(own.outOfSync(state, 0, 2), wanted);
  const rounds = own.copyRounds(state, 0, 2, wanted, 100);
  t.same([...new Set(rounds.map((r) => r.source))].sort(), [0, 1], 'each partition from its own master');
  t.ok(
    rounds.every((r) => r.partitions.length <= 100 && r.partitions.every((p) => map.master(0, p) === r.source)),
    'at most 100 a round, each from its source',
  );
  t.same(
    rounds.flatMap((r) => r.partitions).sort((a, b) => a - b),
    wanted,
    'every partition once',
  );
  up[0] = false;
  t.ok(
    own.copyRounds(state, 0, 2, wanted, 100).every((r) => r.source === 1),
    'a master that is away gives nothing (a later refill takes its partitions)',
  );
  sync[0][1][wanted.find((p) => map.master(0, p) === 1)!] = 0;
  t.equal(own.copyRounds(state, 0, 2, wanted, 100).flatMap((r) => r.partitions).length, wanted.filter((p) => map.master(0, p) === 1).length - 1, 'nor one out of sync');
  t.same(own.copyRounds(state, 0, 2, partitionsOf(3, 2), 100), [], 'nor does the worker itself for its own masters');
});

t.test('a write waits for the in-sync live replicas; a namespace is in sync when all are', async (t) => {
  const { up, sync, state } = setup(3, 3);
  const out = new Int32Array(3);
  const p = 7;
  const master = holderOf(p, 3, 0);
  t.equal(own.syncReplicas(state, 0, p, master, out), 2);
  t.same([...out.subarray(0, 2)], [holderOf(p, 3, 1), holderOf(p, 3, 2)]);
  t.ok(own.namespaceInSync(state, 0));
  up[holderOf(p, 3, 1)] = false;
  t.equal(own.syncReplicas(state, 0, p, master, out), 1, 'not a replica that is away');
  t.notOk(own.namespaceInSync(state, 0));
  up[holderOf(p, 3, 1)] = true;
  sync[0][holderOf(p, 3, 2)][p] = 0;
  t.equal(own.syncReplicas(state, 0, p, master, out), 1, 'nor one out of sync');
  t.notOk(own.namespaceInSync(state, 0));
  sync[0][holderOf(p, 3, 2)][p] = 1;
  state.held[0][p] = 1;
  t.notOk(own.namespaceInSync(state, 0), 'nor while a partition moves');
});
