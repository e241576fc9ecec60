// The cost of TLS per request and per connection (docs/benchmarks.md, "TLS"): one pinned in-memory
// node served over ws:// and then wss:// (service.tls, a P-256 certificate made here with
// openssl), alternating, same workload, and a generator pinned to the other CPU. loadgen speaks
// no TLS yet, so the generator is this script (`--generate`): Node `ws` clients, one request per
// frame, each connection keeping `inflight` requests outstanding. A Node generator saturates near
// 90k requests/s (docs/benchmarks.md), so the figure to read is the node's CPU per request
// (utime + stime of every thread, /proc/PID/stat), not the throughput. Prints a Markdown table.
//
//   node native-bench/tls.js [--rounds 3] [--duration 5]
'use strict';
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { CLI, pin, machineLine } = require('./pinned-node');

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const ROUNDS = Number(opt('rounds', 3));
const DURATION_S = Number(opt('duration', 5));
const CONNECTIONS = 50;
const KEYS = 10_000;
const HANDSHAKES = 300;
/** src/protocol/ops.ts */
const OP_HELLO = 1;
const OP_PUT = 2;
const OP_GET = 3;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const onCpu = (cpu, cmd, argv) => (pin ? ['taskset', ['-c', String(cpu), cmd, ...argv]] : [cmd, argv]);

/** CPU seconds a process has used, all threads. */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function makeCert(dir) {
  const run = (argv) => execFileSync('openssl', argv, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  fs.writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=bench CA']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=localhost']);
  run(['x509', '-req', '-in', 'node.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'node.pem', '-days', '2', '-extfile', 'ext']);
}

function startNode(dir, tls) {
  const config = path.join(dir, `config-${tls ? 'tls' : 'plain'}.json`);
  const service = { port: 0, ...(tls ? { tls: { certFile: path.join(dir, 'node.pem'), keyFile: path.join(dir, 'node.key') } } : {}) };
  fs.writeFileSync(config, JSON.stringify({ service, workers: { count: 2 }, namespaces: [{ name: 'test', storage: 'memory' }], log: { level: 'warn' } }));
  return new Promise((resolve, reject) => {
    const [cmd, argv] = onCpu(0, process.execPath, [CLI, 'start', '--config', config]);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const grab = (d) => {
      out += d;
      const m = /(wss?:\/\/[\d.]+:\d+)\/ \(pid (\d+)\)/.exec(out);
      if (m) resolve({ child, url: m[1], pid: Number(m[2]) });
    };
    child.stdout.on('data', grab);
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`node exited ${code}: ${out}`)));
  });
}

/** Runs this script as the generator (pinned); `onGo` runs when it starts its measured phase. */
function generate(url, ca, mode, extra, onGo) {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = onCpu(1, process.execPath, [__filename, '--generate', mode, '--url', url, '--ca', ca, ...extra]);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('go\n') && onGo !== null) {
        onGo();
        onGo = null;
      }
    });
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.slice(out.indexOf('go\n') + 3))) : reject(new Error(`generator exited ${code}: ${out}`))));
  });
}

