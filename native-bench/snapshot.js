#!/usr/bin/env node
// Snapshot figures for a file namespace, end to end through a real `aerie start` process: the time
// to create a snapshot of N records, the longest worker pause, the effect on a concurrent load
// (throughput and worst latency during the snapshot against the same load without one), the time
// to restore it and how long requests were held, and a cold start after SIGKILL from the base
// snapshot plus the log written after it.
//
//   npm run build && node native-bench/snapshot.js [--records 1000000]
'use strict';
const { parseArgs } = require('node:util');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { connect, Key } = require('../dist/src/index.js');

const CLI = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
const { values } = parseArgs({ options: { records: { type: 'string', default: '1000000' } } });
const RECORDS = Number(values.records);
/** Requests the steady load keeps in flight: enough to keep both workers busy. */
const IN_FLIGHT = 256;

function start(config) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ws:\/\/([\d.]+:\d+)/.exec(out);
      if (m) resolve({ child, host: m[1], readyMs: performance.now() - t0, log: () => out });
    });
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

async function load(client, n) {
  const value = 'x'.repeat(100);
  for (let i = 0; i < n; i += 4000) {
    const puts = [];
    for (let j = i; j < Math.min(n, i + 4000); j++) puts.push(client.put(new Key('test', 's', j), { v: value }));
    await Promise.all(puts);
  }
}

/** A 50/50 get/put load over the key space until `until()` resolves: ops/s and worst latency. */
async function steady(client, until) {
  const value = 'y'.repeat(100);
  let ops = 0;
  let worstMs = 0;
  let done = false;
  const t0 = performance.now();
  const lane = async (seed) => {
    let x = seed;
    while (!done) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const key = new Key('test', 's', x % RECORDS);
      const s = performance.now();
      await ((x & 1) === 0 ? client.get(key) : client.put(key, { v: value }));
      worstMs = Math.max(worstMs, performance.now() - s);
      ops++;
    }
  };
  const lanes = Array.from({ length: IN_FLIGHT }, (_, i) => lane(i + 1));
  const result = await until();
  done = true;
  await Promise.all(lanes);
  return { opsPerSecond: ops / ((performance.now() - t0) / 1000), worstMs, result };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-snapshot-bench-'));
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      service: { port: 0 },
      workers: { count: 2 },
      log: { level: 'info' },
      namespaces: [{ name: 'test', storage: 'file', dataDir: path.join(dir, 'data') }],
    }),
  );
  const node = await start(config);
  const client = await connect({ hosts: node.host, timeoutMs: 120_000 });
  await load(client, RECORDS);
  await steady(client, () => sleep(1000)); // warm up
  const baseline = await steady(client, () => sleep(3000));
  const during = await steady(client, () => client.createSnapshot('test'));
  const snapshot = during.result;
  const restoreRun = await steady(client, () => client.restoreSnapshot('test', snapshot.id));
  const restore = restoreRun.result;
  await load(client, 10_000); // a log tail after the base
  await client.close();
  node.child.kill('SIGKILL');
  await new Promise((r) => node.child.once('exit', r));
  const again = await start(config);
  const c2 = await connect({ hosts: again.host });
  const records = (await c2.info()).namespaces[0].records;
  await c2.close();
  again.child.kill('SIGTERM');
  await new Promise((r) => again.child.once('exit', r));
  fs.rmSync(dir, { recursive: true, force: true });

  const r = (x) => Math.round(x);
  console.log(`# Snapshots, ${new Date().toISOString()}`);
  console.log(`Machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), Node ${process.version}, data in ${os.tmpdir()}. Command: node native-bench/snapshot.js --records ${RECORDS}`);
  console.log(`Namespace: file, commit-to-device, 2 workers, ${RECORDS} records of a 100-byte bin. Concurrent load: one SDK client, ${IN_FLIGHT} requests in flight, 50/50 get/put over all keys.`);
  console.log('');
  console.log('| | figure |');
  console.log('|---|---:|');
  console.log(`| snapshot create: time | ${snapshot.elapsedMs} ms (${r(snapshot.records / (snapshot.elapsedMs / 1000))} records/s) |`);
  console.log(`| snapshot create: longest worker pause (memory copy) | ${snapshot.pauseMs} ms |`);
  console.log(`| snapshot size | ${snapshot.records} records, ${r(snapshot.bytes / 1048576)} MiB of keys and bins |`);
  console.log(`| concurrent load without a snapshot | ${r(baseline.opsPerSecond)} ops/s, worst ${r(baseline.worstMs)} ms |`);
  console.log(`| concurrent load during the snapshot | ${r(during.opsPerSecond)} ops/s (${r((during.opsPerSecond / baseline.opsPerSecond) * 100)} %), worst ${r(during.worstMs)} ms |`);
  console.log(`| restore: time | ${restore.elapsedMs} ms |`);
  console.log(`| restore: requests held | ${restore.pauseMs} ms |`);
  console.log(`| concurrent load during the restore | ${r(restoreRun.opsPerSecond)} ops/s, worst ${r(restoreRun.worstMs)} ms |`);
  console.log(`| cold start after SIGKILL from the base + log tail | ${records} records, serving ${r(again.readyMs)} ms after launch |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
