#!/usr/bin/env node
// Durability figures for file namespaces, end to end through a real `aerie start` process:
// SDK write throughput (pipelined) with commit-to-device and with flush-ms 100, then the time a
// node killed with SIGKILL takes to replay its log and serve again.
//
//   npm run build && node native-bench/coldstart.js [--records 1000000]
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

function start(config) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const grab = (d) => {
      out += d;
      const m = /ws:\/\/([\d.]+:\d+)/.exec(out);
      if (m) resolve({ child, host: m[1], readyMs: performance.now() - t0, log: () => out });
    };
    child.stdout.on('data', grab);
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

async function load(host, n) {
  const client = await connect({ hosts: host, timeoutMs: 60_000 });
  const value = 'x'.repeat(100);
  const t0 = performance.now();
  for (let i = 0; i < n; i += 4000) {
    const puts = [];
    for (let j = i; j < Math.min(n, i + 4000); j++) puts.push(client.put(new Key('test', 'c', j), { v: value }));
    await Promise.all(puts);
  }
  const seconds = (performance.now() - t0) / 1000;
  await client.close();
  return n / seconds;
}

async function main() {
  const rows = [];
  let recovery = null;
  for (const commit of ['commit-to-device', 'flush-ms']) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-coldstart-'));
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        service: { port: 0 },
        workers: { count: 2 },
        log: { level: 'info' },
        namespaces: [{ name: 'test', storage: 'file', dataDir: path.join(dir, 'data'), commit, flushMs: 100 }],
      }),
    );
    const node = await start(config);
    const opsPerSecond = await load(node.host, RECORDS);
    rows.push({ commit, opsPerSecond });
    node.child.kill('SIGKILL');
    await new Promise((r) => node.child.once('exit', r));
    if (commit === 'commit-to-device') {
      const again = await start(config);
      const client = await connect({ hosts: again.host });
      const records = (await client.info()).namespaces[0].records;
      await client.close();
      await new Promise((r) => setTimeout(r, 100));
      const lines = again
        .log()
        .split('\n')
        .filter((l) => /recovered/.test(l));
      recovery = { readyMs: again.readyMs, records, lines };
      again.child.kill('SIGTERM');
      await new Promise((r) => again.child.once('exit', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`# Durability, ${new Date().toISOString()}`);
  console.log(`Machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), Node ${process.version}, data in ${os.tmpdir()}. Command: node native-bench/coldstart.js --records ${RECORDS}`);
  console.log(`Workload: ${RECORDS} puts of 100-byte bins from one SDK client, 4000 in flight, 2 workers.`);
  console.log('');
  console.log('| commit policy | acknowledged puts/s |');
  console.log('|---|---:|');
  for (const r of rows) console.log(`| ${r.commit} | ${Math.round(r.opsPerSecond)} |`);
  console.log('');
  console.log(`Cold start after SIGKILL: ${recovery.records} records back, node serving ${Math.round(recovery.readyMs)} ms after launch.`);
  for (const l of recovery.lines) console.log(`- ${l.replace(/^aerie: /, '')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
