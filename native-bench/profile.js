#!/usr/bin/env node
// Where the time goes, in two views of one run. One in-memory Aerie node runs under
// `node --cpu-prof` (a V8 profile per thread: the primary and each worker) while the native
// generator drives it; the node is pinned to CPU 0 and the generator to CPU 1 when taskset exists,
// as in run.js. When `perf` is installed, `perf record -g` of CPU 0 during the same run adds what
// the V8 profiler cannot see: CPU time (not wall time) per thread, including the kernel's.
//
//   npx tsc -p . && make -C native-bench && node native-bench/profile.js [--read-pct 50] [--inflight 1]
//       [--duration 6] [--keys 1000000] [--replication-factor 1] [--top 12] [--no-perf]
//
// Writes results/profile-<read>-<inflight>[-rfN].{md,json}. perf: apt-get install -y linux-perf.
'use strict';
const { parseArgs } = require('node:util');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { LOADGEN, CONNECTIONS, pin, startNode, loadgen, loadgenAsync, machineLine } = require('./pinned-node');
const { split } = require('./perf-split');

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
  },
});
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
  const text = fs.readFileSync(file, 'utf8');
  const thread = text.includes('router.js') ? 'primary' : text.includes('worker/main.js') ? 'worker' : 'other';
  return { thread, total, idlePct: (100 * idle) / total, rows: rows.map(([fn, us]) => ({ fn, pct: (100 * us) / total })) };
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
      service: { port: 0 },
      workers: { count: 2 },
      log: { level: 'warn' },
      namespaces: [{ name: 'test', storage: 'memory', memoryBytesMax: 8 * 1024 ** 3, ...(RF === null ? {} : { replicationFactor: RF }) }],
    }),
  );
  // --perf-basic-prof: perf names V8's generated code (a map file per process in /tmp).
  const node = await startNode(config, ['--cpu-prof', '--cpu-prof-dir', profDir, ...(havePerf ? ['--perf-basic-prof'] : [])]);
  let run;
  let fromUs;
  let toUs;
  let cpu = null;
  try {
    loadgen(node.port, node.pid, KEYS, ['--prefill', '--duration', '0']);
    const running = loadgenAsync(node.port, node.pid, KEYS, ['--read-pct', String(READ_PCT), '--inflight', String(INFLIGHT), '--duration', String(DURATION_S), '--warmup', String(WARMUP_S)]);
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
  const threads = fs
    .readdirSync(profDir)
    .filter((x) => x.endsWith('.cpuprofile'))
    .map((f) => ({ file: f, ...summarize(path.join(profDir, f), fromUs, toUs) }))
    .sort((a, b) => (a.thread === 'primary' ? -1 : b.thread === 'primary' ? 1 : a.file.localeCompare(b.file)));
  fs.rmSync(dir, { recursive: true, force: true });

  const r1 = (x) => x.toFixed(1);
  const command = `node native-bench/profile.js --read-pct ${READ_PCT} --inflight ${INFLIGHT} --duration ${DURATION_S} --keys ${KEYS}${RF === null ? '' : ` --replication-factor ${RF}`}`;
  const lines = [
    `# Profile: ${READ_PCT}/${100 - READ_PCT} get/put, ${INFLIGHT === 1 ? 'unpipelined' : `${INFLIGHT} in flight`}, ${new Date().toISOString()}`,
    '',
    machineLine(),
    `Command: \`${command}\`: ${CONNECTIONS} connections, 100-byte values, memory namespace, 2 workers, ${RF ?? 2} ${(RF ?? 2) === 1 ? 'copy' : 'copies'} of each record, under \`node --cpu-prof\`${havePerf ? ' and `perf record -C 0 -g`' : ''} (which slow every thread: compare the shares, not the throughput).`,
    `Throughput while profiled: ${Math.round(run.ops_per_sec)} ops/s, server CPU ${run.server_cpu_us_per_op === undefined ? '?' : r1(run.server_cpu_us_per_op)} µs/op.`,
    '',
  ];
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
  lines.push('## V8 self time by function (wall time of each thread)', '');
  for (const t of threads) {
    lines.push(`### ${t.thread} (${t.file})`, '', `idle ${r1(t.idlePct)} %`, '', '| function | self % |', '|---|---:|');
    for (const row of t.rows) lines.push(`| \`${row.fn}\` | ${r1(row.pct)} |`);
    lines.push('');
  }
  const md = lines.join('\n');
  const name = `profile-${READ_PCT}-${INFLIGHT}${RF === null ? '' : `-rf${RF}`}`;
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, `${name}.md`), md);
  fs.writeFileSync(path.join(RESULTS, `${name}.json`), JSON.stringify({ date: new Date().toISOString(), command, pin, run, cpu, threads }, null, 1) + '\n');
  process.stdout.write(md);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
