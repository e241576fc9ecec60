// Proves who serves a keyed request, as every routing thread decides it from the shared map and
// holds: a worker's endpoint serves exactly the partitions its worker masters and nobody moves,
// and forwards every other; the primary holds a partition changing master and otherwise names
// its master; both follow the map when a partition moves.
import t from 'tap';
import { PARTITION_COUNT } from '../../src/constants';
import { PartitionHolds } from '../../src/partition/holds';
import { PartitionMap } from '../../src/partition/map';
import { EndpointRoute, HOLD_HERE, endpointRoute, primaryTarget } from '../../src/partition/ownership';

function setup() {
  const map = PartitionMap.create(3, [2, 1]);
  const holds = PartitionHolds.create(2, 3);
  // A worker's view of the same memory, as a worker thread attaches it.
  const workerMap = PartitionMap.attach(map.sab, 3, [2, 1]);
  const workerHolds = PartitionHolds.attach(holds.sab, 2, 3);
  return { map, holds, workerMap, workerHolds };
}

t.test('each partition is served by exactly one endpoint, its master, and forwarded by the others', async (t) => {
  const { map, workerMap, workerHolds } = setup();
  for (let ns = 0; ns < 2; ns++) {
    for (let p = 0; p < PARTITION_COUNT; p++) {
      const serving = [0, 1, 2].filter((w) => endpointRoute(workerMap, workerHolds, ns, p, w, false) === EndpointRoute.SERVE);
      if (serving.length !== 1 || serving[0] !== map.master(ns, p)) {
        t.fail(`ns ${ns} partition ${p}: served by ${serving.join(',')}, master ${map.master(ns, p)}`);
        return;
      }
      if (primaryTarget(map, null, ns, p) !== map.master(ns, p)) {
        t.fail(`ns ${ns} partition ${p}: the primary does not route to its master`);
        return;
      }
    }
  }
  t.pass('4096 partitions of two namespaces');
});

t.test('a partition changing master is forwarded by its old master and held by the primary; then it follows the map', async (t) => {
  const { map, holds, workerMap, workerHolds } = setup();
  const p = 10;
  const from = map.master(0, p);
  const to = map.holder(0, p, 1);
  t.equal(endpointRoute(workerMap, workerHolds, 0, p, from, false), EndpointRoute.SERVE);
  holds.hold(0, p);
  t.equal(endpointRoute(workerMap, workerHolds, 0, p, from, false), EndpointRoute.FORWARD, 'held: the old master forwards');
  t.equal(endpointRoute(workerMap, workerHolds, 0, p, to, false), EndpointRoute.FORWARD, 'and the new one does not serve yet');
  t.equal(primaryTarget(map, holds.held, 0, p), HOLD_HERE, 'the primary holds it');
  t.equal(primaryTarget(map, holds.held, 0, p + 1), map.master(0, p + 1), 'other partitions are untouched');
  map.setMaster(0, p, to);
  Atomics.store(holds.held[0], p, 0);
  t.equal(endpointRoute(workerMap, workerHolds, 0, p, to, false), EndpointRoute.SERVE, 'the new master serves it');
  t.equal(endpointRoute(workerMap, workerHolds, 0, p, from, false), EndpointRoute.FORWARD, 'the old one forwards it');
  t.equal(primaryTarget(map, holds.held, 0, p), to, 'the primary routes to the new master');
});

t.test('a worker whose stores a restore holds serves nothing', async (t) => {
  const { map, workerMap, workerHolds } = setup();
  const p = 5;
  t.equal(endpointRoute(workerMap, workerHolds, 1, p, map.master(1, p), true), EndpointRoute.FORWARD);
});
