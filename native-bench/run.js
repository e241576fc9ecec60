'use strict';
// `npm run bench`: builds the native load generator, starts an Aerie node and, where installed,
// Redis (without persistence, and with an AOF fsynced every second) and memcached, each on a
// free loopback port; prefills the same key space into each; runs the same fixed matrix of
// bounded workloads against each with the same generator; writes results/latest.json and
// results/latest.md (summary with the Aerie/peer ratios, one table per workload, notes).
//
// Workloads run one after another across all servers (workload-major), so the figures that get
// compared were measured minutes apart at most. Servers and the generator are pinned to CPUs 0
// and 1 with taskset when possible; Aerie is measured a second time unpinned because its node
// runs three JavaScript threads. Server CPU per operation comes from /proc/<pid>/stat, sampled
// by the generator at the start and end of its measured window. A row during which other
// processes used more than 10 % of a core is measured again (twice at most), keeping the quietest.
//
// Issue 12's rows run in the same pass: Aerie partition-routed (each request sent to the worker
// endpoint of its key's master) pinned and unpinned, with one and two copies; Redis unpinned and
// with two I/O threads; the calibration servers (a minimal Node server of our protocol and of
// RESP). Each row also records the CPU of every server thread (loadgen --server-pid reads
// /proc/PID/task); report.js turns that into CPU per operation per thread and a projected capacity
// per core count. After the matrix, the routed rows are measured again paced at half of their
// maximum unpipelined throughput, for the p99 target. `uptime` is recorded at both ends: on a
// shared machine the figures say how loaded it was.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const servers = require('./servers');
const { markdown, summaryTable, otherCpuPct, OTHER_CPU_PCT_NOISY } = require('./report');
const { scaleMarkdown, HALF_LOAD_WORKLOADS } = require('./report-scale');

const ROOT = path.resolve(__dirname, '..');
const LOADGEN = path.join(__dirname, 'build', 'loadgen');
const RESULTS_DIR = path.join(__dirname, 'results');

const DURATION_S_DEFAULT = 8;
const DURATION_S_QUICK = 2;
const WARMUP_S = 1;
/** Beyond its own bounds, a generator run gets this long before it is killed. */
const LOADGEN_GRACE_MS = 60_000;
const PREFILL_TIMEOUT_MS = 660_000;
const NOISY_RETRIES_DEFAULT = 2;
const NOISY_RETRIES_MAX = 5;
const NOISY_RETRY_PAUSE_MS = 2000;
/** Re-measurements per whole run, so a busy machine cannot stretch the run without bound. */
const NOISY_RETRIES_PER_RUN_MAX = 6;
const GENERATOR_CPU = 1;
/** How long a quiet-machine check samples /proc/stat, and the busiest it may be (% of one core). */
const QUIET_SAMPLE_MS = 1000;
const QUIET_BUSY_PCT_MAX = OTHER_CPU_PCT_NOISY;
const QUIET_WAIT_S_MAX = 3600;

/** The last lines a server wrote to stderr go into the report (warnings such as a worker restart). */
const STDERR_LINES_REPORTED = 10;

const CONNECTIONS = 50;
const VALUE_BYTES = 100;
const KEYS_DEFAULT = 1_000_000;

/** The matrix: every row uses CONNECTIONS connections, VALUE_BYTES values, the prefilled keys. */
const WORKLOADS = [
  { id: 'rw50-unpipelined', name: '50/50 get/put, unpipelined', readPct: 50, inflight: 1, batch: 1 },
  { id: 'rw50-inflight16', name: '50/50 get/put, 16 in flight', readPct: 50, inflight: 16, batch: 1 },
  { id: 'rw95-unpipelined', name: '95/5 get/put, unpipelined', readPct: 95, inflight: 1, batch: 1 },
  { id: 'rw95-inflight16', name: '95/5 get/put, 16 in flight', readPct: 95, inflight: 16, batch: 1 },
  { id: 'rw50-batch16', name: '50/50 get/put, 16 per frame / per write', readPct: 50, inflight: 16, batch: 16 },
];

