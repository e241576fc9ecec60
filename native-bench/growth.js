#!/usr/bin/env node
// Cost as the data grows, end to end through a real `aerie start` process with an in-memory
// namespace: resident memory, the node's own index and arena accounting, bytes per record beyond
// the data, throughput (native load generator) and GC pauses, at start-up and at each stage of
// records (1M, then 10M by default). Every record is written exactly once by the loader; the
// throughput runs after each stage overwrite some of them.
//
//   npx tsc -p . && node native-bench/growth.js [--records 1000000,10000000] [--duration 5] [--wait-quiet S] [--pin]
//     [--heartbeat-timeout-ms 5000] [--out DIR]
//
// Nothing is pinned by default: pinned to one core, the node's three threads take turns on it and
// every GC pause (wall time) would include the other threads' time slices. --pin pins the node to
// CPU 0 and the generator to CPU 1 for the whole run, like run.js. --wait-quiet S waits, before
// start-up, each load and each throughput run, while other processes keep the CPUs busy (at most
// S seconds in all).
//
// Writes results/growth.md and results/growth.json (or --out DIR) and prints the Markdown.
'use strict';
const { parseArgs } = require('node:util');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const LOADGEN = path.join(__dirname, 'build', 'loadgen');
const { connect, Key } = require('../dist/src/index.js');
const C = require('../dist/src/constants.js');
const { RECORD_HEADER_BYTES } = require('../dist/src/shm/record-store.js');
const { packValue } = require('../dist/src/protocol/codec.js');
const { otherCpuPct, OTHER_CPU_PCT_NOISY } = require('./report');
const { GcTrace } = require('./gc-trace');
const { analyse, markdown, round, mib } = require('./growth-report');

const WORKERS = 2;
const MEMORY_BYTES_MAX = 16 * 2 ** 30;
const VALUE_BYTES = 100;
const NS = 'test';
/** The load generator's default set: the throughput runs read the records the loader wrote. */
const SET = 'b';
const CONNECTIONS = 50;
const WARMUP_S = 1;
/** SDK puts kept in flight while loading (the node allows 8192 per connection). */
const LOAD_INFLIGHT = 2000;
const TARGET_OVERHEAD_BYTES = 64;
/** Each worker's index table starts with a 64-byte header (src/shm/index-table.ts). */
const INDEX_HEADER_BYTES = 64;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const LOADGEN_GRACE_MS = 60_000;
const SERVER_CPU = 0;
const GENERATOR_CPU = 1;
const OUTPUT_LINES_KEPT = 40;
const SETTLE_TIMEOUT_MS = 10_000;
const SETTLE_POLL_MS = 600;
/**
 * The supervisor's default (500 ms) can declare a worker hung while it doubles an index of
 * millions of entries (a synchronous copy: 336 ms for 3.1M entries on an idle thread here, longer
 * on shared CPUs), and the replacement starts the same rehash again. Once, on a busy machine,
 * a node prefilled with 10M keys by the native generator lost both workers that way. The node
 * gets 5 s, as the test harnesses do, so a restart cannot distort the figures;
 * --heartbeat-timeout-ms 500 measures with the default. (Since then the rehash beats the
 * heartbeat as it goes: a 10M prefill with the default 500 ms restarted nothing.)
 */
const HEARTBEAT_TIMEOUT_MS = 5000;
/** --wait-quiet: how long one sample of /proc/stat lasts, and the busiest a quiet machine may be (% of a core). */
const QUIET_SAMPLE_MS = 1000;
const QUIET_BUSY_PCT_MAX = OTHER_CPU_PCT_NOISY;

const WORKLOADS = [
  { id: 'unpipelined', name: '50/50 get/put, unpipelined', inflight: 1 },
  { id: 'inflight16', name: '50/50 get/put, 16 in flight', inflight: 16 },
];

