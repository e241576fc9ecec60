#!/usr/bin/env node
// Where the time goes, in two views of one run. One in-memory Aerie node runs under
// `node --cpu-prof` (a V8 profile per thread: the primary and each worker) while the native
// generator drives it; the node is pinned to CPU 0 and the generator to CPU 1 when taskset exists,
// as in run.js. When `perf` is installed, `perf record -g` of CPU 0 during the same run adds what
// the V8 profiler cannot see: CPU time (not wall time) per thread, including the kernel's.
// `--routing partition` drives the workers' own endpoints (each request sent to its key's master,
// loadgen --routing partition), so the workers' profiles show the endpoint path; the thread CPU
// per operation (/proc/PID/task, sampled by the generator) is printed per role. `--no-cpu-prof`
// runs without the V8 profiler, for A/B figures of CPU per operation; `--keep-profiles DIR` keeps
// the .cpuprofile files (Chrome DevTools opens them) instead of deleting them.
//
//   npx tsc -p . && make -C native-bench && node native-bench/profile.js [--read-pct 50] [--inflight 1]
//       [--duration 6] [--keys 1000000] [--replication-factor 1] [--top 12] [--no-perf]
//       [--routing front|partition] [--no-cpu-prof] [--keep-profiles DIR]
//
// Writes results/profile-<read>-<inflight>[-rfN][-partition].{md,json}. perf: apt-get install -y linux-perf.
'use strict';
const { parseArgs } = require('node:util');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { LOADGEN, CONNECTIONS, pin, startNode, loadgen, loadgenAsync, machineLine } = require('./pinned-node');
const { split } = require('./perf-split');
const { threadRoles } = require('./report-scale');
// Resolves once HELLO's map lists every worker's endpoint (they bind after the front).
const { waitForEndpoints } = require('./servers');

const RESULTS = path.join(__dirname, 'results');
const WARMUP_S = 1;

const { values } = parseArgs({
  options: {
    'read-pct': { type: 'string', default: '50' },
    inflight: { type: 'string', default: '1' },
    duration: { type: 'string', default: '6' },
    keys: { type: 'string', default: '1000000' },
    'replication-factor': { type: 'string' },
    top: { type: 'string', default: '12' },
    'no-perf': { type: 'boolean', default: false },
    routing: { type: 'string', default: 'front' },
    'no-cpu-prof': { type: 'boolean', default: false },
    'keep-profiles': { type: 'string' },
  },
});
if (values.routing !== 'front' && values.routing !== 'partition') throw new Error('--routing is front or partition');
const ROUTED = values.routing === 'partition';
const CPU_PROF = !values['no-cpu-prof'];
const READ_PCT = Number(values['read-pct']);
const INFLIGHT = Number(values.inflight);
const DURATION_S = Number(values.duration);
const KEYS = Number(values.keys);
const TOP = Number(values.top);
const RF = values['replication-factor'] === undefined ? null : Number(values['replication-factor']);
const havePerf = !values['no-perf'] && pin && spawnSync('perf', ['--version'], { stdio: 'ignore' }).status === 0;

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Self time of one .cpuprofile by function, over the samples taken in [fromUs, toUs]. A profile's
 * timestamps are CLOCK_MONOTONIC in µs, the clock of process.hrtime in every process, so start-up,
 * prefill and shutdown are left out.
 */
