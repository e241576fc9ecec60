// What an idle node costs: starts `aerie start` as a child process on the shipped default
// configuration (its file namespace in a temporary directory), optionally with some idle clients
// connected (partition-routed, so each worker has sessions on its own endpoint), lets it settle,
// and reads every thread's CPU from /proc/PID/task/*/stat over a window in which nothing is asked.
// Redis, when installed, idles beside it in the same window for comparison. Not a test; run after
// `npx tsc -p .`:
//
//   node native-bench/idle.js [--seconds 10] [--clients 0] [--storage file|memory]

'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '0' },
    storage: { type: 'string', default: 'file' },
  },
});
const SECONDS = Math.max(1, Math.min(120, Number(values.seconds)));
const CLIENTS = Math.max(0, Math.min(64, Number(values.clients)));
const SETTLE_MS = 3000;
const TICK_HZ = 100; // USER_HZ on Linux: /proc stat times are in 1/100 s

function threadTicks(pid) {
  const out = new Map();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

function sum(map) {
  let total = 0;
  for (const v of map.values()) total += v;
  return total;
}

/** Starts a child and resolves once `ready` matches its stdout. */
function startChild(argv, ready) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv[0]} did not start`));
    }, 30_000);
    child.once('error', reject);
    child.stdout.on('data', (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    });
  });
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-idle-'));
  const shipped = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'config', 'default.json'), 'utf8'));
  shipped.service.port = 0;
  shipped.service.workerPorts = 0;
  for (const ns of shipped.namespaces) {
    ns.storage = values.storage;
    ns.dataDir = path.join(dir, 'data');
  }
  shipped.log = { level: 'warn' };
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(config, JSON.stringify(shipped));
  const node = await startChild([process.execPath, path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js'), 'start', '--config', config], /ws:\/\/([\d.]+:\d+)/);
  let redis = null;
  try {
    redis = await startChild(['redis-server', '--port', '0', '--unixsocket', path.join(dir, 'redis.sock'), '--save', '', '--appendonly', 'no', '--loglevel', 'notice'], /ready to accept connections/i);
  } catch {
    redis = null; // not installed (or it did not start): the node alone
  }
  const clients = [];
  try {
    const { connect } = require('../dist/src/client/index');
    for (let i = 0; i < CLIENTS; i++) clients.push(await connect({ hosts: node.match[1] }));
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const before = threadTicks(node.child.pid);
    const redisBefore = redis === null ? 0 : sum(threadTicks(redis.child.pid));
    const startedMs = Date.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const elapsedS = (Date.now() - startedMs) / 1000;
    const after = threadTicks(node.child.pid);
    const pct = (ticks) => Math.round((ticks / TICK_HZ / elapsedS) * 100 * 100) / 100;
    const threads = [];
    for (const [tid, ticks] of after) {
      const used = ticks - (before.get(tid) ?? 0);
      if (used > 0) threads.push({ tid: Number(tid), cpuPct: pct(used), primary: tid === String(node.child.pid) });
    }
    const report = {
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`,
      command: `node native-bench/idle.js --seconds ${SECONDS} --clients ${CLIENTS} --storage ${values.storage}`,
      seconds: elapsedS,
      workers: 'default (one per core)',
      clients: CLIENTS,
      aerieCpuPctOfOneCore: pct(sum(after) - sum(before)),
      threads,
      redisCpuPctOfOneCore: redis === null ? null : pct(sum(threadTicks(redis.child.pid)) - redisBefore),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    for (const c of clients) await c.close();
    node.child.kill('SIGTERM');
    redis?.child.kill('SIGTERM');
    await new Promise((r) => node.child.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`idle: ${err.stack ?? err}`);
  process.exit(1);
});