function options() {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '1000000,10000000' },
      duration: { type: 'string', default: '5' },
      out: { type: 'string' },
      pin: { type: 'boolean', default: false },
      'wait-quiet': { type: 'string', default: '0' },
      'heartbeat-timeout-ms': { type: 'string', default: String(HEARTBEAT_TIMEOUT_MS) },
    },
  });
  const stages = values.records.split(',').map(Number);
  if (!stages.every((n, i) => Number.isInteger(n) && n > 0 && n <= 100_000_000 && (i === 0 || n > stages[i - 1]))) {
    throw new Error('--records must be increasing integers from 1 to 100000000, comma-separated');
  }
  const durationS = Number(values.duration);
  if (!(durationS > 0 && durationS <= 600)) throw new Error('--duration must be seconds from 0 to 600');
  const canPin = os.availableParallelism() >= 2 && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
  const waitQuietS = Number(values['wait-quiet']);
  if (!(waitQuietS >= 0 && waitQuietS <= 3600)) throw new Error('--wait-quiet must be seconds from 0 to 3600');
  const heartbeatTimeoutMs = Number(values['heartbeat-timeout-ms']);
  if (!(Number.isInteger(heartbeatTimeoutMs) && heartbeatTimeoutMs >= 50)) throw new Error('--heartbeat-timeout-ms must be an integer ≥ 50');
  return { stages, durationS, waitQuietS, heartbeatTimeoutMs, pin: values.pin && canPin, outDir: path.resolve(values.out ?? path.join(__dirname, 'results')) };
}

// ---- the machine ----

function machine() {
  const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  return {
    cpuModel: m ? m[1].trim() : 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
  };
}

function uptime() {
  const r = spawnSync('uptime', { encoding: 'utf8' });
  return r.status === 0
    ? r.stdout.trim()
    : `load average: ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(', ')}`;
}

function revision() {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' });
  return { commit: head.stdout.trim(), srcModified: dirty.stdout.trim() !== '', distBuiltAt: fs.statSync(CLI).mtime.toISOString() };
}

/** Resident memory of a process in bytes, from /proc/<pid>/status. */
function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

// ---- the node ----

function sleep(delayMs) {
  return new Promise((r) => setTimeout(r, delayMs));
}

/** Busy time of all CPUs (everything but idle and iowait) from /proc/stat, in 1/100 s. */
function machineBusyTicks() {
  const v = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

/** CPU time of a process (all threads) from /proc/<pid>/stat, in 1/100 s. */
function processTicks(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime stime
}

/** Starts counting the CPU other processes use; the returned function gives it in % of one core. */
function otherCpu(nodePid) {
  const t0 = performance.now();
  const machine0 = machineBusyTicks();
  const node0 = processTicks(nodePid);
  const self0 = process.cpuUsage();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    const selfTicks = (self.user + self.system) / 10_000;
    const other = machineBusyTicks() - machine0 - (processTicks(nodePid) - node0) - selfTicks;
    return round(Math.max(0, other) / seconds, 1);
  };
}

/** Waits while the machine is busier than QUIET_BUSY_PCT_MAX of a core, spending at most what is left of the budget. */
async function waitQuiet(budget) {
  while (budget.leftMs > 0) {
    const before = machineBusyTicks();
    await sleep(QUIET_SAMPLE_MS);
    budget.leftMs -= QUIET_SAMPLE_MS;
    if ((machineBusyTicks() - before) / (QUIET_SAMPLE_MS / 1000) <= QUIET_BUSY_PCT_MAX) return; // ticks per second = % of a core
    budget.waitedMs += QUIET_SAMPLE_MS;
  }
}

function pinned(cpu, argv, pin) {
  return pin ? ['taskset', '-c', String(cpu), ...argv] : argv;
}

