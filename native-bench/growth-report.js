'use strict';
// The arithmetic and the Markdown of growth.js: bytes per record from the node's INFO and the
// process's RSS, and the report (results/growth.md). Everything it prints comes from the report
// object, which growth.json holds whole.

function round(x, digits = 0) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Where each record's bytes go. The stored record is the record header + key + bins, 8-aligned;
 * the key is not stored (neither the loader nor the generator sets sendKey), only its digest,
 * which is in the header and in the index slot. "Data" is the 100-byte value.
 */
function analyse(s, start, setup) {
  const { recordHeaderBytes, binsBytes, valueBytes } = setup;
  const recordBytes = Math.ceil((recordHeaderBytes + binsBytes) / 8) * 8;
  const dataBytes = s.records * valueBytes;
  const indexSlots = (s.indexBytes - setup.indexHeaderBytes * setup.workers) / setup.indexSlotBytes;
  const per = (bytes) => (s.records > 0 ? round(bytes / s.records, 1) : null);
  return {
    dataBytes,
    recordBytesExpected: recordBytes,
    liveBytesMatch: s.liveBytes === s.records * recordBytes,
    overheadBytesPerRecord: per(s.indexBytes + s.arenaBytes - dataBytes),
    rssBytesPerRecord: per(s.rssBytes - start.rssBytes),
    rssOverheadBytesPerRecord: per(s.rssBytes - start.rssBytes - dataBytes),
    indexLoadFactor: s.records > 0 ? round(s.records / indexSlots, 3) : 0,
    perRecord:
      s.records > 0
        ? {
            indexSlot: per(s.indexBytes),
            recordHeader: recordHeaderBytes,
            binsFraming: binsBytes - valueBytes,
            alignment: recordBytes - recordHeaderBytes - binsBytes,
            blockFreeSpace: per(s.arenaBytes - s.liveBytes),
            rssBeyondIndexAndArena: per(s.rssBytes - start.rssBytes - (s.indexBytes + s.arenaBytes - start.indexBytes - start.arenaBytes)),
          }
        : null,
  };
}

const mib = (b) => (b / 2 ** 20).toFixed(1);
const num = (x) => (x === null || x === undefined ? '–' : Math.round(x).toLocaleString('en-US'));
const ms = (g) => (g ? `${g.maxMs.toFixed(1)} ms (${g.maxKind}, ${g.maxIsolate})` : '–');

