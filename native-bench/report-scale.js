'use strict';
// Issue 12's part of the report: throughput of Aerie partition-routed and front-routed beside
// Redis and the calibration servers, the issue's targets met or missed, where each server
// thread's CPU goes per operation (from loadgen's /proc/PID/task samples), a projected capacity
// per core count, and p99 at half of the maximum. run.js prints it and appends it to latest.md;
// docs/benchmarks.md and README carry its tables.

/**
 * Node starts its helper threads (V8's platform threads, the signal thread) in one burst while it
 * initialises; Aerie's workers start once the node has loaded its modules and read its config,
 * tens of milliseconds later. The threads after the widest gap in start times, if that gap is at
 * least this many clock ticks (1/100 s), are taken for the workers.
 */
const WORKER_START_GAP_TICKS = 3;
const CORE_COUNTS = [1, 2, 4, 8, 16, 32];
/** The workloads measured again, paced at half of their maximum, for the p99 target. */
const HALF_LOAD_WORKLOADS = ['rw50-unpipelined', 'rw95-unpipelined'];
const P99_TARGET_US = 1000;

const COLUMNS = [
  ['aerie-routed', 'Aerie routed'],
  ['aerie-routed-one-copy', 'routed, 1 copy'],
  ['aerie-routed-unpinned', 'routed, unpinned'],
  ['aerie-routed-one-copy-unpinned', 'routed, 1 copy, unpinned'],
  ['aerie', 'Aerie front'],
  ['aerie-unpinned', 'front, unpinned'],
  ['node-ws-map', 'Node ws + Map'],
  ['redis', 'Redis'],
  ['redis-unpinned', 'Redis, unpinned'],
  ['redis-io-threads', 'Redis, io-threads 2'],
  ['node-resp-map', 'Node RESP + Map'],
];

function fmt(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n) || !Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function kilo(n) {
  return n === null || n === undefined ? 'n/a' : `${fmt(n / 1000, 1)}k`;
}

function find(runs, serverId, workloadId) {
  const run = (runs ?? []).find((x) => x.server === serverId && x.workload === workloadId);
  return run?.result.ok ? run.result : null;
}

function ratio(a, b) {
  return a && b ? a / b : null;
}

/**
 * CPU per operation of each thread of a server over one row, grouped by role: Aerie's primary
 * (its main thread), its workers (threads started after start-up, in thread-id order: the order
 * the node spawned them), Node's helpers (V8's platform threads: concurrent GC and compilation);
 * for the peers, threads by name. null when the row has no thread samples.
 */
function threadRoles(result, server) {
  const threads = result?.server_threads;
  if (!threads || !result.ops) return null;
  const isNode = server.kind === 'aerie' || server.kind === 'calibration';
  const late = server.kind === 'aerie' ? workerThreads(threads.filter((t) => t.tid !== server.pid)) : [];
  const roles = new Map();
  for (const t of threads) {
    let role;
    if (t.tid === server.pid) role = server.kind === 'aerie' ? 'primary' : 'main';
    else if (isNode && late.includes(t)) role = server.kind === 'aerie' ? `worker ${late.indexOf(t)}` : `thread ${late.indexOf(t)}`;
    else if (isNode) role = 'Node helpers';
    else role = t.name;
    roles.set(role, (roles.get(role) ?? 0) + t.cpu_us);
  }
  const total = [...roles.values()].reduce((a, b) => a + b, 0);
  return [...roles.entries()].map(([role, cpuUs]) => ({ role, usPerOp: cpuUs / result.ops, share: total ? cpuUs / total : 0 }));
}

/** One row per workload, one column per server: `cell` of each row's result. */
function serverTable(report, cell) {
  const cols = COLUMNS.filter(([id]) => report.servers.some((s) => s.id === id && !s.skipped));
  const lines = [`| workload | ${cols.map(([, label]) => label).join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`];
  for (const w of report.workloads) lines.push(`| ${w.name} | ${cols.map(([id]) => cell(find(report.runs, id, w.id))).join(' | ')} |`);
  return lines.join('\n');
}