/** Starts `aerie start` with --trace-gc (not allowed in NODE_OPTIONS) and resolves once it is ready. */
function startNode(configPath, pin, gc) {
  const argv = pinned(SERVER_CPU, [process.execPath, '--trace-gc', CLI, 'start', '--config', configPath], pin);
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const node = { child, argv, pid: child.pid, output: [], errors: '', exited: null };
  const keep = (line) => {
    node.output.push(line);
    if (node.output.length > OUTPUT_LINES_KEPT) node.output.shift();
  };
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the node was not ready within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        if (gc.line(line)) continue;
        keep(line);
        const m = /ws:\/\/([\d.]+:\d+)/.exec(line);
        if (m && node.host === undefined) {
          node.host = m[1];
          node.readyMs = performance.now() - t0;
          clearTimeout(timer);
          resolve(node);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s) => (node.errors = (node.errors + s).slice(-8192)));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      node.exited = signal ?? code;
      reject(new Error(`the node exited (${node.exited}) before it was ready: ${node.errors}${node.output.join('\n')}`));
    });
  });
}

async function stopNode(node) {
  if (node.exited !== null) return;
  // 'close' comes after the last of stdout: V8 flushes its buffered trace lines at exit.
  const exited = new Promise((r) => node.child.once('close', r));
  node.child.kill('SIGTERM');
  const timer = setTimeout(() => node.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function info(host) {
  const client = await connect({ hosts: host, timeoutMs: 30_000 });
  try {
    return await client.info();
  } finally {
    await client.close();
  }
}

/**
 * Memory figures of the namespace and the process, taken together. Workers publish their counters
 * at most every 50 ms while busy and once a second when idle, so INFO is polled until it shows
 * `recordsExpected` records and the same figures twice in a row.
 */
async function snapshot(node, stage, recordsExpected) {
  let previous = null;
  let i = null;
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    i = await info(node.host);
    const ns = i.namespaces.find((n) => n.name === NS);
    const figures = [ns.records, ns.indexBytes, ns.arenaBytes, ns.liveBytes].join();
    if ((recordsExpected === null || ns.records === recordsExpected) && figures === previous) break;
    if (Date.now() > deadline) {
      console.error(`growth:   INFO did not settle within ${SETTLE_TIMEOUT_MS} ms (records ${ns.records}, expected ${recordsExpected})`);
      break;
    }
    previous = figures;
    await sleep(SETTLE_POLL_MS);
  }
  const rss = rssBytes(node.pid);
  const ns = i.namespaces.find((n) => n.name === NS);
  return {
    stage,
    rssBytes: rss,
    records: ns.records,
    indexBytes: ns.indexBytes,
    arenaBytes: ns.arenaBytes,
    liveBytes: ns.liveBytes,
    memoryBytes: ns.memoryBytes,
    workerHeapUsedBytes: i.workers.reduce((a, w) => a + w.heapUsedBytes, 0),
    workers: i.workers.map((w) => ({ index: w.index, state: w.state, restarts: w.restarts, lastFailure: w.lastFailure, records: w.records })),
  };
}

// ---- load and throughput ----

/** Writes keys [from, to) once each through the SDK, LOAD_INFLIGHT puts in flight, no sendKey. */
async function load(host, from, to, value) {
  const client = await connect({ hosts: host, timeoutMs: 120_000 });
  const t0 = performance.now();
  let next = from;
  let errors = 0;
  let firstError = null;
  // Put latency includes queueing behind the other puts in flight; a worker that stops to rehash
  // its index shows up as a burst of slow puts.
  const latency = { maxMs: 0, maxAtS: 0, over100Ms: 0, over500Ms: 0 };
  const lane = async () => {
    while (next < to) {
      const k = next++;
      const sent = performance.now();
      try {
        await client.put(new Key(NS, SET, k), { v: value });
      } catch (err) {
        errors++;
        firstError ??= `${err.code ?? ''} ${err.message}`;
      }
      const now = performance.now();
      const elapsedMs = now - sent;
      if (elapsedMs > 100) latency.over100Ms++;
      if (elapsedMs > 500) latency.over500Ms++;
      if (elapsedMs > latency.maxMs) {
        latency.maxMs = round(elapsedMs, 1);
        latency.maxAtS = round((now - t0) / 1000, 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOAD_INFLIGHT, to - from) }, lane));
  const seconds = (performance.now() - t0) / 1000;
  await client.close();
  return { records: to - from, seconds: round(seconds, 1), recordsPerSecond: Math.round((to - from) / seconds), errors, firstError, latency };
}

let currentLoadgen = null;

function loadgen(args, timeoutMs, pin) {
  const argv = pinned(GENERATOR_CPU, [LOADGEN, ...args, '--json'], pin);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    currentLoadgen = child;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (s) => (stdout += s));
    child.stderr.on('data', (s) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      currentLoadgen = null;
      try {
        resolve({ ...JSON.parse(stdout), command: argv.join(' ') });
      } catch {
        reject(new Error(`loadgen exited (${signal ?? code}) without a report: ${stderr.trim()}`));
      }
    });
  });
}

