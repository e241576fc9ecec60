// The configuration's replication and disk-reserve fields: defaults, bounds, and the rule that a
// largest record fits a replication channel message; every refusal names the field.
import t from 'tap';
import { parseConfig, replicationOf } from '../src/config';
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
  t.same(c.namespaces.map((ns) => ns.replicationFactor), [2, 1, 4]);
  t.same(c.namespaces.map((ns) => replicationOf(ns, 2)), [2, 1, 2], 'capped at the workers');
  t.same(c.namespaces.map((ns) => replicationOf(ns, 1)), [1, 1, 1]);
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
  t.same(c.namespaces.map((ns) => [ns.diskMinFreeBytes, ns.diskMinFreePct]), [[4 * 1024 * 1024, 5], [0, 0]]);
  t.match(refusal({ namespaces: [{ name: 'a', diskMinFreePct: 100 }] }), /namespaces\[0\]\.diskMinFreePct/);
  t.match(refusal({ namespaces: [{ name: 'a', diskMinFreeBytes: -1 }] }), /namespaces\[0\]\.diskMinFreeBytes/);
  t.match(refusal({ namespaces: [{ name: 'a', diskMinFreeBytes: 1.5 }] }), /namespaces\[0\]\.diskMinFreeBytes/);
});
