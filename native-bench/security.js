// The cost of authorization per request (docs/benchmarks.md, "Security"): one pinned in-memory
// node with security off, then on with the generator logged in by a session token (AERIE_TOKEN)
// as a user whose roles are node-wide, alternating, same workload. Authorization is decided per
// connection, so the two should cost the same CPU per request. Prints a Markdown table.
//
//   node native-bench/security.js [--rounds 3] [--duration 5]
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNode, loadgen, machineLine } = require('./pinned-node');
const { connect } = require('../dist/src/client');

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const ROUNDS = opt('rounds', 3);
const DURATION_S = opt('duration', 5);
const KEYS = 100_000;
const PASSWORD = `bench-${process.pid}-password`;
const OP_TOKEN = 19;

function writeConfig(dir, secure) {
  const file = path.join(dir, `config-${secure ? 'on' : 'off'}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      service: { port: 0 },
      workers: { count: 2 },
      namespaces: [{ name: 'test', storage: 'memory' }],
      log: { level: 'warn' },
      security: { enabled: secure, dataDir: path.join(dir, 'security') },
    }),
  );
  return file;
}

async function measure(dir, secure, inflight) {
  const node = await startNode(writeConfig(dir, secure));
  try {
    if (secure) {
      const admin = await connect({ hosts: `127.0.0.1:${node.port}`, user: 'admin', password: PASSWORD, reconnect: false });
      process.env.AERIE_TOKEN = (await admin.securityRequest(OP_TOKEN, null)).token;
      await admin.close();
    }
    const r = loadgen(node.port, node.pid, KEYS, ['--read-pct', '50', '--inflight', String(inflight), '--duration', String(DURATION_S), '--prefill']);
    if (!r.ok || r.errors > 0) throw new Error(`loadgen failed: ${JSON.stringify(r).slice(0, 400)}`);
    return r;
  } finally {
    delete process.env.AERIE_TOKEN;
    node.child.kill('SIGKILL');
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-bench-security-'));
  process.env.AERIE_ADMIN_PASSWORD = PASSWORD;
  const rows = [];
  for (const inflight of [1, 16]) {
    const runs = { off: [], on: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of round % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
        const r = await measure(dir, mode === 'on', inflight);
        runs[mode].push(r);
        console.error(`inflight ${inflight} round ${round} security ${mode}: ${r.ops_per_sec} ops/s, ${r.server_cpu_us_per_op} µs server CPU per op`);
      }
    }
    const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (const mode of ['off', 'on']) {
      rows.push(
        `| ${inflight} | ${mode} | ${median(runs[mode].map((r) => r.ops_per_sec))} | ${median(runs[mode].map((r) => r.server_cpu_us_per_op)).toFixed(2)} | ${runs[mode].map((r) => r.server_cpu_us_per_op.toFixed(2)).join(', ')} |`,
      );
    }
  }
  console.log(machineLine());
  console.log(`50 connections, 50 % reads, ${KEYS} keys, ${DURATION_S} s per run, ${ROUNDS} runs per row alternating, medians.\n`);
  console.log('| in flight | security | ops/s | server CPU µs/op | each run |');
  console.log('| ---: | --- | ---: | ---: | --- |');
  for (const row of rows) console.log(row);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
