#!/usr/bin/env node
// Where the p99 tail at half load comes from (issue 12's p99 < 1 ms target): one Aerie node,
// partition-routed, memory namespace, pinned to CPU 0 under `node --trace-gc` (plus any V8 flags
// given), the generator on CPU 1 paced open loop at --rate; prints the latency percentiles and,
// per isolate (the primary and each worker), the GC pauses inside the measured window. Compare
// runs with and without a flag in the same sitting (the machine's load moves the tail).
//
//   npx tsc -p . && make -C native-bench && node native-bench/half-load-gc.js [--rate 20000]
//       [--copies 2] [--read-pct 50] [--duration 8] [--keys 200000] [--flags="--min-semi-space-size=16"]
//       [--workers 2] [--routing partition|front] [--no-trace-gc]
// --no-trace-gc prints the latency alone (--trace-gc itself costs some of the tail).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { startNode, loadgen, loadgenAsync, machineLine } = require('./pinned-node');
const { GcTrace } = require('./gc-trace');

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '20000' },
    copies: { type: 'string', default: '2' },
    'read-pct': { type: 'string', default: '50' },
    duration: { type: 'string', default: '8' },
    keys: { type: 'string', default: '200000' },
    flags: { type: 'string', default: '' },
    workers: { type: 'string', default: '2' },
    routing: { type: 'string', default: 'partition' },
    'no-trace-gc': { type: 'boolean', default: false },
  },
});
const KEYS = Math.min(10_000_000, Number(values.keys));
const DURATION_S = Math.min(60, Number(values.duration));
const flags = values.flags.split(' ').filter((f) => f !== '');

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-half-load-gc-'));
  const config = path.join(dir, 'aerie.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      service: { port: 0, workerPorts: 0 },
      workers: { count: Number(values.workers) },
      log: { level: 'warn' },
      namespaces: [{ name: 'test', storage: 'memory', memoryBytesMax: 8 * 1024 ** 3, replicationFactor: Number(values.copies) }],
    }),
  );
  const node = await startNode(config, [...(values['no-trace-gc'] ? [] : ['--trace-gc']), ...flags]);
  // Every line is read (isolates keep one number for the run); only the pauses of the measured
  // window ('window' phase) are reported.
  const gc = new GcTrace();
  let pending = '';
  node.child.stdout.on('data', (d) => {
    pending += d;
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      gc.line(pending.slice(0, i));
      pending = pending.slice(i + 1);
    }
  });
  try {
    loadgen(node.port, node.pid, KEYS, ['--prefill', '--duration', '0', '--routing', values.routing]);
    gc.phase = 'window';
    const routed = ['--read-pct', values['read-pct'], '--inflight', '1', '--duration', String(DURATION_S), '--rate', values.rate, '--routing', values.routing];
    const result = await loadgenAsync(node.port, node.pid, KEYS, routed);
    gc.phase = 'after';
    const byIsolate = new Map();
    for (const p of gc.pauses) {
      if (p.phase !== 'window') continue;
      // --trace-gc names isolates by address only, not by thread: the idle primary is the one whose
      // full collections are V8's memory reducer's ("(reduce)").
      const name = `isolate ${gc.isolates.indexOf(p.isolate)}`;
      const key = `${name}, ${p.kind}`;
      if (!byIsolate.has(key)) byIsolate.set(key, []);
      byIsolate.get(key).push(p.ms);
    }
    console.log(machineLine());
    console.log(
      `flags: ${flags.join(' ') || '(none)'}; ${values.workers} workers, ${values.copies} copies, ${values.routing}-routed, ${values['read-pct']} % reads, paced at ${values.rate} ops/s for ${DURATION_S} s`,
    );
    const l = result.latency_us;
    console.log(`achieved ${Math.round(result.ops_per_sec)} ops/s; latency µs p50 ${l.p50} p99 ${l.p99} p99.9 ${l.p999} max ${l.max}`);
    for (const [key, ms] of byIsolate) {
      ms.sort((a, b) => a - b);
      const sum = ms.reduce((a, b) => a + b, 0);
      console.log(`  ${key}: ${ms.length} pauses, ${sum.toFixed(1)} ms in all, median ${ms[ms.length >> 1]} ms, longest ${ms[ms.length - 1]} ms`);
    }
  } finally {
    node.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
