// Proves the readiness decision on a real partition map: each reason appears exactly when its
// condition holds (draining, a worker's first start, partitions whose master is down or moving,
// a namespace in stop-writes), in a fixed order, and a node with none of them is ready.
import t from 'tap';
import { PARTITION_COUNT } from '../../src/constants';
import { NotReady, notReadyReasons, type NamespaceWrites, type ReadinessInputs } from '../../src/ops/readiness';
import { PartitionMap } from '../../src/partition/map';

const WORKERS = 2;

function inputs(patch: Partial<ReadinessInputs> = {}): ReadinessInputs {
  const namespaces: NamespaceWrites[] = [
    { name: 'a', stopWrites: false, stopWritesReason: null, disk: null },
    { name: 'b', stopWrites: false, stopWritesReason: null, disk: null },
  ];
  return {
    draining: false,
    map: PartitionMap.create(WORKERS, [2, 1]),
    held: [new Uint8Array(PARTITION_COUNT), new Uint8Array(PARTITION_COUNT)],
    workers: [
      { state: 'up', restarts: 0 },
      { state: 'up', restarts: 0 },
    ],
    namespaces,
    ...patch,
  };
}

const codes = (s: ReadinessInputs) => notReadyReasons(s).map((r) => r.code);

t.test('a node with every partition served and nothing refused is ready', async (t) => {
  t.same(notReadyReasons(inputs()), []);
  t.same(notReadyReasons(inputs({ held: null })), [], 'nothing replicated: no holds to read');
});

t.test('draining', async (t) => {
  t.same(codes(inputs({ draining: true })), [NotReady.DRAINING]);
});

t.test('a worker in its first start is recovering; a restart is judged by its partitions', async (t) => {
  const first = inputs({
    workers: [
      { state: 'up', restarts: 0 },
      { state: 'starting', restarts: 0 },
    ],
  });
  const c = codes(first);
  t.equal(c[0], NotReady.RECOVERING);
  t.ok(c.includes(NotReady.PARTITIONS_UNSERVED), 'its partitions have no serving master either');
  const restarting = inputs({
    workers: [
      { state: 'up', restarts: 0 },
      { state: 'starting', restarts: 3 },
    ],
  });
  t.notOk(codes(restarting).includes(NotReady.RECOVERING), "a restart is not the node's recovery");
});

t.test('partitions whose master is down or moving are unserved, counted per namespace', async (t) => {
  const down = notReadyReasons(
    inputs({
      workers: [
        { state: 'up', restarts: 0 },
        { state: 'down', restarts: 1 },
      ],
    }),
  );
  t.same(
    down.map((r) => r.code),
    [NotReady.PARTITIONS_UNSERVED, NotReady.PARTITIONS_UNSERVED],
    'both namespaces',
  );
  t.match(down[0].message, `${PARTITION_COUNT / WORKERS} of ${PARTITION_COUNT}`, 'worker 1 masters half the partitions');

  const held = [new Uint8Array(PARTITION_COUNT), new Uint8Array(PARTITION_COUNT)];
  held[1][7] = 1;
  const moving = notReadyReasons(inputs({ held }));
  t.same(
    moving.map((r) => r.code),
    [NotReady.PARTITIONS_UNSERVED],
  );
  t.match(moving[0].message, /namespace b: 1 of/);
});

t.test("stop-writes, with the disk's own reason when it has one", async (t) => {
  const namespaces: NamespaceWrites[] = [
    { name: 'a', stopWrites: true, stopWritesReason: 'stopWritesPct', disk: null },
    { name: 'b', stopWrites: true, stopWritesReason: null, disk: { reason: 'log failed (I/O error)' } },
  ];
  const reasons = notReadyReasons(inputs({ namespaces }));
  t.same(
    reasons.map((r) => r.code),
    [NotReady.STOP_WRITES, NotReady.STOP_WRITES],
  );
  t.match(reasons[0].message, /stopWritesPct/);
  t.match(reasons[1].message, /log failed/);
});

t.test('every reason at once, in a fixed order', async (t) => {
  const all = inputs({
    draining: true,
    workers: [
      { state: 'up', restarts: 0 },
      { state: 'starting', restarts: 0 },
    ],
    namespaces: [
      { name: 'a', stopWrites: true, stopWritesReason: 'memoryBytesMax', disk: null },
      { name: 'b', stopWrites: false, stopWritesReason: null, disk: null },
    ],
  });
  t.same(codes(all), [NotReady.DRAINING, NotReady.RECOVERING, NotReady.PARTITIONS_UNSERVED, NotReady.STOP_WRITES, NotReady.PARTITIONS_UNSERVED]);
});
