// The configuration's replication, disk-reserve and worker-port fields: defaults, bounds, the rule
// that a largest record fits a replication channel message, and that no two endpoints share a
// port; every refusal names the field.
import t from 'tap';
import { parseConfig, replicationOf, workerPort, type NodeConfig } from '../src/config';
import { AerieError } from '../src/errors';

const refusal = (raw: unknown): string => {
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof AerieError) return err.message;
    throw err;
  }
  return 'accepted';
};

t.test('replication defaults and caps', async (t) => {
  const c = parseConfig({ namespaces: [{ name: 'a' }, { name: 'b', replicationFactor: 1 }, { name: 'c', replicationFactor: 4 }] });
  t.same(
    c.namespaces.map((ns) => ns.replicationFactor),
    [2, 1, 4],
  );
  t.same(
    c.namespaces.map((ns) => replicationOf(ns, 2)),
    [2, 1, 2],
    'capped at the workers',
  );
  t.same(
    c.namespaces.map((ns) => replicationOf(ns, 1)),
    [1, 1, 1],
  );
  t.equal(c.workers.replicationChannelBytes, 32 * 1024 * 1024);
});

t.test('bad replication settings are refused with their path', async (t) => {
  t.match(refusal({ namespaces: [{ name: 'a', replicationFactor: 0 }] }), /namespaces\[0\]\.replicationFactor/);
  t.match(refusal({ namespaces: [{ name: 'a', replicationFactor: 5 }] }), /namespaces\[0\]\.replicationFactor/);
  t.match(refusal({ workers: { replicationChannelBytes: 100_000 } }), /workers\.replicationChannelBytes: must be a power of two/);
  t.match(refusal({ workers: { replicationChannelBytes: 1024 } }), /workers\.replicationChannelBytes/);
  t.match(
    refusal({ workers: { replicationChannelBytes: 65536 }, namespaces: [{ name: 'a', recordBytesMax: 65536 }] }),
    /workers\.replicationChannelBytes: must be at least twice namespaces\[0\]\.recordBytesMax/,
  );
  t.equal(refusal({ workers: { replicationChannelBytes: 65536 }, namespaces: [{ name: 'a', recordBytesMax: 65536, replicationFactor: 1 }] }), 'accepted', 'one copy: no channel to fit');
  t.equal(refusal({ workers: { replicationChannelBytes: 65536 }, namespaces: [{ name: 'a', recordBytesMax: 16384 }] }), 'accepted');
});

t.test('disk reserve defaults and bounds', async (t) => {
  const c = parseConfig({ namespaces: [{ name: 'a' }, { name: 'b', diskMinFreeBytes: 0, diskMinFreePct: 0 }] });
  t.same(
    c.namespaces.map((ns) => [ns.diskMinFreeBytes, ns.diskMinFreePct]),
    [
      [4 * 1024 * 1024, 5],
      [0, 0],
    ],
  );
  t.match(refusal({ namespaces: [{ name: 'a', diskMinFreePct: 100 }] }), /namespaces\[0\]\.diskMinFreePct/);
  t.match(refusal({ namespaces: [{ name: 'a', diskMinFreeBytes: -1 }] }), /namespaces\[0\]\.diskMinFreeBytes/);
  t.match(refusal({ namespaces: [{ name: 'a', diskMinFreeBytes: 1.5 }] }), /namespaces\[0\]\.diskMinFreeBytes/);
});

const ports = (c: NodeConfig, n: number) => Array.from({ length: n }, (_, i) => workerPort(c, i));

t.test('"next" follows service.port, and is ephemeral with it', async (t) => {
  const c = parseConfig({ service: { port: 4000 }, workers: { count: 3 } });
  t.equal(c.service.workerPorts, 'next', 'the default');
  t.same(ports(c, 3), [4001, 4002, 4003]);
  t.same(ports(parseConfig({ service: { port: 0 }, workers: { count: 2 } }), 2), [0, 0]);
});

t.test('0 and an explicit list', async (t) => {
  t.same(ports(parseConfig({ service: { port: 4000, workerPorts: 0 }, workers: { count: 2 } }), 2), [0, 0]);
  t.same(ports(parseConfig({ service: { port: 4000, workerPorts: [5000, 0] }, workers: { count: 2 } }), 2), [5000, 0]);
});

t.test('bad settings are refused with the field', async (t) => {
  t.match(refusal({ service: { workerPorts: 'auto' }, workers: { count: 2 } }), /service\.workerPorts/);
  t.match(refusal({ service: { workerPorts: [5000, 5001] } }), /service\.workerPorts: a list of ports needs workers\.count/);
  t.match(refusal({ service: { workerPorts: [5000] }, workers: { count: 2 } }), /service\.workerPorts: must list 2 ports/);
  t.match(refusal({ service: { workerPorts: [5000, 5000] }, workers: { count: 2 } }), /service\.workerPorts: two endpoints share a port/);
  t.match(refusal({ service: { port: 5000, workerPorts: [5000, 5001] }, workers: { count: 2 } }), /service\.workerPorts: two endpoints share a port/);
  t.match(refusal({ service: { workerPorts: [1.5, 2] }, workers: { count: 2 } }), /service\.workerPorts/);
  t.match(refusal({ service: { workerPorts: [70000, 2] }, workers: { count: 2 } }), /service\.workerPorts/);
  t.match(refusal({ service: { port: 65535 }, workers: { count: 2 } }), /service\.workerPorts: "next" runs past port 65535/);
  t.equal(refusal({ service: { port: 5000, workerPorts: [0, 0] }, workers: { count: 2 } }), 'accepted', 'ephemeral ports never collide');
});
