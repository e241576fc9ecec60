// Proves a clean restart (SIGTERM: node.close()) of a replicated file namespace comes back to the
// state it left, again and again: near the memory limit every worker stays up, memory use and the
// log's size stay put, every record is served and writes are taken; and a node that did not stop
// cleanly (kill -9) still copies its replicas at the next start, writing only what differs, so
// repeated kills do not grow the log or memory either.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key, status } from '../../src/index';
import type { Client } from '../../src/client/index';
import type { NodeConfig } from '../../src/config';
import { connect } from '../../src/client/index';
import { startCliNode } from '../helpers/cli-node';
import { startTestNode, type TestNode } from '../helpers/node';
import { compareCopies, waitInSync } from '../helpers/replicas';
import { waitForValue } from '../helpers/wait';

const RESTARTS = 4;
const MEMORY_BYTES_MAX = 24 * 1024 * 1024;
const FILL_PCT = 75;
const CHUNK = 500;

interface NsInfo {
  records: number;
  copies: number;
  memoryBytes: number;
  stopWrites: boolean;
}
interface WorkerInfo {
  state: string;
  restarts: number;
}

const nsInfo = async (client: Client) => ((await client.info()).namespaces as NsInfo[])[0];

/** Bytes of every log segment of the namespace (snapshots aside). */
function logBytes(dataDir: string): number {
  let sum = 0;
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.startsWith('seg-')) sum += fs.statSync(full).size;
    }
  };
  walk(path.join(dataDir, 'test'));
  return sum;
}

async function servedCount(client: Client, keys: Key[]): Promise<number> {
  let found = 0;
  for (let i = 0; i < keys.length; i += CHUNK) {
    const got = await client.batchGet(keys.slice(i, i + CHUNK));
    got.forEach((r, j) => {
      if (r !== null && r.bins.i === i + j) found++;
    });
  }
  return found;
}

/** Writes records until the namespace uses FILL_PCT of its memory (bounded by the record count). */
async function fill(client: Client): Promise<Key[]> {
  const keys: Key[] = [];
  const bin = 'x'.repeat(200);
  for (let round = 0; round < 400; round++) {
    const chunk = Array.from({ length: CHUNK }, (_, j) => new Key('test', 's', keys.length + j));
    await Promise.all(chunk.map((k, j) => client.put(k, { i: keys.length + j, bin })));
    keys.push(...chunk);
    // INFO's figures lag by up to 50 ms; a chunk more or less does not matter.
    if ((await nsInfo(client)).memoryBytes >= (MEMORY_BYTES_MAX * FILL_PCT) / 100) return keys;
  }
  throw new Error(`${keys.length} records did not reach ${FILL_PCT} % of memory`);
}

/** INFO once every copy is in sync and its counts show every record twice; fails after 10 s. */
async function settled(t: Test, n: TestNode, records: number): Promise<NsInfo> {
  t.ok(await waitInSync(n.client), 'every copy in sync');
  return waitForValue(
    () => nsInfo(n.client),
    (ns) => ns.records === records && ns.copies === 2 * records,
    { what: `INFO to count ${records} records held twice`, timeoutMs: 10_000, intervalMs: 50 },
  );
}

t.test('clean restarts near the memory limit come back to the state they left', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-restart-steady-')), 'data');
  const patch = (c: NodeConfig) => {
    const ns = c.namespaces[0];
    ns.storage = 'file';
    ns.dataDir = dataDir;
    ns.replicationFactor = 2;
    ns.memoryBytesMax = MEMORY_BYTES_MAX;
    ns.stopWritesPct = 90;
    ns.compactionIntervalMs = 0; // the log's size is judged as written, not as compaction leaves it
  };
  let n = await startTestNode(t, patch);
  const keys = await fill(n.client);
  const first = await settled(t, n, keys.length);
  t.comment(`${keys.length} records, memory ${first.memoryBytes} of ${MEMORY_BYTES_MAX} bytes`);
  await n.client.close();
  await n.node.close();
  const logBefore = logBytes(dataDir);

  for (let i = 1; i <= RESTARTS; i++) {
    n = await startTestNode(t, patch);
    // The records filled, and one written after each restart before this one.
    const records = keys.length + i - 1;
    const ns = await settled(t, n, records);
    const workers = (await n.client.info()).workers as WorkerInfo[];
    t.same(
      workers.map((w) => [w.state, w.restarts]),
      workers.map(() => ['up', 0]),
      `restart ${i}: every worker up, none restarted`,
    );
    t.equal(ns.copies, 2 * records, `restart ${i}: every record held twice`);
    t.ok(ns.memoryBytes <= first.memoryBytes * 1.05, `restart ${i}: memory ${ns.memoryBytes} stays within 5 % of ${first.memoryBytes}`);
    t.notOk(ns.stopWrites, `restart ${i}: writes are not stopped`);
    t.equal(await servedCount(n.client, keys), keys.length, `restart ${i}: every record served`);
    t.same(compareCopies(n.node).problems, [], `restart ${i}: the copies agree`);
    await n.client.put(new Key('test', 'after', i), { i });
    await n.client.close();
    await n.node.close();
    const log = logBytes(dataDir);
    // One small record per restart is written; a copy of the replicas would add megabytes.
    t.ok(log <= logBefore + 64 * 1024, `restart ${i}: log ${log} bytes stays within 64 KiB of ${logBefore}`);
  }
});

