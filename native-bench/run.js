'use strict';
// `npm run bench`: builds the native load generator, starts an Aerie node on a free loopback
// port, prefills the key space once, runs a small fixed matrix of bounded workloads against it,
// prints a Markdown table and writes results/latest.json and results/latest.md.
//
// The server is pinned to CPU 0 and the generator to CPU 1 when `taskset` exists, so the
// figures compare with reference.md's (one core for the server, one for the load generator).
// Server CPU per operation comes from /proc/<pid>/stat, sampled by the generator itself at the
// start and end of its measured window, so connecting, warmup and draining are not counted.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..');
const LOADGEN = path.join(__dirname, 'build', 'loadgen');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const INDEX = path.join(ROOT, 'dist', 'src', 'index.js');
const RESULTS_DIR = path.join(__dirname, 'results');

const DURATION_S_DEFAULT = 10;
const DURATION_S_QUICK = 3;
const WARMUP_S = 1;
const NODE_START_TIMEOUT_MS = 30_000;
const NODE_STOP_TIMEOUT_MS = 10_000;
/** Beyond its own bounds, a generator run gets this long before it is killed. */
const LOADGEN_GRACE_MS = 60_000;
const PREFILL_TIMEOUT_MS = 660_000;
const OUTPUT_TAIL_BYTES = 8192;
/** Other processes using more than this share of a core during a run make it worth a note. */
const OTHER_CPU_PCT_NOTICE = 10;

const CONNECTIONS = 50;
const VALUE_BYTES = 100;
const KEYS_DEFAULT = 1_000_000;

/** The matrix: every row uses CONNECTIONS connections, VALUE_BYTES values, the prefilled keys. */
const WORKLOADS = [
  { name: '50/50 get/put, unpipelined', readPct: 50, inflight: 1, batch: 1 },
  { name: '50/50 get/put, 16 in flight', readPct: 50, inflight: 16, batch: 1 },
  { name: '95/5 get/put, unpipelined', readPct: 95, inflight: 1, batch: 1 },
  { name: '95/5 get/put, 16 in flight', readPct: 95, inflight: 16, batch: 1 },
  { name: '50/50 get/put, 16 per frame', readPct: 50, inflight: 16, batch: 16 },
];

function usage() {
  return [
    'usage: node native-bench/run.js [--quick] [--duration S] [--keys N] [--no-pin] [--embedded]',
    `  --duration S  measured seconds per workload (default ${DURATION_S_DEFAULT})`,
    `  --quick       ${DURATION_S_QUICK} s per workload`,
    `  --keys N      key space, prefilled once (default ${KEYS_DEFAULT})`,
    '  --no-pin      do not pin the server and the generator to CPUs 0 and 1',
    '  --embedded    start the node through startNode() even when the CLI exists',
  ].join('\n');
}

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      quick: { type: 'boolean', default: false },
      keys: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      embedded: { type: 'boolean', default: false },
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
  return { durationS, keys, pin: !values['no-pin'] && canPin(), embedded: values.embedded };
}

function canPin() {
  return os.availableParallelism() >= 2 && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
}

function pinned(cpu, argv, pin) {
  return pin ? ['taskset', '-c', String(cpu), ...argv] : argv;
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

function commandLine() {
  const args = process.argv.slice(2).join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ` -- ${args}` : ''}`;
  return `node native-bench/run.js${args ? ` ${args}` : ''}`;
}

/** Keeps the last OUTPUT_TAIL_BYTES of a stream, to show when a child fails. */
function tail(stream) {
  const t = { text: '' };
  stream.setEncoding('utf8');
  stream.on('data', (s) => {
    t.text = (t.text + s).slice(-OUTPUT_TAIL_BYTES);
  });
  return t;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// ---- the node under test ----

function startNode(port, dir, opts) {
  const configPath = path.join(dir, 'aerie.json');
  const config = {
    service: { host: '127.0.0.1', port },
    namespaces: [{ name: 'test', storage: 'memory' }],
    log: { level: 'warn' },
  };
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
  let argv;
  if (fs.existsSync(CLI) && !opts.embedded) {
    argv = [process.execPath, CLI, 'start', '--config', configPath];
  } else {
    const script =
      `const { startNode, loadConfig } = require(${JSON.stringify(INDEX)});` +
      'startNode(loadConfig(process.argv[1])).catch((e) => { console.error(e); process.exit(1); });';
    argv = [process.execPath, '-e', script, configPath];
  }
  argv = pinned(0, argv, opts.pin);
  const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const node = { child, argv, config, output: tail(child.stdout), errors: tail(child.stderr), exited: false };
  child.once('exit', (code, signal) => {
    node.exited = true;
    node.exit = signal ?? code;
  });
  return node;
}

async function waitForNode(node, port) {
  const deadline = Date.now() + NODE_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (node.exited) throw new Error(`the node exited (${node.exit}) before accepting connections:\n${node.errors.text}${node.output.text}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`the node did not accept connections on 127.0.0.1:${port} within ${NODE_START_TIMEOUT_MS} ms`);
}

