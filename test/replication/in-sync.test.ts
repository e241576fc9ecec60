// Proves the shared block of copies that count answers a master worker as failover left it: every
// other holder that is up and in sync, read from another view of the same memory.
import t from 'tap';
import { InSyncCopies } from '../../src/replication/in-sync';
import { PartitionMap } from '../../src/partition/map';

t.test('replicas to wait for: other holders, in sync and up, as written by the primary', async (t) => {
  const map = PartitionMap.create(3, [3]);
  const primary = InSyncCopies.create(1, 3);
  const worker = InSyncCopies.attach(primary.sab, 1, 3);
  const out = new Int32Array(4);
  const p = 7;
  const master = map.master(0, p);
  t.equal(worker.replicasOf(map, 0, p, master, out), 0, 'nothing in sync yet: nothing to wait for');
  for (let k = 0; k < 3; k++) primary.sync[0][map.holder(0, p, k)][p] = 1;
  t.equal(worker.replicasOf(map, 0, p, master, out), 2, 'both other holders');
  t.notOk([...out.subarray(0, 2)].includes(master), 'never the master itself');
  const down = out[0];
  primary.setUp(down, false);
  t.equal(worker.isUp(down), false, 'seen from the other view');
  t.equal(worker.replicasOf(map, 0, p, master, out), 1, 'a worker that is down is not waited for');
  t.not(out[0], down);
  primary.setUp(down, true);
  primary.sync[0][down][p] = 0;
  t.equal(worker.replicasOf(map, 0, p, master, out), 1, 'nor a copy out of sync');
});