function usage() {
  const ids = servers.SERVER_SPECS.map((s) => s.id).join(',');
  return [
    'usage: node native-bench/run.js [--quick] [--duration S] [--keys N] [--no-peers] [--servers LIST] [--no-pin]',
    `  --duration S   measured seconds per row (default ${DURATION_S_DEFAULT}; ${WARMUP_S} s warmup before each)`,
    `  --quick        ${DURATION_S_QUICK} s per row`,
    `  --keys N       key space, prefilled once per server (default ${KEYS_DEFAULT})`,
    '  --peers        measure Redis and memcached too (the default; missing binaries are skipped)',
    '  --no-peers     Aerie and the calibration servers only (no Redis, no memcached)',
    '  --no-half-load do not measure the routed rows again at half of their maximum throughput',
    `  --servers LIST comma-separated subset of ${ids}`,
    `  --retries N    re-measure a row up to N times when other processes used the CPUs (default ${NOISY_RETRIES_DEFAULT},`,
    `                 at most ${NOISY_RETRIES_PER_RUN_MAX} re-measurements per run)`,
    '  --wait-quiet S before each row, wait while the machine is busy (other test suites), up to S seconds',
    '                 in total for the whole run (default 0: never wait)',
    '  --rerun-noisy  measure again only the rows results/latest.json marks noisy (same duration, keys,',
    '                 pinning), and keep each new measurement that is quieter than the old one',
    '  --out DIR      write latest.json and latest.md there instead of native-bench/results (trial runs)',
    '  --no-pin       do not pin servers and generator to CPUs 0 and 1 (the unpinned Aerie pass is then dropped)',
    '  --embedded     start Aerie through startNode() even when the CLI exists',
  ].join('\n');
}

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      quick: { type: 'boolean', default: false },
      keys: { type: 'string' },
      peers: { type: 'boolean', default: true },
      'no-peers': { type: 'boolean', default: false },
      servers: { type: 'string' },
      retries: { type: 'string' },
      'wait-quiet': { type: 'string' },
      'rerun-noisy': { type: 'boolean', default: false },
      out: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      embedded: { type: 'boolean', default: false },
      'no-half-load': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage());
    process.exit(0);
  }
  const durationS = values.duration !== undefined ? Number(values.duration) : values.quick ? DURATION_S_QUICK : DURATION_S_DEFAULT;
  if (!(durationS > 0 && durationS <= 3600)) throw new Error('--duration must be seconds from 0 to 3600');
  const keys = values.keys !== undefined ? Number(values.keys) : KEYS_DEFAULT;
  if (!Number.isInteger(keys) || keys < 1 || keys > 100_000_000) throw new Error('--keys must be an integer from 1 to 100000000');
  const retries = values.retries !== undefined ? Number(values.retries) : NOISY_RETRIES_DEFAULT;
  if (!Number.isInteger(retries) || retries < 0 || retries > NOISY_RETRIES_MAX) throw new Error(`--retries must be 0 to ${NOISY_RETRIES_MAX}`);
  const waitQuietS = values['wait-quiet'] !== undefined ? Number(values['wait-quiet']) : 0;
  if (!(waitQuietS >= 0 && waitQuietS <= QUIET_WAIT_S_MAX)) throw new Error(`--wait-quiet must be seconds from 0 to ${QUIET_WAIT_S_MAX}`);
  const pin = !values['no-pin'] && canPin();
  let ids = servers.SERVER_SPECS.map((s) => s.id);
  if (values.servers !== undefined) {
    ids = values.servers
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = ids.filter((id) => !servers.SERVER_SPECS.some((s) => s.id === id));
    if (unknown.length) throw new Error(`unknown server ${unknown.join(', ')} (known: ${usage().match(/subset of (\S+)/)[1]})`);
  } else {
    // The calibration servers are not peers: they are what Aerie's targets are measured against.
    if (values['no-peers']) ids = ids.filter((id) => !['redis', 'memcached'].includes(servers.SERVER_SPECS.find((s) => s.id === id).kind));
    if (!pin) ids = ids.filter((id) => servers.SERVER_SPECS.find((s) => s.id === id).pinned); // the pinned pass is unpinned too
  }
  const resultsDir = values.out !== undefined ? path.resolve(values.out) : RESULTS_DIR;
  const opts = { durationS, keys, retries, waitQuietS, pin, embedded: values.embedded, halfLoad: !values['no-half-load'], serverIds: ids, rows: null, previous: null, resultsDir };
  if (values['rerun-noisy']) rerunOptions(opts);
  return opts;
}

function isNoisy(result) {
  const other = otherCpuPct(result);
  return other !== null && other > OTHER_CPU_PCT_NOISY;
}