async function stopNode(node) {
  if (node.exited) return;
  const exited = new Promise((r) => node.child.once('exit', r));
  node.child.kill('SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), sleep(NODE_STOP_TIMEOUT_MS).then(() => false)]);
  if (!stopped) {
    console.error(`bench: the node ignored SIGTERM for ${NODE_STOP_TIMEOUT_MS} ms; killing it`);
    node.child.kill('SIGKILL');
    await exited;
  }
}

// ---- the load generator ----

let currentLoadgen = null;

/** Runs the generator once with --json; resolves to its parsed report. */
function loadgen(args, timeoutMs, pin) {
  const argv = pinned(1, [LOADGEN, ...args, '--json'], pin);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    currentLoadgen = child;
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s) => (stdout += s));
    const stderr = tail(child.stderr);
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

// ---- output ----

function fmt(n, digits = 0) {
  if (n === null || n === undefined) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(rows) {
  const lines = [
    '| workload | ops/s | p50 µs | p99 µs | p99.9 µs | server µs CPU/op | loadgen CPU % |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { workload, result: r } of rows) {
    const mark = r.ok ? '' : ' (FAILED)';
    lines.push(
      `| ${workload}${mark} | ${fmt(r.ops_per_sec)} | ${fmt(r.latency_us.p50)} | ${fmt(r.latency_us.p99)} | ` +
        `${fmt(r.latency_us.p999)} | ${fmt(r.server_cpu_us_per_op, 1)} | ${fmt(r.loadgen_cpu_pct)} |`,
    );
  }
  return lines.join('\n');
}

function notes(prefill, rows) {
  const out = [];
  if (prefill) {
    out.push(`Prefill: ${fmt(prefill.prefill.keys)} keys in ${fmt(prefill.prefill.seconds, 2)} s ` +
      `(${fmt(prefill.prefill.keys_per_sec)} puts/s, 64 in flight × 16 per frame per connection), ${prefill.prefill.errors} errors.`);
  }
  let clean = true;
  for (const { workload, result: r } of rows) {
    const codes = Object.entries(r.errors).map(([c, n]) => `code ${c}: ${n}`).join(', ');
    if (r.errors_total || r.misses || r.protocol_errors || !r.ok) {
      clean = false;
      out.push(`${workload}: ${r.errors_total} errors${codes ? ` (${codes})` : ''}, ${r.misses} misses, ` +
        `${r.protocol_errors} protocol errors${r.failure ? `; ${r.failure}` : ''}.`);
    }
  }
  if (clean) out.push('No errors, no misses, no protocol errors in any run.');
  const noisy = rows
    .map(({ workload, result: r }) => ({ workload, otherPct: otherCpuPct(r) }))
    .filter((x) => x.otherPct !== null && x.otherPct > OTHER_CPU_PCT_NOTICE);
  for (const { workload, otherPct } of noisy) {
    out.push(`${workload}: other processes used ${fmt(otherPct)} % of a core during the measurement; treat it as noisy.`);
  }
  return out;
}

/** CPU used during the window by everything but the server and the generator, in % of one core. */
function otherCpuPct(r) {
  if (r.machine_cpu_pct === null || r.server_cpu_pct === null) return null;
  return r.machine_cpu_pct - r.server_cpu_pct - r.loadgen_cpu_pct;
}

function markdown(report, tableText, noteLines) {
  const m = report.machine;
  return [
    `# Aerie benchmark, ${report.date}`,
    '',
    `Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiBTotal} GiB, Node ${m.node}, ${m.kernel}.`,
    `Command: \`${report.command}\`. ${report.pinned ? 'Server pinned to CPU 0, load generator to CPU 1.' : 'Not pinned.'}`,
    `Each run: ${CONNECTIONS} connections, ${VALUE_BYTES}-byte values, ${fmt(report.keys)} prefilled integer keys, ` +
      `${WARMUP_S} s warmup, ${report.durationS} s measured.`,
    '',
    tableText,
    '',
    ...noteLines.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

// ---- main ----

async function main() {
  const opts = options();
  const build = spawnSync('make', ['-C', __dirname], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (build.status !== 0) throw new Error('building the load generator failed (make -C native-bench)');
  if (!fs.existsSync(INDEX)) throw new Error(`${INDEX} is missing: run tsc -p . first (npm run bench does)`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-bench-'));
  const port = await freePort();
  const node = startNode(port, dir, opts);
  const cleanup = async () => {
    if (currentLoadgen) currentLoadgen.kill('SIGTERM');
    await stopNode(node);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  let interrupted = false;
  const onSignal = (sig) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`bench: ${sig}: stopping`);
    cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    await waitForNode(node, port);
    const pid = node.child.pid;
    const common = ['--port', String(port), '--connections', String(CONNECTIONS), '--keys', String(opts.keys),
      '--value-bytes', String(VALUE_BYTES)];
    console.error(`bench: node pid ${pid} on 127.0.0.1:${port}${opts.pin ? ' (CPU 0; loadgen on CPU 1)' : ''}`);
    console.error(`bench: prefilling ${opts.keys} keys`);
    const prefill = await loadgen([...common, '--prefill', '--duration', '0'], PREFILL_TIMEOUT_MS, opts.pin);
    if (interrupted) return; // the signal handler stops the node and exits; write nothing
    if (!prefill.ok || prefill.prefill.errors > 0) throw new Error(`prefill failed: ${prefill.failure ?? `${prefill.prefill.errors} errors`}`);

    const rows = [];
    for (const w of WORKLOADS) {
      console.error(`bench: ${w.name} (${opts.durationS} s)`);
      const args = [...common, '--read-pct', String(w.readPct), '--inflight', String(w.inflight), '--batch', String(w.batch),
        '--duration', String(opts.durationS), '--warmup', String(WARMUP_S), '--server-pid', String(pid)];
      const timeoutMs = (opts.durationS + WARMUP_S) * 1000 + LOADGEN_GRACE_MS;
      const result = await loadgen(args, timeoutMs, opts.pin);
      if (interrupted) return;
      rows.push({ workload: w.name, ...w, result });
      if (!result.ok) break; // a failed run (e.g. the node died) makes the rest meaningless
    }

    const tableText = table(rows);
    const noteLines = notes(prefill, rows);
    const report = {
      date: new Date().toISOString(),
      command: commandLine(),
      machine: machine(),
      pinned: opts.pin,
      durationS: opts.durationS,
      warmupS: WARMUP_S,
      keys: opts.keys,
      node: { argv: node.argv, config: node.config },
      prefill,
      runs: rows,
    };
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    fs.writeFileSync(path.join(RESULTS_DIR, 'latest.md'), markdown(report, tableText, noteLines));
    console.log(tableText);
    console.log('');
    for (const n of noteLines) console.log(n);
    console.log(`\nwritten: ${path.relative(ROOT, RESULTS_DIR)}/latest.json, latest.md`);
    if (rows.some((r) => !r.result.ok)) process.exitCode = 1;
  } finally {
    if (!interrupted) await cleanup();
  }
  if (node.errors.text.trim()) console.error(`bench: the node wrote to stderr:\n${node.errors.text.trim()}`);
}

main().catch((err) => {
  console.error(`bench: ${err.message}`);
  process.exitCode = 1;
});
