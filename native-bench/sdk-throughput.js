'use strict';
// The SDK's own cost: ops/s and client CPU per operation of the TypeScript client (dist/, so
// `npx tsc -p .` first) against one Aerie node running as a child process. The native generator
// measures the server; this measures the client, so changes to the SDK (its codec, pipeline or
// socket layer) can be compared before and after on the same machine.
//
//   node native-bench/sdk-throughput.js [--seconds 5] [--rounds 3] [--keys 10000]
//
// Each round runs three workloads one after another, each for --seconds after a 1 s warm-up:
// 50/50 get/put with 1 call in flight, with 64 in flight, and batchGet of 16 keys with 8 in
// flight. Rounds alternate workloads so a noisy neighbour spreads over all of them; the report
// gives the median of the rounds.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { startServer, stopServer, SERVER_SPECS } = require('./servers');

const ROOT = path.resolve(__dirname, '..');
const { connect, Key } = require(path.join(ROOT, 'dist', 'src', 'client', 'index.js'));

const SECONDS_MAX = 120;
const ROUNDS_MAX = 20;
const KEYS_MAX = 1_000_000;
const WARMUP_MS = 1000;
const BATCH_KEYS = 16;

const WORKLOADS = [
  { name: 'get/put 50/50, 1 in flight', inFlight: 1, kind: 'mixed' },
  { name: 'get/put 50/50, 64 in flight', inFlight: 64, kind: 'mixed' },
  { name: `batchGet ${BATCH_KEYS} keys, 8 in flight`, inFlight: 8, kind: 'batch' },
];

function bounded(value, what, max) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${what} must be an integer from 1 to ${max}`);
  return n;
}

async function prefill(client, keys) {
  const bins = { n: 1, s: 'x'.repeat(64) };
  for (let start = 0; start < keys.length; start += 256) {
    await Promise.all(keys.slice(start, start + 256).map((key) => client.put(key, bins)));
  }
}

/** Runs one workload until `endMs`; answers the operations completed (a batch counts its keys). */
async function drive(client, keys, workload, endMs) {
  let ops = 0;
  let seed = 12345;
  const nextIndex = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % keys.length;
  };
  const bins = { n: 2, s: 'y'.repeat(64) };
  async function loop() {
    while (Date.now() < endMs) {
      if (workload.kind === 'batch') {
        const batch = [];
        for (let i = 0; i < BATCH_KEYS; i++) batch.push(keys[nextIndex()]);
        await client.batchGet(batch);
        ops += BATCH_KEYS;
      } else {
        const key = keys[nextIndex()];
        if (seed & 0x10000) await client.get(key);
        else await client.put(key, bins);
        ops++;
      }
    }
  }
  await Promise.all(Array.from({ length: workload.inFlight }, loop));
  return ops;
}

async function measure(client, keys, workload, seconds) {
  await drive(client, keys, workload, Date.now() + WARMUP_MS);
  const cpuBefore = process.cpuUsage();
  const startNs = process.hrtime.bigint();
  const ops = await drive(client, keys, workload, Date.now() + seconds * 1000);
  const elapsedS = Number(process.hrtime.bigint() - startNs) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  return { opsPerSec: ops / elapsedS, clientCpuUsPerOp: (cpu.user + cpu.system) / ops };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      keys: { type: 'string', default: '10000' },
    },
  });
  const seconds = bounded(values.seconds, 'seconds', SECONDS_MAX);
  const rounds = bounded(values.rounds, 'rounds', ROUNDS_MAX);
  const keyCount = bounded(values.keys, 'keys', KEYS_MAX);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-sdk-bench-'));
  const spec = SERVER_SPECS.find((s) => s.id === 'aerie-unpinned');
  const server = await startServer(spec, dir, { pin: false, embedded: false });
  const client = await connect({ hosts: `127.0.0.1:${server.port}`, maxInFlight: 256 });
  try {
    const keys = Array.from({ length: keyCount }, (_, i) => new Key('test', 'bench', `key-${i}`));
    await prefill(client, keys);
    const results = WORKLOADS.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (let w = 0; w < WORKLOADS.length; w++) results[w].push(await measure(client, keys, WORKLOADS[w], seconds));
    }
    console.log(`SDK throughput, node ${process.version}, ${rounds} rounds of ${seconds} s, median:`);
    WORKLOADS.forEach((workload, w) => {
      const opsPerSec = median(results[w].map((r) => r.opsPerSec));
      const cpu = median(results[w].map((r) => r.clientCpuUsPerOp));
      const all = results[w].map((r) => Math.round(r.opsPerSec)).join(', ');
      console.log(`  ${workload.name.padEnd(30)} ${Math.round(opsPerSec).toString().padStart(7)} ops/s  ` + `client CPU ${cpu.toFixed(1)} µs/op  (rounds: ${all})`);
    });
  } finally {
    await client.close();
    await stopServer(server);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
