#!/usr/bin/env node
// Failover and rebuild figures with replica workers (docs/replication.md), two parts:
//
// 1. Failover: time from an injected fault in worker 1 to the first successful read and write on a
//    partition it mastered (its replica is promoted), for a crash and for a hang (a hang is only
//    noticed after the heartbeat timeout), a few rounds each, the SDK as client.
// 2. Rebuild under load: the native load generator runs 50/50 against 1M records while worker 1 is
//    crashed (its replacement adopts its memory, replays its journal and is copied the partitions
//    it mastered) or has its memory damaged (the replacement starts empty and is copied every
//    partition it holds). Reported: time from the fault to full redundancy (every copy in sync and
//    every partition back on its own master), records copied, and throughput during the rebuild
//    as a share of the throughput before the fault.
//
// The node runs in this process (its worker threads are real); the generator is a child process.
// Bounded: a few rounds, a fixed duration per rebuild.
//
//   npx tsc -p . && make -C native-bench && node native-bench/failover.js [--records 1000000] [--rounds 5]
'use strict';
const { parseArgs } = require('node:util');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNode, loadConfig, connect, Key } = require('../dist/src/index.js');
const { holderOf } = require('../dist/src/partition/map.js');
const { partitionOf } = require('../dist/src/partition/digest.js');

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '5' },
    out: { type: 'string', default: path.join(__dirname, 'results', 'failover.md') },
  },
});
const RECORDS = Number(values.records);
const ROUNDS = Number(values.rounds);
const LOADGEN = path.join(__dirname, 'build', 'loadgen');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startBenchNode() {
  const config = loadConfig();
  config.service.port = 0;
  config.log.level = 'warn';
  config.workers.count = 2;
  for (const ns of config.namespaces) ns.storage = 'memory';
  config.supervisor.faultInjection = true;
  config.supervisor.crashLoopMax = 1000; // the bench fails the worker on purpose, over and over
  // Rounds are spaced past the window, so each fault is a first failure: the figures are the
  // failover and restart themselves, not the backoff that grows with repeated failures.
  config.supervisor.crashLoopWindowMs = 1000;
  const node = await startNode(config);
  return { node, config };
}

/** Every worker up, every copy in sync, nothing moving, each worker on its own masters. */
function redundant(node) {
  const info = node.info();
  return info.workers.every((w) => w.state === 'up' && w.roles.outOfSync === 0 && w.rebuild === null && w.roles.master === 2048) && info.replication.partitionsMoving === 0;
}

async function prefill(port) {
  await run(['--port', String(port), '--keys', String(RECORDS), '--prefill', '--duration', '0', '--connections', '50', '--inflight', '64']);
}

function run(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(LOADGEN, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`loadgen exited ${code}: ${out}`))));
  });
}

/** Part 1: fault to first read and write on a failed-over partition. */
async function failoverRounds(node, client) {
  const probe = [];
  for (let i = 0; probe.length < 50; i++) {
    const k = new Key('test', 'b', i);
    if (holderOf(partitionOf(k.digest), 2, 0) === 1) probe.push(k);
  }
  const rows = [];
  for (const kind of ['crash', 'hang']) {
    const detect = [];
    const read = [];
    const write = [];
    for (let r = 0; r < ROUNDS; r++) {
      while (!redundant(node)) await sleep(20);
      await sleep(1200);
      const versionBefore = node.info().partitionMapVersion;
      const injectedAt = performance.now();
      await client.injectFault({ worker: 1, kind });
      let readAt = 0;
      let writeAt = 0;
      let detectedAt = 0;
      const watch = (async () => {
        while (detectedAt === 0) {
          if (node.info().workers[1].state !== 'up') detectedAt = performance.now();
          else await new Promise((res) => setImmediate(res));
        }
      })();
      // The SDK retries a read its partition could not serve; a write is retried here, as an
      // application would after a refusal or an in-doubt answer.
      const reader = (async () => {
        await client.get(probe[r % probe.length]);
        readAt = performance.now();
      })();
      const writer = (async () => {
        for (;;) {
          try {
            await client.put(probe[(r + 1) % probe.length], { v: r });
            writeAt = performance.now();
            return;
          } catch {
            await sleep(1);
          }
        }
      })();
      await Promise.all([reader, writer]);
      // A read may be answered by the dying worker before it is noticed: count only answers
      // after the map moved.
      while (node.info().partitionMapVersion === versionBefore) await sleep(1);
      await watch;
      const movedAt = performance.now();
      detect.push(detectedAt - injectedAt);
      read.push(Math.max(readAt, movedAt) - injectedAt);
      write.push(Math.max(writeAt, movedAt) - injectedAt);
    }
    rows.push({ kind, detect: median(detect), readMedian: median(read), readMax: Math.max(...read), writeMedian: median(write), writeMax: Math.max(...write) });
  }
  return rows;
}

