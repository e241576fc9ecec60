// Proves the memory limits agree with what INFO says: a write refused for memory names the limit
// that refused it, INFO shows that same state at once, and a memoryBytesMax in which a worker
// could never take a write is refused when the configuration is read.
import t from 'tap';
import { Key, parseConfig, status, type Client } from '../../src/index';
import { workerShareBytesMin } from '../../src/memory-sizing';
import { fillUntilRefused } from '../helpers/fill';
import { startTestNode } from '../helpers/node';
import { waitForValue } from '../helpers/wait';

const MIB = 1024 * 1024;

type NsInfo = { memoryUsedPct: number; stopWrites: boolean; stopWritesReason: string | null; stopWritesPct: number };
const nsInfo = async (client: Client) => ((await client.info()).namespaces as NsInfo[])[0];

t.test('config refuses a memoryBytesMax in which no worker can take a write', async (t) => {
  const config = (memoryBytesMax: number) => ({ workers: { count: 2 }, namespaces: [{ name: 'test', memoryBytesMax }] });
  t.throws(() => parseConfig(config(1 * MIB)), { code: status.PARAMETER }, '1 MiB: the initial index alone does not fit a share');
  t.throws(() => parseConfig(config(4 * MIB)), { code: status.PARAMETER }, '4 MiB: no room for a block of a largest record beside the index');
  const min = 2 * workerShareBytesMin(1 * MIB, 90);
  t.throws(() => parseConfig(config(min - 2)), { code: status.PARAMETER }, 'one byte per worker below the minimum');
  t.equal(parseConfig(config(min)).namespaces[0].memoryBytesMax, min, 'the minimum itself');
  t.ok(parseConfig({ workers: { count: 2 }, namespaces: [{ name: 'test', memoryBytesMax: 2 * MIB, recordBytesMax: 64 * 1024 }] }), 'smaller records, smaller blocks, smaller minimum');

  // A node at the minimum starts and takes a largest record.
  const { client } = await startTestNode(t, (c) => {
    c.namespaces[0].memoryBytesMax = min;
  });
  await client.put(new Key('test', 'min', 1), { v: Buffer.alloc(MIB - 1024) });
});

t.test('refused below stopWritesPct by the share itself: the refusal and INFO both say so', async (t) => {
  // 6 MiB over 2 workers: 3 MiB shares of a 512 KiB index and 2 MiB blocks; the second block
  // does not fit, at 83 % of the share, below stop-writes (90 %).
  const { client } = await startTestNode(t, (c) => {
    c.namespaces[0].memoryBytesMax = 6 * MIB;
  });
  const refused = await fillUntilRefused(client, 100 * 1024, 200);
  t.equal(refused.code, status.SERVER_MEM);
  t.match(refused.message, /memoryBytesMax/, `names the limit: ${refused.message}`);
  t.match(refused.message, /3145728/, 'and the share it ran out of');
  const ns = await nsInfo(client);
  t.equal(ns.stopWrites, true, 'INFO: writes are refused');
  t.equal(ns.stopWritesReason, 'memoryBytesMax', 'INFO: by the share, not stopWritesPct');
  t.ok(ns.memoryUsedPct < ns.stopWritesPct, `INFO: ${ns.memoryUsedPct} % used, below ${ns.stopWritesPct} %`);
  // Reads and deletes go on.
  await client.get(new Key('test', 'fill', 0));
  await client.remove(new Key('test', 'fill', 0));
});

t.test('refused past stopWritesPct: the refusal names it, INFO shows the fullest share past it', async (t) => {
  // 64 KiB records keep blocks at 256 KiB, 1/16 of a 4 MiB share: stop-writes comes first.
  const { client } = await startTestNode(t, (c) => {
    c.namespaces[0].memoryBytesMax = 8 * MIB;
    c.namespaces[0].recordBytesMax = 64 * 1024;
  });
  const refused = await fillUntilRefused(client, 8 * 1024, 2000);
  t.equal(refused.code, status.SERVER_MEM);
  t.match(refused.message, /stopWritesPct 90/, `names the limit: ${refused.message}`);
  const ns = await nsInfo(client);
  t.equal(ns.stopWrites, true);
  t.equal(ns.stopWritesReason, 'stopWritesPct');
  t.ok(ns.memoryUsedPct >= ns.stopWritesPct, `INFO: ${ns.memoryUsedPct} % used, at or past ${ns.stopWritesPct} %`);
});

// A truncate frees the arena's blocks, and the next writes reuse them: stop-writes measures the
// blocks in use, not every block ever made (before, a namespace filled to stopWritesPct and then
// truncated refused every write until a restart: INFO still showed 93.8 % used with no record).
t.test('stop-writes ends once a truncate frees the memory', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.namespaces[0].memoryBytesMax = 8 * MIB;
    c.namespaces[0].recordBytesMax = 64 * 1024;
  });
  const refused = await fillUntilRefused(client, 8 * 1024, 2000);
  t.equal(refused.code, status.SERVER_MEM, 'filled to stop-writes');
  await client.truncate('test');
  const ns = await waitForValue(
    () => nsInfo(client),
    (n) => !n.stopWrites,
    { what: 'INFO to leave stop-writes after the truncate', timeoutMs: 10_000, intervalMs: 50 },
  );
  t.ok(ns.memoryUsedPct < ns.stopWritesPct, `INFO: ${ns.memoryUsedPct} % used after the truncate`);
  for (let i = 0; i < 200; i++) await client.put(new Key('test', 'after', i), { v: Buffer.alloc(8 * 1024, 1) });
  t.pass('200 writes taken after the truncate');
  t.equal((await fillUntilRefused(client, 8 * 1024, 2000)).code, status.SERVER_MEM, 'and the namespace fills to stop-writes again');
});
