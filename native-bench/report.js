'use strict';
// Turns the runner's measurements into Markdown: a summary of throughput and the Aerie/peer
// ratios per workload, then one table per workload with every server's throughput, latency
// percentiles and CPU cost, then notes on errors, noise and generator saturation.

/** Other processes using more than this share of a core during a run make the row noisy. */
const OTHER_CPU_PCT_NOISY = 10;
/** A generator above this share of its core may have limited the run. */
const LOADGEN_CPU_PCT_BOUND = 90;

function fmt(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(a, b) {
  return a && b ? a / b : null;
}

/** CPU used during the window by everything but the server and the generator, in % of one core. */
/** CPU (% of one core) used during a row by processes other than the server, the generator and the run's idle servers. */
function otherCpuPct(r) {
  if (r.machine_cpu_pct === null || r.server_cpu_pct === null) return null;
  return r.machine_cpu_pct - r.server_cpu_pct - r.loadgen_cpu_pct - (r.idle_servers_cpu_pct ?? 0);
}

function find(runs, serverId, workloadId) {
  const run = runs.find((x) => x.server === serverId && x.workload === workloadId);
  return run?.result.ok ? run.result : null;
}

/** Issue 5's targets: unpipelined at least Redis's throughput, pipelined at least 0.8 of it. */
function target(workload, aerieOverRedis) {
  const want = workload.inflight === 1 ? 1 : 0.8;
  if (aerieOverRedis === null) return `≥ ${want.toFixed(1)}: n/a`;
  return `≥ ${want.toFixed(1)}: ${aerieOverRedis >= want ? 'met' : 'missed'}`;
}

/** Summary columns per peer: its throughput and Aerie's ratio to it (and CPU/op for Redis). */
const PEER_COLUMNS = [
  { id: 'redis', label: 'Redis', cpuRatio: true },
  { id: 'redis-aof', label: 'Redis AOF', cpuRatio: false },
  { id: 'memcached', label: 'memcached', cpuRatio: true },
];

function summaryTable(report) {
  const peers = PEER_COLUMNS.filter((p) => report.servers.some((s) => s.id === p.id && !s.skipped));
  const head = ['workload', 'Aerie ops/s'];
  for (const p of peers) {
    head.push(`${p.label} ops/s`, `Aerie/${p.label}`);
    if (p.cpuRatio) head.push(`CPU/op Aerie/${p.label}`);
  }
  const hasRedis = peers.some((p) => p.id === 'redis');
  if (hasRedis) head.push('target vs Redis');
  const lines = [
    `| ${head.join(' | ')} |`,
    `|---|${head
      .slice(1)
      .map((h) => (h.startsWith('target') ? '---' : '---:'))
      .join('|')}|`,
  ];
  for (const w of report.workloads) {
    const a = find(report.runs, 'aerie', w.id);
    const cells = [w.name, fmt(a?.ops_per_sec)];
    for (const p of peers) {
      const r = find(report.runs, p.id, w.id);
      cells.push(fmt(r?.ops_per_sec), fmt(ratio(a?.ops_per_sec, r?.ops_per_sec), 2));
      if (p.cpuRatio) cells.push(fmt(ratio(a?.server_cpu_us_per_op, r?.server_cpu_us_per_op), 1));
    }
    if (hasRedis) cells.push(target(w, ratio(a?.ops_per_sec, find(report.runs, 'redis', w.id)?.ops_per_sec)));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function workloadTable(report, w) {
  const redis = find(report.runs, 'redis', w.id);
  const lines = [
    `### ${w.name}`,
    '',
    `${w.inflight} in flight per connection, ${w.batch === 1 ? 'each request written as soon as a slot is free' : `${w.batch} requests written together (Aerie: one frame; peers: one write, like redis-benchmark -P ${w.batch})`}; ${w.readPct} % reads.`,
    '',
    '| server | ops/s | p50 µs | p90 µs | p99 µs | p99.9 µs | server µs CPU/op | server CPU % | loadgen CPU % | ops/s ÷ Redis |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of report.servers) {
    if (s.skipped) continue;
    const run = report.runs.find((x) => x.server === s.id && x.workload === w.id);
    if (!run) continue;
    const r = run.result;
    const l = r.latency_us;
    const mark = r.ok ? '' : ' (FAILED)';
    lines.push(
      `| ${s.label}${mark} | ${fmt(r.ops_per_sec)} | ${fmt(l.p50)} | ${fmt(l.p90)} | ${fmt(l.p99)} | ${fmt(l.p999)} | ` +
        `${fmt(r.server_cpu_us_per_op, 2)} | ${fmt(r.server_cpu_pct)} | ${fmt(r.loadgen_cpu_pct)} | ` +
        `${fmt(ratio(r.ops_per_sec, redis?.ops_per_sec), 2)} |`,
    );
  }
  return lines.join('\n');
}

function notes(report) {
  const out = [];
  for (const s of report.servers) {
    if (s.skipped) {
      out.push(`${s.label}: skipped, ${s.skipped}.`);
    } else if (s.prefill) {
      const p = s.prefill.prefill;
      out.push(
        `${s.label}: prefilled ${fmt(p.keys)} keys in ${fmt(p.seconds, 2)} s (${fmt(p.keys_per_sec)}/s), ` +
          `${p.errors} errors; RSS after prefill ${fmt(s.rssMiBAfterPrefill)} MiB, ${s.osThreads ?? 'n/a'} OS threads.`,
      );
    }
  }
  let clean = true;
  for (const run of report.runs) {
    const r = run.result;
    const label = `${run.serverLabel}, ${run.workloadName}`;
    if (r.errors_total || r.misses || r.protocol_errors || !r.ok) {
      clean = false;
      const codes = Object.entries(r.errors)
        .map(([c, n]) => `code ${c}: ${n}`)
        .join(', ');
      out.push(
        `${label}: ${r.errors_total} errors${codes ? ` (${codes})` : ''}, ${r.misses} misses, ` +
          `${r.protocol_errors} protocol errors${r.first_error_reply ? `, first error reply "${r.first_error_reply}"` : ''}` +
          `${r.failure ? `; ${r.failure}` : ''}.`,
      );
    }
  }
  if (clean) out.push('No errors, no misses, no protocol errors in any run.');
  let noisy = 0;
  for (const run of report.runs) {
    const r = run.result;
    const other = otherCpuPct(r);
    const flags = [];
    if (other !== null && other > OTHER_CPU_PCT_NOISY) {
      noisy++;
      flags.push(`other processes used ${fmt(other)} % of a core during the measurement (noisy)`);
    }
    if (run.attempts > 1) flags.push(`measured ${run.attempts} times, the quietest kept`);
    if (run.remeasuredAt) flags.push(`re-measured at ${run.remeasuredAt} (see below)`);
    if (r.loadgen_cpu_pct > LOADGEN_CPU_PCT_BOUND) flags.push(`the generator used ${fmt(r.loadgen_cpu_pct)} % of its core and may have limited the run`);
    if (flags.length) out.push(`${run.serverLabel}, ${run.workloadName}: ${flags.join('; ')}.`);
  }
  out.push(
    noisy === 0
      ? `No row was disturbed by other processes (threshold ${OTHER_CPU_PCT_NOISY} % of a core).`
      : `${noisy} of ${report.runs.length} rows were disturbed by other processes (more than ${OTHER_CPU_PCT_NOISY} % of a core); rerun on a quiet machine.`,
  );
  if (report.quietWaitS && report.quietWaitS.allowed > 0) {
    out.push(
      `Before each row the runner waited for a quiet machine (all CPUs below ${OTHER_CPU_PCT_NOISY} % of a core for 1 s): ` +
        `${fmt(report.quietWaitS.spent)} s spent of the ${fmt(report.quietWaitS.allowed)} s allowed.`,
    );
  }
  for (const again of report.remeasured ?? []) {
    out.push(
      `At ${again.date}, \`${again.command}\` measured the ${again.rows.length} noisy rows again on freshly ` +
        `started and prefilled servers (same settings; ${fmt(again.quietWaitS.spent)} s spent waiting for a quiet machine) ` +
        `and kept the ${again.replaced.length} that were quieter: ${again.replaced.join(', ') || 'none'}.`,
    );
    for (const s of again.servers) {
      if (s.stderrTail) out.push(`${s.label} (re-measurement) wrote to stderr: \`${s.stderrTail.replace(/\s*\n\s*/g, ' | ')}\`.`);
    }
  }
  for (const s of report.servers) {
    if (s.exitedDuringRun) out.push(`${s.label} died during the run (${s.exitedDuringRun}).`);
    if (s.stderrTail) out.push(`${s.label} wrote to stderr: \`${s.stderrTail.replace(/\s*\n\s*/g, ' | ')}\`.`);
  }
  return out;
}

function markdown(report) {
  const m = report.machine;
  const servers = report.servers.filter((s) => !s.skipped).map((s) => `${s.label} (${s.version}${s.pin ? ', CPU 0' : ', unpinned'}): \`${s.argvShown}\``);
  return [
    `# Aerie, Redis and memcached side by side, ${report.date}`,
    '',
    `Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiBTotal} GiB, Node ${m.node}, ${m.kernel}.`,
    `Command: \`${report.command}\`` +
      (report.revision ? ` at commit ${report.revision.commit}${report.revision.srcModified ? ' (with uncommitted changes in src/)' : ''}` : '') +
      (report.distBuiltAt ? `, dist/ built ${report.distBuiltAt}.` : '.'),
    report.pinned ? 'Pinned servers run on CPU 0 with the load generator on CPU 1; "Aerie, unpinned" and its generator may use both CPUs.' : 'Nothing pinned: servers and generator share both CPUs.',
    `Each run: ${report.connections} connections, ${report.valueBytes}-byte values, ${fmt(report.keys)} prefilled keys ` +
      `(uniformly random), ${report.warmupS} s warmup, ${report.durationS} s measured; the same native generator ` +
      '(`native-bench/build/loadgen --protocol aerie|redis|memcached`) for every server.',
    '',
    'Servers:',
    '',
    ...servers.map((s) => `- ${s}`),
    '',
    '## Summary',
    '',
    'Throughput in operations per second; ratios are Aerie (pinned) divided by the peer. CPU/op is server CPU ' +
      'microseconds per operation (lower is better, so a ratio above 1 means Aerie spends more).',
    '',
    summaryTable(report),
    '',
    '## Per workload',
    '',
    ...report.workloads.flatMap((w) => [workloadTable(report, w), '']),
    '## Notes',
    '',
    ...notes(report).map((n) => `- ${n}`),
    '',
  ].join('\n');
}

module.exports = { markdown, summaryTable, otherCpuPct, OTHER_CPU_PCT_NOISY };