const throughputTable = (report) => serverTable(report, (r) => kilo(r?.ops_per_sec));
/** What a server does per second of its own CPU: its throughput on a core it had to itself. */
const perCpuSecondTable = (report) => serverTable(report, (r) => (r?.server_cpu_us_per_op ? kilo(1e6 / r.server_cpu_us_per_op) : 'n/a'));
const serverCpuTable = (report) => serverTable(report, (r) => (r ? `${fmt(r.server_cpu_pct)} %` : 'n/a'));

function verdict(value, want, atLeast = true) {
  if (value === null || value === undefined) return 'n/a';
  const met = atLeast ? value >= want : value <= want;
  return `${fmt(value, 2)} ${met ? 'met' : 'missed'}`;
}

function primaryShare(report, serverId, workloadId) {
  const server = report.servers.find((s) => s.id === serverId);
  const roles = server && threadRoles(find(report.runs, serverId, workloadId), server);
  return roles ? (roles.find((r) => r.role === 'primary')?.share ?? 0) : null;
}

function targetsTable(report) {
  const lines = [
    '| workload | routed 1 copy ÷ Node ws+Map (≥ 0.9) | routed 2 copies ÷ Node ws+Map (≥ 0.75) | routed unpinned ÷ routed pinned (≥ 1.7) | routed unpinned ÷ Redis unpinned (≥ 0.65 at 50/50 unpipelined) | primary share of CPU, routed (≤ 0.10) | front ÷ previous run |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const w of report.workloads) {
    const ops = (id) => find(report.runs, id, w.id)?.ops_per_sec;
    // On a loaded machine a pinned server gets only part of its core, and throughput says as much
    // about the scheduler as about the server: the same ratio by CPU per operation follows each.
    const cpu = (id) => find(report.runs, id, w.id)?.server_cpu_us_per_op;
    const byCpu = (id) => ` (CPU/op: ${fmt(ratio(cpu('node-ws-map'), cpu(id)), 2)})`;
    const previous = report.previousFront?.rows?.[w.id];
    const redisTarget = w.id === 'rw50-unpipelined';
    const unpinnedOverRedis = ratio(ops('aerie-routed-unpinned'), ops('redis-unpinned'));
    lines.push(
      `| ${w.name} | ${verdict(ratio(ops('aerie-routed-one-copy'), ops('node-ws-map')), 0.9)}${byCpu('aerie-routed-one-copy')} | ${verdict(ratio(ops('aerie-routed'), ops('node-ws-map')), 0.75)}${byCpu('aerie-routed')} | ` +
        `${verdict(ratio(ops('aerie-routed-unpinned'), ops('aerie-routed')), 1.7)} | ${redisTarget ? verdict(unpinnedOverRedis, 0.65) : fmt(unpinnedOverRedis, 2)} | ` +
        `${verdict(primaryShare(report, 'aerie-routed', w.id), 0.1, false)} | ${previous ? fmt(ratio(ops('aerie'), previous), 2) : 'n/a'} |`,
    );
  }
  return lines.join('\n');
}

/** Servers whose threads the report breaks down, in this order. */
const THREAD_SERVERS = ['aerie-routed', 'aerie-routed-one-copy', 'aerie-routed-unpinned', 'aerie', 'node-ws-map', 'redis', 'redis-io-threads'];

/** The threads started after the widest gap in start times (see WORKER_START_GAP_TICKS), in id order. */
function workerThreads(threads) {
  const byStart = [...threads].sort((a, b) => a.start_ticks - b.start_ticks || a.tid - b.tid);
  let gapAt = -1;
  let gap = WORKER_START_GAP_TICKS - 1;
  for (let i = 1; i < byStart.length; i++) {
    const g = byStart[i].start_ticks - byStart[i - 1].start_ticks;
    if (g > gap) [gap, gapAt] = [g, i];
  }
  return gapAt < 0 ? [] : byStart.slice(gapAt).sort((a, b) => a.tid - b.tid);
}

function threadsTable(report) {
  const lines = ['| workload | server | server µs CPU/op | per thread: µs CPU/op (share of the server’s CPU) |', '|---|---|---:|---|'];
  for (const w of report.workloads) {
    for (const id of THREAD_SERVERS) {
      const server = report.servers.find((s) => s.id === id && !s.skipped);
      const result = server && find(report.runs, id, w.id);
      const roles = result && threadRoles(result, server);
      if (!roles) continue;
      const parts = roles
        .filter((r) => r.usPerOp >= 0.005)
        .sort((a, b) => b.usPerOp - a.usPerOp)
        .map((r) => `${r.role} ${fmt(r.usPerOp, 2)} (${fmt(r.share * 100)} %)`);
      lines.push(`| ${w.name} | ${server.label} | ${fmt(result.server_cpu_us_per_op, 2)} | ${parts.join(', ')} |`);
    }
  }
  return lines.join('\n');
}

