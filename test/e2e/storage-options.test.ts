// Proves two file-namespace options through a real node: records up to a recordBytesMax above
// the log writer's default buffer go to the log and come back after a restart; and a log damaged
// in the middle stops start-up with its file and offset unless recoverySkipCorrupt is set, when
// the node starts with every record outside the damaged region; with two copies, with every record.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key } from '../../src/index';
import type { NodeConfig } from '../../src/config';
import { startNode } from '../../src/primary/node';
import { loadConfig } from '../../src/config';
import { startTestNode } from '../helpers/node';
import { compareCopies, waitInSync } from '../helpers/replicas';
import { waitForValue } from '../helpers/wait';

const fileNs =
  (dataDir: string, more: (c: NodeConfig) => void = () => undefined) =>
  (c: NodeConfig) => {
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = dataDir;
    more(c);
  };

const damageKeys = Array.from({ length: 2000 }, (_, i) => new Key('test', 's', i));

/**
 * Writes 2000 records through a node started with `patch`, stops it, and damages the middle of
 * worker 0's first sealed log segment (corruption, not a torn tail). Returns that segment's name
 * and how many segments worker 0 wrote.
 */
async function writeThenDamage(t: Test, patch: (c: NodeConfig) => void, dataDir: string): Promise<{ segment: string; segmentCount: number }> {
  const { node, client } = await startTestNode(t, patch);
  for (let i = 0; i < damageKeys.length; i += 200) await Promise.all(damageKeys.slice(i, i + 200).map((k, j) => client.put(k, { i: i + j, pad: 'p'.repeat(100) })));
  await client.close();
  await node.close();
  const dir = path.join(dataDir, 'test', 'worker-00');
  const segments = fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .sort();
  const first = path.join(dir, segments[0]);
  const bytes = fs.readFileSync(first);
  bytes.fill(0x55, 1000, 1100);
  fs.writeFileSync(first, bytes);
  return { segment: segments[0], segmentCount: segments.length };
}

t.test('records larger than the default log buffer are logged and replayed', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-options-')), 'data');
  const big = fileNs(dataDir, (c) => (c.namespaces[0].recordBytesMax = 4 * 1024 * 1024));
  const value = Buffer.alloc(3 * 1024 * 1024, 7);
  const key = new Key('test', 'big', 1);
  {
    const { node, client } = await startTestNode(t, big);
    await client.put(key, { v: value });
    await client.close();
    await node.close();
  }
  const { client } = await startTestNode(t, big);
  t.ok(Buffer.from((await client.get(key)).bins.v as Uint8Array).equals(value), 'a 3 MiB record back after a restart');
});

t.test('a log damaged in the middle: refused, or skipped when asked', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-options-')), 'data');
  const smallSegments = (c: NodeConfig) => {
    c.namespaces[0].segmentBytes = 64 * 1024;
    c.namespaces[0].recordBytesMax = 32 * 1024; // a largest record must fit a segment
    // One copy: what the damage holds is lost for sure (with two, the other worker's copy may
    // serve it, depending on which worker masters the damaged record's partition).
    c.namespaces[0].replicationFactor = 1;
  };
  const small = fileNs(dataDir, smallSegments);
  const keys = damageKeys;
  const { segment, segmentCount } = await writeThenDamage(t, small, dataDir);
  t.ok(segmentCount >= 3, `${segmentCount} segments`);

  const config = loadConfig();
  config.service.port = 0;
  config.workers.count = 2;
  config.log.level = 'silent';
  small(config);
  await t.rejects(startNode(config), { message: new RegExp(`${segment} offset \\d+`) }, 'start-up stops, naming the file and offset');

  const { client } = await startTestNode(
    t,
    fileNs(dataDir, (c) => {
      smallSegments(c);
      c.namespaces[0].recoverySkipCorrupt = true;
    }),
  );
  const got = (await client.batchGet(keys)).filter((r) => r !== null);
  t.ok(got.length > 1900 && got.length < 2000, `started with the ${got.length} records outside the damage`);
  t.ok(
    got.every((r) => r!.bins.pad === 'p'.repeat(100)),
    'and nothing garbled among them',
  );
});

// With two copies, the damaged worker's records are still on the other worker: it masters them
// and the damaged worker is copied again, so nothing is lost (before, the damaged worker kept
// mastering its partitions and the records in the skipped region were gone).
t.test('a damaged log skipped with two copies: every record served from the whole copy', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-options-')), 'data');
  const smallSegments = (c: NodeConfig) => {
    c.namespaces[0].segmentBytes = 64 * 1024;
    c.namespaces[0].recordBytesMax = 32 * 1024;
    c.namespaces[0].replicationFactor = 2;
  };
  const keys = damageKeys;
  await writeThenDamage(t, fileNs(dataDir, smallSegments), dataDir);

  const { node, client } = await startTestNode(
    t,
    fileNs(dataDir, (c) => {
      smallSegments(c);
      c.namespaces[0].recoverySkipCorrupt = true;
    }),
  );
  t.ok(await waitInSync(client), 'every copy in sync once the damaged worker is copied again');
  const got = (await client.batchGet(keys)).filter((r) => r !== null);
  t.equal(got.length, keys.length, 'every record served');
  t.ok(
    got.every((r) => r!.bins.pad === 'p'.repeat(100)),
    'and nothing garbled',
  );
  const ns = await waitForValue(
    async () => ((await client.info()).namespaces as { records: number; copies: number }[])[0],
    (x) => x.records === keys.length && x.copies === 2 * keys.length,
    { what: 'INFO to count every record twice', timeoutMs: 10_000, intervalMs: 50 },
  );
  t.equal(ns.copies, 2 * keys.length, 'both copies whole');
  t.same(compareCopies(node).problems, [], 'the copies agree');
});