async function measure(dir, tls, inflight) {
  const node = await startNode(dir, tls);
  try {
    const ca = path.join(dir, 'ca.pem');
    let cpuAtGo = 0;
    const load = await generate(node.url, ca, 'load', ['--inflight', String(inflight), '--duration', String(DURATION_S)], () => (cpuAtGo = cpuSeconds(node.pid)));
    const loadCpu = cpuSeconds(node.pid) - cpuAtGo;
    const hs = await generate(node.url, ca, 'connect', [], () => (cpuAtGo = cpuSeconds(node.pid)));
    const hsCpu = cpuSeconds(node.pid) - cpuAtGo;
    return { opsPerSec: Math.round(load.ops / load.seconds), cpuUsPerOp: (loadCpu * 1e6) / load.ops, errors: load.errors, cpuUsPerConnection: (hsCpu * 1e6) / hs.connections };
  } finally {
    node.child.kill('SIGKILL');
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-bench-tls-'));
  makeCert(dir);
  const rows = [];
  const load = [];
  for (const inflight of [1, 16]) {
    const runs = { plain: [], tls: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of round % 2 === 0 ? ['plain', 'tls'] : ['tls', 'plain']) {
        const r = await measure(dir, mode === 'tls', inflight);
        if (r.errors > 0) throw new Error(`${r.errors} errors`);
        runs[mode].push(r);
        load.push(os.loadavg()[0]);
        console.error(`inflight ${inflight} round ${round} ${mode}: ${r.opsPerSec} ops/s, ${r.cpuUsPerOp.toFixed(2)} µs node CPU per op, ${r.cpuUsPerConnection.toFixed(0)} µs per connection`);
      }
    }
    const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (const mode of ['plain', 'tls']) {
      const rs = runs[mode];
      rows.push(
        `| ${inflight} | ${mode === 'tls' ? 'wss://' : 'ws://'} | ${median(rs.map((r) => r.opsPerSec))} | ${median(rs.map((r) => r.cpuUsPerOp)).toFixed(2)} | ${rs.map((r) => r.cpuUsPerOp.toFixed(2)).join(', ')} | ${median(rs.map((r) => r.cpuUsPerConnection)).toFixed(0)} |`,
      );
    }
  }
  console.log(machineLine());
  console.log(
    `${CONNECTIONS} connections, one request per frame, 50 % GET / 50 % PUT of ${KEYS} keys, ${DURATION_S} s per run, ${ROUNDS} runs per row alternating, medians; ` +
      `per connection: ${HANDSHAKES} sequential connects + HELLO + close. Load average (1 min) during the runs: ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}.\n`,
  );
  console.log('| in flight | scheme | ops/s | node CPU µs/op (median) | each run | node CPU µs per connection |');
  console.log('| ---: | --- | ---: | ---: | --- | ---: |');
  for (const row of rows) console.log(row);
}

// ---- the generator ----

async function generator() {
  const WebSocket = require('ws');
  const { pack, unpack } = require('msgpackr');
  const url = opt('url');
  const ca = fs.readFileSync(opt('ca'));
  const open = () =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ca, perMessageDeflate: false });
      ws.once('error', reject);
      ws.once('open', () => {
        ws.send(pack([[0, OP_HELLO, { protocol: 1 }]]));
        ws.once('message', () => resolve(ws));
      });
    });
  if (opt('generate') === 'connect') {
    process.stdout.write('go\n');
    for (let i = 0; i < HANDSHAKES; i++) {
      const ws = await open();
      await new Promise((resolve) => {
        ws.once('close', resolve);
        ws.close();
      });
    }
    process.stdout.write(JSON.stringify({ connections: HANDSHAKES }));
    return;
  }
  const inflight = Number(opt('inflight', 1));
  const durationMs = Number(opt('duration', 5)) * 1000;
  const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, open));
  const put = (id, k) => pack([[id, OP_PUT, { ns: 'test', set: 'b', key: k, bins: { v: 'x'.repeat(100) } }]]);
  const get = (id, k) => pack([[id, OP_GET, { ns: 'test', set: 'b', key: k }]]);
  // Prefill (not measured): every key once.
  await Promise.all(
    sockets.map(
      (ws, c) =>
        new Promise((resolve) => {
          let left = 0;
          for (let k = c; k < KEYS; k += CONNECTIONS) {
            left++;
            ws.send(put(1, k));
          }
          ws.on('message', function onPrefill(data) {
            left -= unpack(data).length;
            if (left === 0) {
              ws.off('message', onPrefill);
              resolve();
            }
          });
        }),
    ),
  );
  let ops = 0;
  let errors = 0;
  let running = true;
  let seed = 12345;
  const nextKey = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % KEYS;
  process.stdout.write('go\n');
  const startedMs = Date.now();
  for (const ws of sockets) {
    ws.on('message', (data) => {
      // A frame holds every answer the node had for this connection that turn: [[id, code, body], ...].
      for (const [, code] of unpack(data)) {
        ops++;
        if (code !== 0 && code !== 2) errors++; // 2: KEY_NOT_FOUND
        if (running) ws.send(nextKey() & 1 ? get(2, nextKey()) : put(2, nextKey()));
      }
    });
    for (let i = 0; i < inflight; i++) ws.send(get(2, nextKey()));
  }
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  running = false;
  const seconds = (Date.now() - startedMs) / 1000;
  process.stdout.write(JSON.stringify({ ops, errors, seconds }));
  for (const ws of sockets) ws.terminate();
}

if (args.includes('--generate')) {
  generator().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