t.test('a first start copies nothing; a start after a stop that was not clean copies the replicas again, writing only what differs', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-restart-steady-')), 'data');
  const patch = (c: NodeConfig) => {
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = dataDir;
    c.namespaces[0].replicationFactor = 2;
  };
  let n = await startTestNode(t, patch);
  const keys = Array.from({ length: 4000 }, (_, i) => new Key('test', 's', i));
  for (let i = 0; i < keys.length; i += CHUNK) await Promise.all(keys.slice(i, i + CHUNK).map((k, j) => n.client.put(k, { i: i + j, bin: 'y'.repeat(100) })));
  t.ok(await waitInSync(n.client), "the first start's copies are done");
  const firstRebuilds = ((await n.client.info()).workers as { lastRebuild: { partitions: number } | null }[]).map((w) => w.lastRebuild);
  t.same(firstRebuilds, [null, null], "a namespace's first start holds nothing, so it rebuilds nothing");
  const before = await settled(t, n, keys.length);
  await n.client.close();
  await n.node.close();
  const logBefore = logBytes(dataDir);
  // What a kill -9 leaves: the replica state without the clean-stop mark.
  const stateFile = path.join(dataDir, 'test', 'replicas.json');
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { cleanStop?: boolean };
  t.equal(state.cleanStop, true, 'a clean stop is recorded');
  delete state.cleanStop;
  fs.writeFileSync(stateFile, JSON.stringify(state));
  n = await startTestNode(t, patch);
  t.ok(await waitInSync(n.client), 'every copy in sync');
  const rebuilt = ((await n.client.info()).workers as { lastRebuild: { partitions: number } | null }[]).map((w) => w.lastRebuild?.partitions ?? 0);
  t.equal(
    rebuilt.reduce((a, b) => a + b, 0),
    4096,
    'every replica partition copied from its master',
  );
  t.equal(await servedCount(n.client, keys), keys.length, 'every record served');
  t.equal(JSON.parse(fs.readFileSync(stateFile, 'utf8')).cleanStop, undefined, 'the mark is gone while the node runs');
  await t.rejects(n.client.get(new Key('test', 's', keys.length)), { code: status.KEY_NOT_FOUND }, 'nothing else appeared');
  const after = await settled(t, n, keys.length);
  t.equal(after.copies, 2 * keys.length, 'every record held twice');
  t.ok(after.memoryBytes <= before.memoryBytes * 1.05, `memory ${after.memoryBytes} stays within 5 % of ${before.memoryBytes}`);
  t.same(compareCopies(n.node).problems, [], 'the copies agree');
  await n.client.close();
  await n.node.close();
  // The copy found every replica record already there: it wrote nothing (it used to log a delete
  // and a put of each, about 2 × 4000 records here).
  const log = logBytes(dataDir);
  t.ok(log <= logBefore + 16 * 1024, `log ${log} bytes stays within 16 KiB of ${logBefore}`);
});

t.test('kill -9 restarts near the memory limit: each copies the replicas, and the log and memory stay put', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-restart-kill9-'));
  const dataDir = path.join(dir, 'data');
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      service: { port: 0 },
      workers: { count: 2 },
      namespaces: [{ name: 'test', storage: 'file', dataDir, replicationFactor: 2, compactionIntervalMs: 0, memoryBytesMax: MEMORY_BYTES_MAX, stopWritesPct: 90 }],
      log: { level: 'warn' },
    }),
  );
  let keys: Key[] = [];
  let logFirst = 0;
  let memoryFirst = 0;
  for (let life = 0; life <= 3; life++) {
    const node = await startCliNode(config);
    const client = await connect({ hosts: node.host, timeoutMs: 10_000 });
    try {
      if (life === 0) {
        t.ok(await waitInSync(client), "the first start's copies are done");
        keys = await fill(client);
      }
      t.ok(await waitInSync(client), `life ${life}: every copy in sync`);
      const ns = await waitForValue(
        () => nsInfo(client),
        (n) => n.copies === 2 * keys.length,
        { what: `life ${life}: INFO to count ${2 * keys.length} copies`, timeoutMs: 10_000, intervalMs: 50 },
      );
      t.equal(ns.copies, 2 * keys.length, `life ${life}: every record held twice`);
      if (life === 0) memoryFirst = ns.memoryBytes;
      else t.ok(ns.memoryBytes <= memoryFirst * 1.05, `life ${life}: memory ${ns.memoryBytes} within 5 % of ${memoryFirst}`);
      if (life > 0) {
        const workers = (await client.info()).workers as WorkerInfo[];
        t.same(
          workers.map((w) => [w.state, w.restarts]),
          workers.map(() => ['up', 0]),
          `life ${life}: every worker up, none restarted`,
        );
        t.notOk(ns.stopWrites, `life ${life}: writes are not stopped`);
        t.equal(await servedCount(client, keys), keys.length, `life ${life}: every record served`);
        const rebuilt = ((await client.info()).workers as { lastRebuild: { partitions: number } | null }[]).map((w) => w.lastRebuild?.partitions ?? 0);
        t.equal(
          rebuilt.reduce((a, b) => a + b, 0),
          4096,
          `life ${life}: every replica partition was copied from its master`,
        );
      }
    } finally {
      await client.close();
      node.child.kill('SIGKILL');
      await node.exited;
    }
    const log = logBytes(dataDir);
    if (life === 0) logFirst = log;
    // Each cold start used to log a delete and a put of every replica record (megabytes here).
    else t.ok(log <= logFirst + 64 * 1024, `life ${life}: log ${log} bytes within 64 KiB of ${logFirst}`);
  }
});