/** --rerun-noisy: the rows to measure again and the settings they were measured with. */
function rerunOptions(opts) {
  const file = path.join(opts.resultsDir, 'latest.json');
  if (!fs.existsSync(file)) throw new Error(`--rerun-noisy needs ${path.relative(ROOT, file)} from an earlier run`);
  const previous = JSON.parse(fs.readFileSync(file, 'utf8'));
  const noisy = previous.runs.filter((r) => r.result.ok && isNoisy(r.result));
  opts.previous = previous;
  opts.durationS = previous.durationS;
  opts.keys = previous.keys;
  opts.pin = previous.pinned && opts.pin;
  opts.rows = new Set(noisy.map((r) => `${r.server}/${r.workload}`));
  opts.serverIds = [...new Set(noisy.map((r) => r.server))];
}

function canPin() {
  return os.availableParallelism() >= 2 && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
}

function machine() {
  let model = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1].trim();
  } catch {
    // not Linux: leave it unknown
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel: model,
    memoryBytesTotal: os.totalmem(),
    memoryGiBTotal: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
  };
}

/** The commit measured, and whether the sources differ from it (read-only git queries). */
function sourceRevision() {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (head.status !== 0) return null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' });
  return { commit: head.stdout.trim(), srcModified: dirty.status === 0 && dirty.stdout.trim() !== '' };
}

/** When the compiled node the runner starts was built (the servers run dist/, not src/). */
function distBuiltAt() {
  try {
    return fs.statSync(servers.INDEX).mtime.toISOString();
  } catch {
    return null;
  }
}

function commandLine() {
  const args = process.argv.slice(2).join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ` -- ${args}` : ''}`;
  return `node native-bench/run.js${args ? ` ${args}` : ''}`;
}

// ---- the load generator ----

let currentLoadgen = null;

/** Runs the generator once with --json; resolves to its parsed report. */
function loadgen(args, timeoutMs, pin) {
  const argv = servers.pinnedArgv(GENERATOR_CPU, [LOADGEN, ...args, '--json'], pin);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    currentLoadgen = child;
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s) => (stdout += s));
    const stderr = servers.tail(child.stderr);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      currentLoadgen = null;
      let report = null;
      try {
        report = JSON.parse(stdout);
      } catch {
        // no report: the failure below says why
      }
      if (report === null) {
        reject(new Error(`loadgen exited (${signal ?? code}) without a report: ${stderr.text.trim()}`));
        return;
      }
      report.command = argv.join(' ');
      resolve(report);
    });
  });
}

function commonArgs(server, keys) {
  const routing = server.spec.routing ? ['--routing', server.spec.routing] : [];
  if (server.spec.tls) routing.push('--tls', '--ca', server.tlsCaFile);
  return ['--protocol', server.spec.protocol, '--port', String(server.port), '--connections', String(CONNECTIONS), '--keys', String(keys), '--value-bytes', String(VALUE_BYTES), ...routing];
}

/** `uptime`'s load averages (1, 5, 15 min) and the time: how busy the shared machine was. */
function uptime() {
  const [one, five, fifteen] = os.loadavg().map((x) => Math.round(x * 100) / 100);
  return { at: new Date().toISOString(), loadAverage: [one, five, fifteen], text: spawnSync('uptime', { encoding: 'utf8' }).stdout?.trim() ?? null };
}

async function prefill(server, keys) {
  const result = await loadgen([...commonArgs(server, keys), '--prefill', '--duration', '0'], PREFILL_TIMEOUT_MS, server.pin);
  if (!result.ok || result.prefill.errors > 0) {
    throw new Error(`prefilling ${server.spec.label} failed: ${result.failure ?? `${result.prefill.errors} errors`}`);
  }
  return result;
}

/** Busy time of all CPUs together (everything but idle and iowait) from /proc/stat, in clock ticks. */
function machineBusyTicks() {
  const v = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]; // user nice system irq softirq steal
}

/** CPU ticks (1/100 s) the run's own servers other than `except` have used (all their threads). */
function idleServerTicks(state, except) {
  let ticks = 0;
  for (const s of state.live) {
    if (s === except || s.exited) continue;
    try {
      const fields = fs.readFileSync(`/proc/${s.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime stime (fields 14 and 15)
    } catch {
      // gone meanwhile
    }
  }
  return ticks;
}

/**
 * Waits until the machine is quiet: a QUIET_SAMPLE_MS sample of all CPUs, less what the run's own
 * idle servers used, below QUIET_BUSY_PCT_MAX of one core (they are counted apart: a run of a dozen
 * servers waiting for their rows would otherwise never find the machine quiet). Spends at most
 * what is left of the run's budget.
 */
