#!/usr/bin/env node
// The latency target of the performance issue: p99 under 1 ms at half of the maximum throughput.
// For each workload, one in-memory Aerie node (pinned to CPU 0 when taskset exists, the generator
// to CPU 1, as in run.js) is driven flat out to find its maximum (50 connections, unpipelined),
// then paced at half of it (loadgen --rate, open loop) to read the latency percentiles there.
//
//   npx tsc -p . && make -C native-bench && node native-bench/latency.js [--keys 1000000] [--duration 8] [--replication-factor 1]
'use strict';
const { parseArgs } = require('node:util');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { LOADGEN, CONNECTIONS, pin, startNode, loadgen: run, machineLine } = require('./pinned-node');

const RESULTS = path.join(__dirname, 'results');
const TARGET_P99_US = 1000;
const WORKLOADS = [
  { name: '50/50 get/put, unpipelined', readPct: 50 },
  { name: '95/5 get/put, unpipelined', readPct: 95 },
];

const { values } = parseArgs({
  options: { keys: { type: 'string', default: '1000000' }, duration: { type: 'string', default: '8' }, 'replication-factor': { type: 'string' } },
});
/** Unset: the node's default (2 copies). Set: also named in the result files (latency-rfN.md). */
const RF = values['replication-factor'] === undefined ? null : Number(values['replication-factor']);
const KEYS = Number(values.keys);
const DURATION_S = Number(values.duration);
const loadgen = (port, pid, extra) => run(port, pid, KEYS, extra);

async function main() {
  if (!fs.existsSync(LOADGEN)) throw new Error('build the generator first: make -C native-bench');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-latency-'));
  const config = path.join(dir, 'aerie.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      service: { port: 0 },
      workers: { count: 2 },
      log: { level: 'warn' },
      namespaces: [{ name: 'test', storage: 'memory', memoryBytesMax: 8 * 1024 ** 3, ...(RF === null ? {} : { replicationFactor: RF }) }],
    }),
  );
  const node = await startNode(config);
  const rows = [];
  try {
    loadgen(node.port, node.pid, ['--prefill', '--duration', '0']);
    for (const w of WORKLOADS) {
      const max = loadgen(node.port, node.pid, ['--read-pct', String(w.readPct), '--inflight', '1', '--duration', String(DURATION_S)]);
      const rate = Math.floor(max.ops_per_sec / 2);
      const half = loadgen(node.port, node.pid, ['--read-pct', String(w.readPct), '--inflight', '1', '--duration', String(DURATION_S), '--rate', String(rate)]);
      rows.push({
        workload: w.name,
        maxOpsPerSec: max.ops_per_sec,
        maxLatencyUs: max.latency_us,
        rate,
        halfOpsPerSec: half.ops_per_sec,
        halfLatencyUs: half.latency_us,
        errors: max.errors + half.errors,
      });
    }
  } finally {
    node.child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const r = Math.round;
  const lines = [
    `# Latency at half of the maximum throughput, ${new Date().toISOString()}`,
    '',
    machineLine(),
    `Command: \`node native-bench/latency.js --keys ${KEYS} --duration ${DURATION_S}${RF === null ? '' : ` --replication-factor ${RF}`}\`. ${CONNECTIONS} connections, 100-byte values, ${KEYS} prefilled keys, memory namespace, 2 workers, ${RF ?? 2} ${(RF ?? 2) === 1 ? 'copy' : 'copies'} of each record; the half-rate run is paced open loop (\`loadgen --rate\`).`,
    '',
    '| workload | max ops/s | p99 at max, µs | paced at, ops/s | achieved ops/s | p50 µs | p99 µs | p99.9 µs | target p99 < 1 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows.map(
      (x) =>
        `| ${x.workload} | ${r(x.maxOpsPerSec)} | ${r(x.maxLatencyUs.p99)} | ${x.rate} | ${r(x.halfOpsPerSec)} | ${r(x.halfLatencyUs.p50)} | ${r(x.halfLatencyUs.p99)} | ${r(x.halfLatencyUs.p999)} | ${x.halfLatencyUs.p99 < TARGET_P99_US ? 'met' : 'missed'} |`,
    ),
  ];
  const md = lines.join('\n') + '\n';
  fs.mkdirSync(RESULTS, { recursive: true });
  const name = RF === null ? 'latency' : `latency-rf${RF}`;
  fs.writeFileSync(path.join(RESULTS, `${name}.md`), md);
  fs.writeFileSync(path.join(RESULTS, `${name}.json`), JSON.stringify({ date: new Date().toISOString(), pin, keys: KEYS, durationS: DURATION_S, rows }, null, 1) + '\n');
  process.stdout.write(md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