function summarize(file, fromUs, toUs) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let t = prof.startTime;
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i];
    if (t < fromUs || t > toUs) continue;
    const dt = prof.timeDeltas[i + 1] ?? 0;
    const f = byId.get(prof.samples[i]).callFrame;
    const where = f.url === '' ? '' : ` ${path.basename(f.url)}:${f.lineNumber + 1}`;
    const key = `${f.functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  const idle = self.get('(idle)') ?? 0;
  const rows = [...self.entries()]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, TOP);
  // CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile: thread 0 is the main thread.
  const thread = path.basename(file).split('.')[4] === '0' ? 'primary' : 'worker';
  return { thread, total, idlePct: (100 * idle) / total, rows: rows.map(([fn, us]) => ({ fn, pct: (100 * us) / total })) };
}

/**
 * CPU per operation of each thread by role (report-scale.js), with V8's profiler threads (one
 * per isolate under --cpu-prof) apart, so they are not taken for workers.
 */
function threadsByRole(run, pid) {
  const threads = run.server_threads ?? [];
  const profiler = threads.filter((t) => t.name.startsWith('v8:Prof'));
  const roles = threadRoles({ ...run, server_threads: threads.filter((t) => !profiler.includes(t)) }, { kind: 'aerie', pid });
  if (roles === null || profiler.length === 0) return roles;
  const cpuUs = profiler.reduce((sum, t) => sum + t.cpu_us, 0);
  return [...roles, { role: 'V8 profiler', usPerOp: cpuUs / run.ops, share: null }];
}

/** perf record of CPU 0 for `seconds`, then its samples split by thread, layer and job. */
async function perfSplit(dir, seconds) {
  const data = path.join(dir, 'perf.data');
  const rec = spawn('perf', ['record', '-C', '0', '-g', '-o', data, '--', 'sleep', String(seconds)], { stdio: 'ignore' });
  await new Promise((r) => rec.once('exit', r));
  const script = spawnSync('perf', ['script', '-i', data, '-F', 'tid,ip,sym,dso'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  return split(script.stdout);
}

async function main() {
  if (!fs.existsSync(LOADGEN)) throw new Error('build the generator first: make -C native-bench');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-profile-'));
  const profDir = path.join(dir, 'prof');
  const config = path.join(dir, 'aerie.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      service: { port: 0, ...(ROUTED ? { workerPorts: 0 } : {}) },
      workers: { count: 2 },
      log: { level: 'warn' },
      namespaces: [{ name: 'test', storage: 'memory', memoryBytesMax: 8 * 1024 ** 3, ...(RF === null ? {} : { replicationFactor: RF }) }],
    }),
  );
  // --perf-basic-prof: perf names V8's generated code (a map file per process in /tmp).
  const node = await startNode(config, [...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), ...(havePerf ? ['--perf-basic-prof'] : [])]);
  const routing = ['--routing', values.routing];
  let run;
  let fromUs;
  let toUs;
  let cpu = null;
  try {
    if (ROUTED) await waitForEndpoints(node.port);
    loadgen(node.port, node.pid, KEYS, ['--prefill', '--duration', '0', ...routing]);
    const running = loadgenAsync(node.port, node.pid, KEYS, [
      ...routing,
      '--read-pct',
      String(READ_PCT),
      '--inflight',
      String(INFLIGHT),
      '--duration',
      String(DURATION_S),
      '--warmup',
      String(WARMUP_S),
    ]);
    await sleep(WARMUP_S * 1000);
    fromUs = monotonicUs();
    if (havePerf) cpu = await perfSplit(dir, Math.max(1, DURATION_S - 1));
    run = await running;
    toUs = monotonicUs();
  } finally {
    node.child.kill('SIGTERM');
    await new Promise((resolve) => node.child.once('exit', resolve));
    fs.rmSync(`/tmp/perf-${node.pid}.map`, { force: true });
  }
  const threads = (CPU_PROF ? fs.readdirSync(profDir) : [])
    .filter((x) => x.endsWith('.cpuprofile'))
    .map((f) => ({ file: f, ...summarize(path.join(profDir, f), fromUs, toUs) }))
    .sort((a, b) => (a.thread === 'primary' ? -1 : b.thread === 'primary' ? 1 : a.file.localeCompare(b.file)));
  if (values['keep-profiles'] !== undefined && CPU_PROF) fs.cpSync(profDir, values['keep-profiles'], { recursive: true });
  fs.rmSync(dir, { recursive: true, force: true });

  const r1 = (x) => x.toFixed(1);
  const r2 = (x) => x.toFixed(2);
  const command = `node native-bench/profile.js --read-pct ${READ_PCT} --inflight ${INFLIGHT} --duration ${DURATION_S} --keys ${KEYS}${RF === null ? '' : ` --replication-factor ${RF}`}${ROUTED ? ' --routing partition' : ''}${CPU_PROF ? '' : ' --no-cpu-prof'}${values['no-perf'] ? ' --no-perf' : ''}`;
  const roles = threadsByRole(run, node.pid);
  const lines = [
    `# Profile: ${READ_PCT}/${100 - READ_PCT} get/put, ${INFLIGHT === 1 ? 'unpipelined' : `${INFLIGHT} in flight`}, ${new Date().toISOString()}`,
    '',
    machineLine(),
    `Command: \`${command}\`: ${CONNECTIONS} connections${ROUTED ? ' to the worker endpoints (partition-routed)' : ''}, 100-byte values, memory namespace, 2 workers, ${RF ?? 2} ${(RF ?? 2) === 1 ? 'copy' : 'copies'} of each record${CPU_PROF ? `, under \`node --cpu-prof\`${havePerf ? ' and `perf record -C 0 -g`' : ''} (which slow every thread: compare the shares, not the throughput)` : ''}.`,
    `Throughput${CPU_PROF ? ' while profiled' : ''}: ${Math.round(run.ops_per_sec)} ops/s, server CPU ${run.server_cpu_us_per_op === undefined ? '?' : r2(run.server_cpu_us_per_op)} µs/op.`,
    '',
  ];
  if (roles !== null) {
    lines.push('| thread | µs CPU/op | share |', '|---|---:|---:|');
    for (const x of roles) lines.push(`| ${x.role} | ${r2(x.usPerOp)} | ${x.share === null ? '' : `${Math.round(100 * x.share)} %`} |`);
    lines.push('');
  }
  if (cpu !== null) {
    lines.push(
      '## CPU 0 by thread (perf: CPU time, kernel included)',
      '',
      "The primary is the node's main thread; the workers are the next two. Jobs are named by the call chain (native-bench/perf-split.js).",
      '',
    );
    for (const t of cpu.slice(0, 3)) {
      const name = t.tid === node.pid ? 'primary' : `thread ${t.tid}`;
      lines.push(`### ${name}: ${r1(t.cpuPct)} % of CPU 0`, '', `Layers: ${t.layers.map((l) => `${l.name} ${r1(l.pct)} %`).join(', ')}.`, '', '| job | share of the thread |', '|---|---:|');
      for (const j of t.jobs) if (j.pct >= 0.5) lines.push(`| ${j.name} | ${r1(j.pct)} % |`);
      lines.push('');
    }
  }
  if (CPU_PROF) lines.push('## V8 self time by function (wall time of each thread)', '');
  for (const t of threads) {
    lines.push(`### ${t.thread} (${t.file})`, '', `idle ${r1(t.idlePct)} %`, '', '| function | self % |', '|---|---:|');
    for (const row of t.rows) lines.push(`| \`${row.fn}\` | ${r1(row.pct)} |`);
    lines.push('');
  }
  const md = lines.join('\n');
  const name = `profile-${READ_PCT}-${INFLIGHT}${RF === null ? '' : `-rf${RF}`}${ROUTED ? '-partition' : ''}`;
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, `${name}.md`), md);
  fs.writeFileSync(path.join(RESULTS, `${name}.json`), JSON.stringify({ date: new Date().toISOString(), command, pin, window: { fromUs, toUs }, run, roles, cpu, threads }, null, 1) + '\n');
  process.stdout.write(md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