/**
 * Projected capacity with N cores, from a pinned routed row: every thread but the primary spreads
 * over the cores (a worker per core, its helpers with it), the primary is one thread whatever N:
 * min(N × 10^6 / (µs/op of all threads but the primary), 10^6 / (primary µs/op)). It assumes the
 * cost per operation stays what it was on one core; a projection, not a measurement.
 */
function projection(report, serverId, w) {
  const server = report.servers.find((s) => s.id === serverId && !s.skipped);
  const result = server && find(report.runs, serverId, w.id);
  const roles = result && threadRoles(result, server);
  if (!roles) return null;
  const primary = roles.find((r) => r.role === 'primary')?.usPerOp ?? 0;
  const spread = roles.filter((r) => r.role !== 'primary').reduce((a, r) => a + r.usPerOp, 0);
  const perCore = 1e6 / spread;
  const cap = primary > 0 ? 1e6 / primary : Infinity;
  return { label: server.label, spread, primary, perCore, cores: CORE_COUNTS.map((n) => Math.min(n * perCore, cap)) };
}

/** Redis on a core of its own: 10⁶ ÷ its server µs per op (its measured throughput depends on the share of the core it got). */
function redisPerCore(report, w) {
  const us = find(report.runs, 'redis', w.id)?.server_cpu_us_per_op;
  return us ? 1e6 / us : null;
}

function capacityTable(report) {
  const lines = [
    `| workload | server | µs/op, all but the primary | primary µs/op | ops/s per core | ${CORE_COUNTS.map((n) => `${n} core${n > 1 ? 's' : ''}`).join(' | ')} | Redis, 1 core (10⁶ ÷ its µs/op) |`,
    `|---|---|---:|---:|---:|${CORE_COUNTS.map(() => '---:').join('|')}|---:|`,
  ];
  for (const w of report.workloads) {
    for (const id of ['aerie-routed', 'aerie-routed-one-copy']) {
      const p = projection(report, id, w);
      if (!p) continue;
      lines.push(`| ${w.name} | ${p.label} | ${fmt(p.spread, 2)} | ${fmt(p.primary, 2)} | ${kilo(p.perCore)} | ${p.cores.map(kilo).join(' | ')} | ${kilo(redisPerCore(report, w))} |`);
    }
  }
  return lines.join('\n');
}

function halfLoadTable(report) {
  const runs = report.halfLoadRuns ?? [];
  if (runs.length === 0) return null;
  const lines = ['| server | workload | paced at ops/s | achieved ops/s | p50 µs | p99 µs | p99.9 µs | p99 < 1 ms |', '|---|---|---:|---:|---:|---:|---:|---|'];
  for (const run of runs) {
    const r = run.result;
    const l = r.latency_us;
    const met = r.ok ? (l.p99 < P99_TARGET_US ? 'met' : 'missed') : 'FAILED';
    lines.push(`| ${run.serverLabel} | ${run.workloadName} | ${fmt(run.rate)} | ${fmt(r.ops_per_sec)} | ${fmt(l.p50)} | ${fmt(l.p99)} | ${fmt(l.p999)} | ${met} |`);
  }
  return lines.join('\n');
}

/** What TLS adds per operation: each TLS row beside the same server without TLS. */
const TLS_PAIRS = [
  ['node-ws-map', 'node-ws-map-tls'],
  ['aerie', 'aerie-tls'],
];

