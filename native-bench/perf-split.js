// profile.js's reading of a `perf record -g` of the node's CPU: CPU time per thread, and per thread
// the share of each layer (kernel, V8's generated code, Node's C++, libc) of its leaf frames and of
// each job its call chains name (JOBS).
// perf counts CPU time including the kernel's; the V8 profiler counts wall time of JavaScript only.
'use strict';

/**
 * [job, pattern on a frame's symbol], highest priority first: a sample counts for the first job
 * whose pattern any frame of its call chain matches (so a store write under a replica's apply is
 * the replica's, a RIPEMD-160 under routing is the digest's).
 */
const JOBS = [
  ['GC', /Heap::|Scavenger|MarkCompact|GCTracer|ConcurrentMarking|Sweeper/],
  ['rings: futex wake and wait', /futex|Atomics(Notify|Wait)|FutexEmulation/],
  ['digest (RIPEMD-160 of the key)', /computeDigest/],
  ['reads served on the primary (seqlock copy)', /direct-reads\.js/],
  ['replica: applying images', /JS:\*?(apply|drain) \S*worker\/replication\.js/],
  ['master: writing images to channels', /JS:\*?(put|image|remove|reserve|commit) \S*worker\/replication\.js/],
  ['socket writes (ws send, writev)', /writev|sender\.js|flushAll|Writev/],
  ['worker: expiry, defragmentation, stats', /defragStep|sweepExpired|publishNamespaceStats|JS:\*?background /],
  ['worker: requests (decode, engine, store)', /engine\.js|operate\.js|worker\/scan\.js|worker\/main\.js/],
  ['primary: decode, route, ring writes', /session\.js|router\.js|routing-fields\.js|worker-handle\.js/],
  ['socket reads (read, ws frame parsing)', /uv__read|receiver\.js|websocket\.js|onStreamRead|tcp_recvmsg/],
  ['event loop (epoll, timers, immediates)', /epoll|uv__io_poll|uv__run|processImmediate|listOnTimeout/],
];

function layerOf(dso) {
  if (dso.includes('kernel')) return 'kernel';
  if (dso.includes('perf-') || dso.startsWith('[JIT]')) return 'JavaScript (JIT)';
  if (dso.endsWith('/node') || dso === 'node') return 'Node and V8 (C++)';
  if (dso.includes('libc')) return 'libc';
  return 'other';
}

/**
 * Parses `perf script -F tid,ip,sym,dso` output (a line with the tid, then one line per frame,
 * leaf first, then a blank line) into per-thread totals.
 */
function split(text) {
  const threads = new Map();
  let total = 0;
  const flush = (tid, frames) => {
    if (tid === null || frames.length === 0) return;
    total++;
    let t = threads.get(tid);
    if (t === undefined) threads.set(tid, (t = { tid, samples: 0, layers: new Map(), jobs: new Map() }));
    t.samples++;
    const layer = layerOf(frames[0].dso);
    t.layers.set(layer, (t.layers.get(layer) ?? 0) + 1);
    let job = 'other';
    for (const [name, re] of JOBS) {
      if (frames.some((f) => re.test(f.sym))) {
        job = name;
        break;
      }
    }
    t.jobs.set(job, (t.jobs.get(job) ?? 0) + 1);
  };
  let tid = null;
  let frames = [];
  for (const line of text.split('\n')) {
    const head = /^\s*(\d+)\s*$/.exec(line);
    if (head) {
      flush(tid, frames);
      tid = Number(head[1]);
      frames = [];
      continue;
    }
    const m = /^\s+[0-9a-f]+\s+(.*)\s+\((.*)\)\s*$/.exec(line);
    if (m) frames.push({ sym: m[1], dso: m[2] });
  }
  flush(tid, frames);
  const pct = (n) => (100 * n) / total;
  return [...threads.values()]
    .sort((a, b) => b.samples - a.samples)
    .map((t) => ({
      tid: t.tid,
      cpuPct: pct(t.samples),
      layers: [...t.layers.entries()].sort((a, b) => b[1] - a[1]).map(([name, n]) => ({ name, pct: (100 * n) / t.samples })),
      jobs: [...t.jobs.entries()].sort((a, b) => b[1] - a[1]).map(([name, n]) => ({ name, pct: (100 * n) / t.samples })),
    }));
}

module.exports = { split, JOBS };