/** Part 2: a rebuild under load; returns its figures. */
async function rebuildUnderLoad(node, port, client, mode) {
  while (!redundant(node)) await sleep(20);
  await sleep(1000);
  const samples = [];
  const gen = spawn(LOADGEN, ['--port', String(port), '--keys', String(RECORDS), '--connections', '50', '--inflight', '4', '--read-pct', '50', '--duration', '25', '--progress-ms', '100'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let buf = '';
  gen.stderr.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /loadgen:\s+([\d.]+) s\s+(\d+) ops\/s/.exec(line);
      if (m) samples.push({ at: performance.now(), ops: Number(m[2]) });
    }
  });
  const exited = new Promise((res) => gen.on('exit', res));
  await sleep(7000);
  if (mode === 'damaged') new Int32Array(node.workers[1].stores[0].indexSab)[0] ^= 0x5a5a; // its replacement cannot adopt it
  const faultAt = performance.now();
  await client.injectFault({ worker: 1, kind: mode === 'damaged' ? 'exit' : 'crash' });
  await sleep(50);
  while (!redundant(node)) await sleep(10);
  const doneAt = performance.now();
  const w1 = node.info().workers[1];
  await exited;
  const mean = (xs) => xs.reduce((a, s) => a + s.ops, 0) / Math.max(1, xs.length);
  const before = samples.filter((s) => s.at < faultAt && s.at > faultAt - 4000);
  // A sample covers the 100 ms before it.
  const during = samples.filter((s) => s.at > faultAt + 100 && s.at <= doneAt);
  return {
    mode,
    redundantMs: doneAt - faultAt,
    copied: w1.lastRebuild?.records ?? 0,
    partitions: w1.lastRebuild?.partitions ?? 0,
    rebuildMs: w1.lastRebuild?.elapsedMs ?? 0,
    before: mean(before),
    during: mean(during),
    duringSamples: during.length,
  };
}

async function main() {
  if (!fs.existsSync(LOADGEN)) throw new Error('build the generator first: make -C native-bench');
  const { node, config } = await startBenchNode();
  const port = node.address.port;
  const client = await connect({ hosts: `127.0.0.1:${port}`, timeoutMs: 30_000 });
  const t0 = performance.now();
  await prefill(port);
  const loadS = (performance.now() - t0) / 1000;
  const failover = await failoverRounds(node, client);
  const rebuilds = [];
  for (const mode of ['crash', 'damaged']) rebuilds.push(await rebuildUnderLoad(node, port, client, mode));
  const info = node.info();
  await client.close();
  await node.close();

  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const lines = [];
  lines.push(`# Failover and rebuild, ${new Date().toISOString()}`);
  lines.push('');
  lines.push(`Machine: ${os.cpus().length} CPUs (${cpu}), Node ${process.version}. Command: \`node native-bench/failover.js --records ${RECORDS} --rounds ${ROUNDS}\``);
  lines.push(
    `Records: ${info.namespaces[0].records} of 100-byte bins, ${info.namespaces[0].copies} copies over 2 workers (replication factor 2, memory), loaded in ${loadS.toFixed(1)} s; heartbeat timeout ${config.supervisor.heartbeatTimeoutMs} ms.`,
  );
  lines.push('');
  lines.push('Failover: from the fault in worker 1 to the first successful request on a partition it mastered (median of ' + ROUNDS + ' rounds / worst).');
  lines.push('');
  lines.push('| fault | noticed after, ms | first read, ms | first write, ms |');
  lines.push('|---|---:|---:|---:|');
  for (const r of failover) lines.push(`| ${r.kind} | ${r.detect.toFixed(0)} | ${r.readMedian.toFixed(0)} / ${r.readMax.toFixed(0)} | ${r.writeMedian.toFixed(0)} / ${r.writeMax.toFixed(0)} |`);
  lines.push('');
  lines.push(
    `Rebuild under load (loadgen: 50 connections, 4 in flight each, 50/50, ${RECORDS} keys): from the fault to full redundancy, with throughput during the rebuild against the 4 s before the fault.`,
  );
  lines.push('');
  lines.push('| fault | replacement | partitions copied | records copied | copy time, ms | fault to full redundancy, ms | ops/s before | ops/s during | share |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rebuilds) {
    const how = r.mode === 'crash' ? 'adopts its memory, journal for its replicas' : 'memory damaged: starts empty';
    lines.push(
      `| ${r.mode === 'crash' ? 'crash' : 'exit + damaged index'} | ${how} | ${r.partitions} | ${r.copied} | ${r.rebuildMs} | ${r.redundantMs.toFixed(0)} | ${r.before.toFixed(0)} | ${r.during.toFixed(0)} | ${((r.during / r.before) * 100).toFixed(0)} % |`,
    );
  }
  const text = lines.join('\n') + '\n';
  process.stdout.write(text);
  fs.mkdirSync(path.dirname(values.out), { recursive: true });
  fs.writeFileSync(values.out, text);
  fs.writeFileSync(values.out.replace(/\.md$/, '.json'), JSON.stringify({ failover, rebuilds, records: info.namespaces[0].records }, null, 2) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