function markdown(rep) {
  const out = [];
  const m = rep.machine;
  const { ns, set, workers, memoryBytesMax, valueBytes, connections, warmupS, loadInflight, targetOverheadBytes } = rep.setup;
  out.push(`# Cost as the data grows, ${rep.date}`, '');
  out.push(
    `Machine: ${m.cores} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}. ` +
      `Aerie at ${rep.revision.commit}${rep.revision.srcModified ? ' (src/ modified in the working tree)' : ''}, dist/ built ${rep.revision.distBuiltAt}.`,
  );
  out.push(`Command: \`${rep.command}\` — ${rep.totalSeconds} s in all.`);
  out.push(
    `Node: \`${rep.nodeArgv}\`; namespace \`${ns}\` in memory, ${workers} workers, memoryBytesMax ${memoryBytesMax / 2 ** 30} GiB, ` +
      `supervisor.heartbeatTimeoutMs ${rep.config.supervisor.heartbeatTimeoutMs}, ${valueBytes}-byte bytes bin \`v\`, integer keys in set \`${set}\`, ` +
      'key not stored (no sendKey).',
  );
  out.push(
    `Load: every record written once through the SDK, ${loadInflight} puts in flight on one connection ` +
      `(${rep.stages
        .map(
          (s) =>
            `${num(s.load.records)} in ${s.load.seconds} s, ${num(s.load.recordsPerSecond)}/s, ` +
            `slowest put ${s.load.latency.maxMs} ms at ${s.load.latency.maxAtS} s, ${s.load.latency.over100Ms} puts over 100 ms, ` +
            `other processes using ${Math.round(s.load.otherCpuPct)} % of a core meanwhile`,
        )
        .join('; ')}). ` +
      `Throughput: native-bench/build/loadgen, ${connections} connections, 50/50 get/put over all records, ${valueBytes}-byte values, ` +
      `${warmupS} s warmup + ${rep.durationS} s${rep.pinned ? ', node pinned to CPU 0 and generator to CPU 1 for the whole run' : ", nothing pinned: the node's three threads, the generator and the loader share both CPUs"}.`,
  );
  out.push(
    `Load on the machine: at start \`${rep.uptimeStart}\`; at end \`${rep.uptimeEnd}\`` +
      `${rep.quietWaitS.allowed ? `; waited ${rep.quietWaitS.spent} s (of ${rep.quietWaitS.allowed} allowed) for a quiet machine before start-up, loads and throughput runs` : ''}.`,
    '',
  );
  out.push(
    '| stage | records | RSS MiB | index MiB | arena MiB | live MiB | data MiB | overhead B/record (index + arena − data) | ' +
      'ΔRSS B/record | overhead B/record (ΔRSS − data) | ops/s unpipelined | ops/s 16 in flight | longest GC pause |',
  );
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const row of [rep.startup, ...rep.stages]) {
    const a = row.analysis;
    const t = row.throughput ?? {};
    const flag = (r) => (r ? `${num(r.opsPerSecond)}${r.noisy ? ' (busy)' : ''}${r.ok ? '' : ' FAILED'}` : '–');
    out.push(
      `| ${row.stage} | ${num(row.records)} | ${mib(row.rssBytes)} | ${mib(row.indexBytes)} | ${mib(row.arenaBytes)} | ` +
        `${mib(row.liveBytes)} | ${mib(a.dataBytes)} | ${a.overheadBytesPerRecord ?? '–'} | ${a.rssBytesPerRecord ?? '–'} | ` +
        `${a.rssOverheadBytesPerRecord ?? '–'} | ${flag(t.unpipelined)} | ${flag(t.inflight16)} | ${ms(row.gc)} |`,
    );
  }
  out.push('');
  const last = rep.stages.at(-1);
  const over = last.analysis.overheadBytesPerRecord;
  out.push(
    `Target (issue): overhead ≤ ${targetOverheadBytes} bytes per record (Aerospike's index entry). ` +
      `At ${num(last.records)} records: ${over} B/record by the node's accounting, ${last.analysis.rssOverheadBytesPerRecord} B/record by RSS: ` +
      `**${over <= targetOverheadBytes && last.analysis.rssOverheadBytesPerRecord <= targetOverheadBytes ? 'met' : 'missed'}**.`,
    '',
  );
  out.push('Where the bytes of one record go (data = the 100-byte value; overhead = everything else):', '');
  out.push(
    '| stage | index slot (32 B / load factor) | load factor | record header | bins framing | alignment | free space in blocks | ' +
      'RSS growth beyond index + arena | RSS after the throughput runs |',
  );
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rep.stages) {
    const p = row.analysis.perRecord;
    const beyond = row.rssBytes - rep.startup.rssBytes - (row.indexBytes + row.arenaBytes - rep.startup.indexBytes - rep.startup.arenaBytes);
    out.push(
      `| ${row.stage} | ${p.indexSlot} | ${row.analysis.indexLoadFactor} | ${p.recordHeader} | ${p.binsFraming} | ${p.alignment} | ` +
        `${p.blockFreeSpace} | ${p.rssBeyondIndexAndArena} (${mib(beyond)} MiB) | ${mib(row.rssBytesAfterThroughput)} MiB |`,
    );
  }
  out.push('');
  const g = rep.gc.all;
  out.push(
    `GC (\`--trace-gc\`, all isolates, whole run): ${
      g
        ? `${g.count} pauses, ${g.totalMs} ms in all; longest ${ms(g)}, ` +
          `p99 ${g.p99Ms} ms, p50 ${g.p50Ms} ms; biggest incremental-marking step ${g.biggestMarkingStepMs} ms (${g.biggestMarkingStepIsolate})`
        : 'no pauses parsed'
    }` + `${rep.gc.unparsed ? `; ${rep.gc.unparsed} trace lines not understood` : ''}.`,
  );
  for (const [name, s] of Object.entries(rep.gc.byIsolate)) {
    const kinds = Object.entries(s.byKind)
      .map(([k, v]) => `${v.count} ${k} (longest ${v.maxMs} ms)`)
      .join(', ');
    out.push(`- ${name}: ${s.count} pauses, ${s.totalMs} ms in all, longest ${s.maxMs} ms (${s.maxKind}), p99 ${s.p99Ms} ms: ${kinds}`);
  }
  out.push('');
  const notes = [];
  for (const row of rep.stages) {
    if (!row.analysis.liveBytesMatch) notes.push(`${row.stage}: liveBytes ${row.liveBytes} ≠ records × ${row.analysis.recordBytesExpected}`);
    if (row.load.errors) notes.push(`${row.stage}: ${row.load.errors} load errors, first: ${row.load.firstError}`);
    for (const [id, t] of Object.entries(row.throughput)) {
      if (!t.ok) notes.push(`${row.stage} ${id}: generator failed: ${t.failure}`);
      if (t.misses || t.errors) notes.push(`${row.stage} ${id}: ${t.misses} misses, ${t.errors} errors`);
      if (t.noisy) notes.push(`${row.stage} ${id}: other processes used ${t.otherCpuPct} % of a core: indicative only`);
    }
  }
  const restarts = rep.end.workers.filter((w) => w.restarts > 0);
  for (const w of restarts) notes.push(`worker ${w.index} restarted ${w.restarts} times (last failure: ${w.lastFailure})`);
  if (rep.nodeOutput.length) notes.push(`node output besides GC lines: ${rep.nodeOutput.map((l) => `\`${l}\``).join(' ')}`);
  if (rep.nodeStderr) notes.push(`node stderr: ${rep.nodeStderr}`);
  if (notes.length) out.push('Notes:', '', ...notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

module.exports = { analyse, markdown, round, mib };
