#!/usr/bin/env node
// Failover figures: time from an injected worker fault to the first successful read and write on
// the partitions that worker owns, with the worker holding many records. The node runs in this
// process (its worker threads are real); the client is the SDK. Bounded: a few rounds per kind.
//
//   npm run build && node native-bench/failover.js [--records 1000000] [--rounds 5]
'use strict';
const { parseArgs } = require('node:util');
const os = require('node:os');
const { startNode, loadConfig, connect, Key } = require('../dist/src/index.js');
const { partitionOf } = require('../dist/src/partition/digest.js');

const { values } = parseArgs({
  options: { records: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '5' } },
});
const RECORDS = Number(values.records);
const ROUNDS = Number(values.rounds);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const config = loadConfig();
  config.service.port = 0;
  config.log.level = 'warn';
  config.workers.count = 2;
  for (const ns of config.namespaces) ns.storage = 'memory';
  config.supervisor.faultInjection = true;
  config.supervisor.crashLoopMax = 1000; // the bench fails the worker on purpose, over and over
  // Rounds are spaced past the window, so each fault is a first failure: the figures are the
  // restart itself, not the backoff that grows with repeated failures.
  config.supervisor.crashLoopWindowMs = 1000;
  const node = await startNode(config);
  const client = await connect({ hosts: `127.0.0.1:${node.address.port}`, timeoutMs: 30_000 });
  const value = 'x'.repeat(100);
  const t0 = performance.now();
  for (let i = 0; i < RECORDS; i += 5000) {
    const puts = [];
    for (let j = i; j < Math.min(RECORDS, i + 5000); j++) puts.push(client.put(new Key('test', 'f', j), { v: value }));
    await Promise.all(puts);
  }
  const loadS = (performance.now() - t0) / 1000;
  const probe = [];
  for (let i = 0; probe.length < 50; i++) if (partitionOf(new Key('test', 'f', i).digest) % 2 === 1) probe.push(new Key('test', 'f', i));
  const rows = [];
  for (const kind of ['crash', 'hang']) {
    const readMs = [];
    const writeMs = [];
    const detectMs = [];
    const restartMs = [];
    for (let r = 0; r < ROUNDS; r++) {
      const info = await client.info();
      const restartsBefore = info.workers[1].restarts;
      await client.injectFault({ worker: 1, kind });
      // Start the clock when the node has noticed the failure (a hang takes the heartbeat
      // timeout to notice; that delay is reported separately).
      const injectedAt = performance.now();
      while ((await client.info()).workers[1].state === 'up') await new Promise((res) => setImmediate(res));
      detectMs.push(performance.now() - injectedAt);
      const start = performance.now();
      // First successful read: the SDK retries a read the restarting worker could not serve.
      await client.get(probe[r % probe.length]);
      readMs.push(performance.now() - start);
      // First successful write (a write sent while the worker restarts waits on the node).
      let wrote = false;
      while (!wrote) {
        try {
          await client.put(probe[(r + 1) % probe.length], { v: value });
          wrote = true;
        } catch {
          // in doubt or refused while it died: try again, as an application would
        }
      }
      writeMs.push(performance.now() - start);
      while ((await client.info()).workers[1].restarts === restartsBefore) await new Promise((res) => setTimeout(res, 10));
      restartMs.push((await client.info()).workers[1].lastRestartMs);
      await new Promise((res) => setTimeout(res, 1200));
    }
    rows.push({ kind, detectMsMedian: median(detectMs), restartMsMedian: median(restartMs), restartMsMax: Math.max(...restartMs), readMsMedian: median(readMs), readMsMax: Math.max(...readMs), writeMsMedian: median(writeMs), writeMsMax: Math.max(...writeMs) });
  }
  const records = (await client.info()).namespaces[0].records;
  await client.close();
  await node.close();
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  console.log(`# Failover, ${new Date().toISOString()}`);
  console.log(`Machine: ${os.cpus().length} CPUs (${cpu}), Node ${process.version}. Command: node native-bench/failover.js --records ${RECORDS} --rounds ${ROUNDS}`);
  console.log(`Records: ${records} of 100-byte bins over 2 workers (loaded in ${loadS.toFixed(1)} s); heartbeat timeout ${config.supervisor.heartbeatTimeoutMs} ms; restart delay ${config.supervisor.restartDelayMsMin} ms.`);
  console.log('');
  console.log('| fault | detected after, median ms | restart (down to ready), median / max ms | first read after detection, median / max ms | first write after detection, median / max ms |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.kind} | ${r.detectMsMedian.toFixed(0)} | ${r.restartMsMedian} / ${r.restartMsMax} | ${r.readMsMedian.toFixed(0)} / ${r.readMsMax.toFixed(0)} | ${r.writeMsMedian.toFixed(0)} / ${r.writeMsMax.toFixed(0)} |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