async function waitQuiet(state) {
  const ticksPerS = 100; // USER_HZ: /proc/stat counts in 1/100 s on every Linux ABI
  while (state.quietWaitLeftMs > 0 && !state.interrupted) {
    const before = machineBusyTicks() - idleServerTicks(state, null);
    await servers.sleep(QUIET_SAMPLE_MS);
    state.quietWaitLeftMs -= QUIET_SAMPLE_MS;
    const busyPct = ((machineBusyTicks() - idleServerTicks(state, null) - before) / ticksPerS / (QUIET_SAMPLE_MS / 1000)) * 100;
    if (busyPct <= QUIET_BUSY_PCT_MAX) return;
    state.quietWaitedMs += QUIET_SAMPLE_MS;
  }
}

/** Measures one row, again while other processes disturbed it (up to `retries` times); keeps the quietest. */
async function measure(server, w, opts, state, extra = []) {
  const args = [
    ...extra,
    ...commonArgs(server, opts.keys),
    '--read-pct',
    String(w.readPct),
    '--inflight',
    String(w.inflight),
    '--batch',
    String(w.batch),
    '--duration',
    String(opts.durationS),
    '--warmup',
    String(WARMUP_S),
    '--server-pid',
    String(server.pid),
  ];
  const timeoutMs = (opts.durationS + WARMUP_S) * 1000 + LOADGEN_GRACE_MS;
  let best = null;
  let attempts = 0;
  for (;;) {
    await waitQuiet(state);
    const idleBefore = idleServerTicks(state, server);
    const startedMs = Date.now();
    const result = await loadgen(args, timeoutMs, server.pin);
    // The run's other servers, idle meanwhile: reported apart from other processes' CPU.
    result.idle_servers_cpu_pct = (idleServerTicks(state, server) - idleBefore) / ((Date.now() - startedMs) / 1000);
    attempts++;
    const other = otherCpuPct(result);
    if (best === null || !best.ok || (result.ok && other !== null && other < otherCpuPct(best))) best = result;
    if (!result.ok || other === null || other <= OTHER_CPU_PCT_NOISY || state.interrupted) break;
    if (attempts > opts.retries || state.retriesUsed >= NOISY_RETRIES_PER_RUN_MAX) {
      console.error(`bench:   other processes used ${Math.round(other)} % of a core; no retries left, noted as noisy`);
      break;
    }
    console.error(`bench:   other processes used ${Math.round(other)} % of a core; measuring again`);
    state.retriesUsed++;
    await servers.sleep(NOISY_RETRY_PAUSE_MS);
  }
  return { result: best, attempts };
}

// ---- main ----

/**
 * --rerun-noisy: puts each new measurement in place of the old one when it is quieter (fewer CPU
 * seconds used by other processes), and records when, how and on which servers it was taken.
 */
function merge(previous, runs, selected, state, opts) {
  const date = new Date().toISOString();
  const replaced = [];
  for (const run of runs) {
    const index = previous.runs.findIndex((r) => r.server === run.server && r.workload === run.workload);
    const old = previous.runs[index];
    if (!run.result.ok || (otherCpuPct(run.result) ?? Infinity) >= (otherCpuPct(old.result) ?? Infinity)) continue;
    previous.runs[index] = { ...run, remeasuredAt: date };
    replaced.push(`${run.server}/${run.workload}`);
  }
  previous.remeasured = [
    ...(previous.remeasured ?? []),
    {
      date,
      command: commandLine(),
      revision: state.revision,
      distBuiltAt: state.distBuiltAt,
      quietWaitS: { allowed: opts.waitQuietS, spent: state.quietWaitedMs / 1000 },
      rows: runs.map((r) => `${r.server}/${r.workload}`),
      replaced,
      servers: selected.filter((sel) => !sel.skipped).map((sel) => describeServer(sel.server)),
    },
  ];
  return previous;
}

/** Aerie front-routed pinned in the results this run replaces: "front-routed clients no slower than today". */
function previousFront(dir) {
  try {
    const old = JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8'));
    const rows = {};
    for (const run of old.runs) if (run.server === 'aerie' && run.result.ok) rows[run.workload] = run.result.ops_per_sec;
    return { date: old.date, commit: old.revision?.commit ?? null, rows };
  } catch {
    return null;
  }
}

