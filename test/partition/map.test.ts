// The partition map's holders: each partition's copies are on distinct workers, its first holder
// is p mod n, and one worker's masters have their replicas spread evenly over all the others, so
// its death promotes partitions on every survivor instead of doubling one neighbour's load.
import t from 'tap';
import { PARTITION_COUNT } from '../../src/constants';
import { PartitionMap, holderOf } from '../../src/partition/map';

t.test('holders are distinct, and the first is p mod n', async (t) => {
  const problems: string[] = [];
  for (let n = 1; n <= 8; n++) {
    for (let p = 0; p < PARTITION_COUNT; p++) {
      const holders = Array.from({ length: n }, (_, k) => holderOf(p, n, k));
      if (new Set(holders).size !== n || holders[0] !== p % n) problems.push(`n ${n}, partition ${p}: ${holders}`);
    }
  }
  t.same(problems.slice(0, 5), [], 'every partition of n = 1..8 workers');
});

t.test("a worker's masters have their first replicas spread evenly over the others", async (t) => {
  for (let n = 2; n <= 8; n++) {
    for (let w = 0; w < n; w++) {
      const counts = new Array<number>(n).fill(0);
      for (let p = 0; p < PARTITION_COUNT; p++) if (holderOf(p, n, 0) === w) counts[holderOf(p, n, 1)]++;
      const others = counts.filter((_, i) => i !== w);
      t.equal(counts[w], 0);
      t.ok(Math.max(...others) - Math.min(...others) <= 1, `n ${n}, worker ${w}: ${others.join(' ')}`);
    }
  }
});

t.test('masters move and the version counts each change', async (t) => {
  const map = PartitionMap.create(3, [2, 1]);
  const v = map.version;
  t.same(map.countsByWorker(0), [1366, 1365, 1365]);
  t.ok(map.holds(0, 0, 0) && map.holds(0, 0, holderOf(0, 3, 1)) && !map.holds(1, 0, holderOf(0, 3, 1)), 'the second namespace keeps one copy');
  map.setMaster(0, 0, 2);
  map.bump();
  t.equal(map.master(0, 0), 2);
  t.equal(map.master(1, 0), 0, 'namespaces move independently');
  t.equal(map.version, v + 1);
  const attached = PartitionMap.attach(map.sab, 3, [2, 1]);
  t.equal(attached.master(0, 0), 2, 'workers read the same shared map');
});
