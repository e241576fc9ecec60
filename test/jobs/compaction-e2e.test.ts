// Proves compaction end to end on a real node: with small segments and a short interval, the
// primary compacts each worker's log while clients keep overwriting and deleting the same keys;
// INFO reports what it reclaimed, the log ends far smaller than what was written, and a cold
// start from the compacted logs brings back every key at its latest value and no deleted one.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { connect, Key, type Client } from '../../src/client/index';
import { loadConfig, type NodeConfig } from '../../src/config';
import { startNode, type AerieNode } from '../../src/primary/node';
import { logDirectory } from '../../src/storage/segment-files';
import { waitForValue } from '../helpers/wait';
import { logBytes } from './helpers/log-harness';

const KEYS = 300;
const DELETED = 40;
const PAD = 'x'.repeat(200);

function nodeConfig(dataDir: string): NodeConfig {
  const config = loadConfig();
  config.service.port = 0;
  config.log.level = 'warn';
  config.workers.count = 2;
  config.supervisor.heartbeatTimeoutMs = 5000;
  Object.assign(config.namespaces[0], {
    storage: 'file',
    dataDir,
    segmentBytes: 16 * 1024,
    recordBytesMax: 4096,
    compactionIntervalMs: 200,
    compactionLiveRatioMax: 0.5,
  });
  return config;
}

async function start(config: NodeConfig): Promise<{ node: AerieNode; client: Client }> {
  const node = await startNode(config);
  const client = await connect({ hosts: `127.0.0.1:${node.address.port}`, timeoutMs: 10_000 });
  return { node, client };
}

interface CompactionFigures {
  runs: number;
  segmentsRewritten: number;
  segmentsDeleted: number;
  bytesReclaimed: number;
  failures: number;
}

async function figures(client: Client): Promise<CompactionFigures> {
  const ns = ((await client.info()).namespaces as unknown as { compaction: CompactionFigures }[])[0];
  return ns.compaction;
}

const logSize = (dataDir: string) => [0, 1].reduce((sum, w) => sum + logBytes(logDirectory(dataDir, 'test', w)), 0);

t.test('a node compacts under traffic and cold-starts from the compacted logs', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-compaction-e2e-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const config = nodeConfig(dataDir);
  // One copy: the bound below is on one log per record (replicas double the bytes, not the ratio).
  config.namespaces[0].replicationFactor = 1;
  let { node, client } = await start(config);
  let closed = false;
  t.teardown(async () => {
    if (closed) return;
    await client.close();
    await node.close();
  });

  // Overwrite every key round after round until compaction has reclaimed space during the traffic
  // (at least 10 rounds). On a loaded machine the pool's first job may take seconds to start: the
  // traffic goes on for up to 30 s rather than a fixed number of rounds.
  let round = 0;
  let bytesWritten = 0;
  let reclaimedDuringTraffic = 0;
  const trafficDeadline = Date.now() + 30_000;
  for (; ; round++) {
    await Promise.all(Array.from({ length: KEYS }, (_, k) => client.put(new Key('test', 'c', k), { v: round, pad: PAD })));
    bytesWritten = Math.max(bytesWritten, logSize(dataDir));
    reclaimedDuringTraffic = (await figures(client)).bytesReclaimed;
    if ((round >= 10 && reclaimedDuringTraffic > 0) || Date.now() > trafficDeadline) break;
  }
  // `round` is the value of the last round written (the loop left by break, never by its test).
  t.ok(reclaimedDuringTraffic > 0, `compaction reclaimed ${reclaimedDuringTraffic} bytes while ${round + 1} rounds of ${KEYS} puts ran`);
  await Promise.all(Array.from({ length: DELETED }, (_, k) => client.remove(new Key('test', 'c', k))));

  // Let it catch up with the last writes (two more runs, the log under half its peak), then read INFO.
  const runsAtEnd = (await figures(client)).runs;
  const info = await waitForValue(
    () => figures(client),
    (f) => f.runs >= runsAtEnd + 2 && logSize(dataDir) <= bytesWritten / 2,
    { what: `two more compaction runs and the log under ${bytesWritten / 2} bytes`, timeoutMs: 20_000, intervalMs: 100 },
  );
  const finalBytes = logSize(dataDir);
  t.comment(`log: ${finalBytes} bytes after compaction; ${round + 1} rounds wrote ${(round + 1) * KEYS} puts; INFO ${JSON.stringify(info)}`);
  t.ok(finalBytes < ((round + 1) * KEYS * 300) / 4, 'the log is a fraction of what was written');
  t.ok(info.segmentsDeleted + info.segmentsRewritten > 0 && info.bytesReclaimed > 0);
  t.equal(info.failures, 0, 'no failed job');

  // Cold start from the compacted logs.
  await client.close();
  await node.close();
  ({ node, client } = await start(config));
  const got = await client.batchGet(Array.from({ length: KEYS }, (_, k) => new Key('test', 'c', k)));
  const wrong: string[] = [];
  got.forEach((record, k) => {
    const want = k < DELETED ? null : round;
    const have = record === null ? null : record.bins.v;
    if (have !== want) wrong.push(`key ${k}: ${have} instead of ${want}`);
  });
  t.same(wrong.slice(0, 10), [], 'every key at its latest value, deleted ones absent');
  await client.close();
  await node.close();
  closed = true;
});