async function throughput(node, records, opts) {
  const port = node.host.split(':')[1];
  const rows = {};
  for (const w of WORKLOADS) {
    const args = [
      '--port',
      port,
      '--connections',
      String(CONNECTIONS),
      '--keys',
      String(records),
      '--value-bytes',
      String(VALUE_BYTES),
      '--read-pct',
      '50',
      '--inflight',
      String(w.inflight),
      '--duration',
      String(opts.durationS),
      '--warmup',
      String(WARMUP_S),
      '--server-pid',
      String(node.pid),
    ];
    await waitQuiet(opts.quiet);
    const r = await loadgen(args, (opts.durationS + WARMUP_S) * 1000 + LOADGEN_GRACE_MS, opts.pin);
    const other = otherCpuPct(r);
    rows[w.id] = {
      ok: r.ok,
      failure: r.failure,
      opsPerSecond: r.ops_per_sec,
      misses: r.misses,
      errors: r.errors_total,
      p50Us: r.latency_us?.p50 ?? null,
      p99Us: r.latency_us?.p99 ?? null,
      serverCpuUsPerOp: r.server_cpu_us_per_op,
      serverCpuPct: r.server_cpu_pct,
      loadgenCpuPct: r.loadgen_cpu_pct,
      otherCpuPct: other === null ? null : round(other, 1),
      noisy: other !== null && other > OTHER_CPU_PCT_NOISY,
      command: r.command,
    };
    console.error(`growth:   ${w.name}: ${r.ok ? `${r.ops_per_sec} ops/s` : `FAILED ${r.failure}`}` + `${other !== null ? `, other processes ${Math.round(other)} % of a core` : ''}`);
  }
  return rows;
}

// ---- main ----