function describeServer(server) {
  return {
    id: server.spec.id,
    label: server.spec.label,
    kind: server.spec.kind,
    routing: server.spec.routing ?? null,
    endpoints: server.endpoints ?? null,
    protocol: server.spec.protocol,
    version: server.version,
    pin: server.pin,
    port: server.port,
    pid: server.pid,
    argv: server.argv,
    argvShown: server.argv.map(shellWord).join(' '),
    config: server.config,
    prefill: server.prefill,
    rssMiBAfterPrefill: server.rssMiBAfterPrefill,
    osThreads: server.osThreads,
    rssMiBAtEnd: server.rssMiBAtEnd,
    stderrTail: server.stderrTail || null,
    exitedDuringRun: server.exitedDuringRun ?? null,
  };
}

function shellWord(s) {
  if (s === '') return "''";
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** Which servers can run here; peers without their binary are reported as skipped. */
function selectServers(opts) {
  const selected = [];
  for (const id of opts.serverIds) {
    const spec = servers.SERVER_SPECS.find((s) => s.id === id);
    const version = spec.kind === 'aerie' ? servers.aerieVersion() : spec.kind === 'calibration' ? servers.calibrationVersion() : servers.peerVersion(spec);
    if (version === null) {
      const skipped = `\`${spec.binary}\` not found (install it with \`${spec.install}\`)`;
      console.error(`bench: ${spec.label}: ${skipped.replace(/`/g, '')}; skipping it`);
      selected.push({ spec, skipped });
    } else {
      selected.push({ spec, version });
    }
  }
  return selected;
}

async function main() {
  const opts = options();
  const build = spawnSync('make', ['-C', __dirname], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (build.status !== 0) throw new Error('building the load generator failed (make -C native-bench)');
  if (opts.serverIds.some((id) => id.startsWith('aerie')) && !fs.existsSync(servers.INDEX)) {
    throw new Error(`${servers.INDEX} is missing: run tsc -p . first (npm run bench does)`);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-bench-'));
  const started = [];
  // Taken before the servers start: other engineers may commit while a run is in progress.
  const state = {
    live: [],
    uptimeStart: uptime(),
    interrupted: false,
    retriesUsed: 0,
    quietWaitLeftMs: opts.waitQuietS * 1000,
    quietWaitedMs: 0,
    revision: sourceRevision(),
    distBuiltAt: distBuiltAt(),
  };
  if (opts.rows && opts.rows.size === 0) {
    console.log('bench: results/latest.json has no noisy rows; nothing to measure again');
    return;
  }
  const cleanup = async () => {
    if (currentLoadgen) currentLoadgen.kill('SIGTERM');
    for (const s of started) await servers.stopServer(s);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (sig) => {
    if (state.interrupted) return;
    state.interrupted = true;
    console.error(`bench: ${sig}: stopping`);
    cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    if (opts.serverIds.some((id) => servers.SERVER_SPECS.find((s) => s.id === id).tls)) opts.tls = servers.makeCertificates(dir);
    const selected = selectServers(opts);
    const live = state.live;
    for (const sel of selected) {
      if (sel.skipped) continue;
      const serverDir = path.join(dir, sel.spec.id);
      fs.mkdirSync(serverDir);
      let server;
      try {
        server = await servers.startServer(sel.spec, serverDir, opts);
      } catch (err) {
        sel.skipped = `it failed to start: ${err.message.split('\n')[0]}`;
        console.error(`bench: ${sel.spec.label}: ${sel.skipped}; skipping it`);
        continue;
      }
      started.push(server);
      server.version = sel.version;
      server.tlsCaFile = opts.tls?.caFile;
      console.error(`bench: ${sel.spec.label} pid ${server.pid} on 127.0.0.1:${server.port}` + `${server.pin ? ' (CPU 0; loadgen on CPU 1)' : ' (unpinned)'}; prefilling ${opts.keys} keys`);
      server.prefill = await prefill(server, opts.keys);
      if (state.interrupted) return;
      server.rssMiBAfterPrefill = servers.rssMiB(server.pid);
      server.osThreads = servers.threadCount(server.pid);
      sel.server = server;
      live.push(server);
    }
    if (live.length === 0) throw new Error('no server to measure');

    const runs = [];
    let failed = false;
    for (const w of WORKLOADS) {
      for (const server of live) {
        if (server.failed || (opts.rows && !opts.rows.has(`${server.spec.id}/${w.id}`))) continue;
        console.error(`bench: ${w.name}: ${server.spec.label} (${opts.durationS} s)`);
        const { result, attempts } = await measure(server, w, opts, state);
        if (state.interrupted) return;
        runs.push({ server: server.spec.id, serverLabel: server.spec.label, workload: w.id, workloadName: w.name, attempts, result });
        if (!result.ok) {
          // A failed run (the server died, a protocol error) makes this server's later rows meaningless.
          console.error(`bench:   FAILED: ${result.failure}${server.exited ? ` (${server.spec.label} exited: ${server.exit})` : ''}`);
          server.failed = true;
          failed = true;
        }
      }
    }
    // p99 at half of the maximum: the routed rows again, paced open loop (loadgen --rate).
    const halfLoadRuns = [];
    for (const server of opts.halfLoad && !opts.rows ? live : []) {
      if (!server.spec.routing || server.failed) continue;
      for (const id of HALF_LOAD_WORKLOADS) {
        const w = WORKLOADS.find((x) => x.id === id);
        const max = runs.find((r) => r.server === server.spec.id && r.workload === id)?.result;
        if (!max?.ok || !(max.ops_per_sec > 0)) continue;
        const rate = Math.max(1, Math.round(max.ops_per_sec / 2));
        console.error(`bench: ${w.name} at half of the maximum (${rate} ops/s): ${server.spec.label} (${opts.durationS} s)`);
        const { result, attempts } = await measure(server, w, opts, state, ['--rate', String(rate)]);
        if (state.interrupted) return;
        halfLoadRuns.push({ server: server.spec.id, serverLabel: server.spec.label, workload: id, workloadName: w.name, rate, attempts, result });
      }
    }
    for (const server of live) {
      server.rssMiBAtEnd = servers.rssMiB(server.pid);
      // A server that is gone before the runner stops it died during the run: say how.
      if (server.exited) server.exitedDuringRun = `exit ${server.exit}${server.output.text.trim() ? `; stdout: ${server.output.text.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
    }
    for (const server of live) server.stderrTail = server.errors.text.trim().split('\n').slice(-STDERR_LINES_REPORTED).join('\n');

    const report = opts.previous
      ? merge(opts.previous, runs, selected, state, opts)
      : {
          date: new Date().toISOString(),
          command: commandLine(),
          machine: machine(),
          revision: state.revision,
          distBuiltAt: state.distBuiltAt,
          quietWaitS: { allowed: opts.waitQuietS, spent: state.quietWaitedMs / 1000 },
          pinned: opts.pin,
          durationS: opts.durationS,
          warmupS: WARMUP_S,
          keys: opts.keys,
          connections: CONNECTIONS,
          valueBytes: VALUE_BYTES,
          workloads: WORKLOADS,
          uptime: { start: state.uptimeStart, end: uptime() },
          previousFront: previousFront(opts.resultsDir),
          halfLoadRuns,
          servers: selected.map((sel) => (sel.skipped ? { id: sel.spec.id, label: sel.spec.label, skipped: sel.skipped } : describeServer(sel.server))),
          runs,
        };
    fs.mkdirSync(opts.resultsDir, { recursive: true });
    fs.writeFileSync(path.join(opts.resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    const text = markdown(report);
    const scale = opts.previous ? null : scaleMarkdown(report);
    fs.writeFileSync(path.join(opts.resultsDir, 'latest.md'), scale ? `${text}\n${scale}` : text);
    console.log(summaryTable(report));
    if (scale) console.log(`\n${scale}`);
    if (opts.previous) console.log(`\nre-measured ${runs.length} noisy rows; ${report.remeasured.at(-1).replaced.length} replaced`);
    console.log(`\nwritten: ${path.relative(ROOT, opts.resultsDir) || '.'}/latest.json, latest.md`);
    if (!opts.previous) console.log(`load average (uptime) at the start ${report.uptime.start.loadAverage.join(', ')}, at the end ${report.uptime.end.loadAverage.join(', ')}`);
    if (failed) process.exitCode = 1;
  } finally {
    if (!state.interrupted) await cleanup();
  }
  for (const s of started) {
    if (s.errors.text.trim()) console.error(`bench: ${s.spec.label} wrote to stderr:\n${s.errors.text.trim()}`);
  }
}

main().catch((err) => {
  console.error(`bench: ${err.message}`);
  process.exitCode = 1;
});