function tlsTable(report) {
  const pairs = TLS_PAIRS.filter(([, tls]) => report.servers.some((s) => s.id === tls && !s.skipped));
  if (pairs.length === 0) return null;
  const lines = ['| workload | server | ops/s plain | ops/s TLS | TLS ÷ plain | server µs CPU/op plain | TLS | added by TLS |', '|---|---|---:|---:|---:|---:|---:|---:|'];
  for (const w of report.workloads) {
    for (const [plainId, tlsId] of pairs) {
      const plain = find(report.runs, plainId, w.id);
      const tls = find(report.runs, tlsId, w.id);
      const label = report.servers.find((s) => s.id === plainId)?.label ?? plainId;
      lines.push(
        `| ${w.name} | ${label} | ${fmt(plain?.ops_per_sec)} | ${fmt(tls?.ops_per_sec)} | ${fmt(ratio(tls?.ops_per_sec, plain?.ops_per_sec), 2)} | ` +
          `${fmt(plain?.server_cpu_us_per_op, 2)} | ${fmt(tls?.server_cpu_us_per_op, 2)} | ${plain && tls ? fmt(tls.server_cpu_us_per_op - plain.server_cpu_us_per_op, 2) : 'n/a'} |`,
      );
    }
  }
  return lines.join('\n');
}

function scaleMarkdown(report) {
  const tls = tlsTable(report);
  const tlsSkipped = report.servers.filter((s) => s.skipped && TLS_PAIRS.some(([, id]) => id === s.id)).map((s) => `${s.label}: skipped, ${s.skipped}.`);
  const up = report.uptime;
  const load = up ? `Load average (\`uptime\`) ${up.start.loadAverage.join(', ')} at the start and ${up.end.loadAverage.join(', ')} at the end of the run.` : '';
  const half = halfLoadTable(report);
  const previous = report.previousFront
    ? `"Previous run": Aerie front pinned in results/latest.json before this run (${report.previousFront.date}, commit ${report.previousFront.commit ?? 'unknown'}).`
    : '';
  return [
    '## Every worker serves clients (issue 12)',
    '',
    `"Routed": the generator reads HELLO's partition map and sends each request to the worker endpoint of its key's master (\`loadgen --routing partition\`); "front": every request to the front port. Pinned rows run the whole server on CPU 0 and the generator on CPU 1; unpinned ones share both CPUs with the generator. ${load}`,
    '',
    '### Throughput (ops/s)',
    '',
    throughputTable(report),
    '',
    '### Operations per second of server CPU (10⁶ ÷ server µs CPU/op)',
    '',
    'What each server would do on a core it had to itself (all its threads together). On a shared, loaded machine a pinned server gets only part of its core (next table), so compare servers here rather than by throughput.',
    '',
    perCpuSecondTable(report),
    '',
    '### Server CPU during the measurement (% of one core)',
    '',
    serverCpuTable(report),
    '',
    "### Issue 12's targets",
    '',
    `Ratios of throughput in the same run; in brackets, the same comparison by server CPU per operation (Node ws + Map's µs/op ÷ Aerie's: what each would do on a core of its own). ${previous}`,
    '',
    targetsTable(report),
    '',
    '### Where each thread’s time goes',
    '',
    `Server CPU per operation by thread over the measured window (\`/proc/PID/task/*/stat\`). Node names every thread "node": the primary is the main thread, workers are the threads started after the node's initial burst of threads (after the widest gap in start times, at least ${WORKER_START_GAP_TICKS / 100} s), "Node helpers" the rest (V8's platform threads: concurrent GC and compilation).`,
    '',
    threadsTable(report),
    '',
    '### Projected capacity per core count',
    '',
    'From the pinned routed rows: min(N × 10⁶ / µs per op of every thread but the primary, 10⁶ / primary µs per op), assuming the cost per operation of one core holds on N (and the generator has cores of its own). A projection, not a measurement.',
    '',
    capacityTable(report),
    '',
    ...(tls || tlsSkipped.length
      ? [
          '### What TLS costs',
          '',
          'The same server with and without TLS (`loadgen --tls --ca`, a throwaway CA made with openssl for the run; TLS 1.3).',
          '',
          ...(tls ? [tls, ''] : []),
          ...tlsSkipped.map((x) => `- ${x}`),
          '',
        ]
      : []),
    ...(half ? ['### p99 at half of the maximum throughput', '', 'The routed rows again, paced open loop at half of the ops/s they reached unpipelined (`loadgen --rate`).', '', half, ''] : []),
  ].join('\n');
}

module.exports = { scaleMarkdown, threadRoles, HALF_LOAD_WORKLOADS };