async function main() {
  const opts = options();
  opts.quiet = { leftMs: opts.waitQuietS * 1000, waitedMs: 0 };
  const t0 = performance.now();
  const build = spawnSync('make', ['-C', __dirname], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) throw new Error('building the load generator failed (make -C native-bench)');
  const rep = {
    date: new Date().toISOString(),
    command: `node native-bench/growth.js ${process.argv.slice(2).join(' ')}`.trim(),
    machine: machine(),
    revision: revision(),
    uptimeStart: uptime(),
    durationS: opts.durationS,
    pinned: opts.pin,
    setup: {
      ns: NS,
      set: SET,
      workers: WORKERS,
      memoryBytesMax: MEMORY_BYTES_MAX,
      valueBytes: VALUE_BYTES,
      connections: CONNECTIONS,
      warmupS: WARMUP_S,
      loadInflight: LOAD_INFLIGHT,
      targetOverheadBytes: TARGET_OVERHEAD_BYTES,
      // The stored layout, from the compiled sources: a record is header + key + msgpack bins.
      recordHeaderBytes: RECORD_HEADER_BYTES,
      binsBytes: packValue({ v: Buffer.alloc(VALUE_BYTES) }).length,
      indexSlotBytes: C.INDEX_SLOT_BYTES,
      indexHeaderBytes: INDEX_HEADER_BYTES,
    },
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-growth-'));
  const configPath = path.join(dir, 'aerie.json');
  fs.writeFileSync(
    configPath,
    JSON.stringify(
      {
        service: { host: '127.0.0.1', port: 0 },
        workers: { count: WORKERS },
        log: { level: 'warn' },
        supervisor: { heartbeatTimeoutMs: opts.heartbeatTimeoutMs },
        namespaces: [{ name: NS, storage: 'memory', memoryBytesMax: MEMORY_BYTES_MAX }],
      },
      null,
      2,
    ),
  );
  const gc = new GcTrace();
  let node = null;
  const onSignal = (sig) => {
    console.error(`growth: ${sig}: stopping`);
    if (currentLoadgen) currentLoadgen.kill('SIGTERM');
    (node ? stopNode(node) : Promise.resolve()).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await waitQuiet(opts.quiet);
    node = await startNode(configPath, opts.pin, gc);
    rep.nodeArgv = node.argv.map((a) => (a === configPath ? 'CONFIG' : a)).join(' ');
    rep.config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    const start = await snapshot(node, 'start-up', 0);
    start.readyMs = Math.round(node.readyMs);
    console.error(`growth: node pid ${node.pid} ready in ${start.readyMs} ms on ${node.host}; RSS ${mib(start.rssBytes)} MiB`);
    start.analysis = analyse(start, start, rep.setup);
    start.gc = gc.summary((p) => p.phase === 'start-up');
    rep.startup = start;
    const value = Buffer.from(Array.from({ length: VALUE_BYTES }, (_, i) => (i * 37) & 0xff));
    rep.stages = [];
    let loaded = 0;
    for (const records of opts.stages) {
      const stage = records >= 1e6 && records % 1e6 === 0 ? `${records / 1e6}M` : String(records);
      // Trace lines arrive through stdio buffering (a few KB), so a pause close to the boundary
      // may be counted in the next stage.
      gc.phase = stage;
      console.error(`growth: loading keys ${loaded}..${records - 1}`);
      await waitQuiet(opts.quiet);
      const stop = otherCpu(node.pid);
      const loadResult = await load(node.host, loaded, records, value);
      loadResult.otherCpuPct = stop();
      loaded = records;
      console.error(`growth:   ${loadResult.recordsPerSecond} records/s, ${loadResult.errors} errors, ` + `other processes ${Math.round(loadResult.otherCpuPct)} % of a core`);
      const s = await snapshot(node, stage, records);
      s.load = loadResult;
      s.analysis = analyse(s, start, rep.setup);
      console.error(
        `growth:   RSS ${mib(s.rssBytes)} MiB, index ${mib(s.indexBytes)}, arena ${mib(s.arenaBytes)}, ` +
          `live ${mib(s.liveBytes)}; overhead ${s.analysis.overheadBytesPerRecord} B/record, ΔRSS−data ${s.analysis.rssOverheadBytesPerRecord}`,
      );
      s.throughput = await throughput(node, records, opts);
      s.rssBytesAfterThroughput = rssBytes(node.pid);
      s.gc = gc.summary((p) => p.phase === stage);
      rep.stages.push(s);
    }
    rep.end = await snapshot(node, 'end', null);
  } finally {
    if (node) await stopNode(node);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  rep.uptimeEnd = uptime();
  rep.quietWaitS = { allowed: opts.waitQuietS, spent: opts.quiet.waitedMs / 1000 };
  rep.totalSeconds = Math.round((performance.now() - t0) / 1000);
  rep.gc = { all: gc.summary(), unparsed: gc.unparsed, isolates: gc.isolates.length, byIsolate: {} };
  for (const address of gc.isolates) rep.gc.byIsolate[gc.isolateName(address)] = gc.summary((p) => p.isolate === address);
  rep.nodeOutput = node.output;
  rep.nodeStderr = node.errors.trim();
  const text = markdown(rep);
  fs.mkdirSync(opts.outDir, { recursive: true });
  fs.writeFileSync(path.join(opts.outDir, 'growth.json'), `${JSON.stringify(rep, null, 2)}\n`);
  fs.writeFileSync(path.join(opts.outDir, 'growth.md'), text);
  console.log(text);
  console.log(`written: ${path.relative(ROOT, opts.outDir) || '.'}/growth.md, growth.json`);
}

main().catch((err) => {
  console.error(`growth: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
