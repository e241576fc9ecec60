'use strict';
// Parses the output of `node --trace-gc` (one line per collection, from every isolate of the
// process: the primary and each worker thread) into pauses, and summarises them. Lines that are
// not GC lines are left to the caller. growth.js feeds it the node's stdout line by line.

// `--trace-gc` prints one line per collection from every isolate (the primary and each worker):
//   [pid:0xISOLATE]   1234 ms: Mark-Compact 54.2 (85.1) -> 46.9 (80.3) MB, 37.99 / 0.01 ms  (+ 21.5 ms in
//   36 steps since start of marking, biggest step 20.0 ms, ...) ...
// The first number after "MB," is the pause on the isolate's thread; incremental marking steps
// run between pauses, and the biggest of them is a pause of its own.
const GC_LINE = /^\[\d+:(0x[0-9a-f]+)\]\s+[\d.]+ ms: (.+?) [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, ([\d.]+) \/ [\d.]+ ms/;
const GC_STEP = /biggest step ([\d.]+) ms/;

class GcTrace {
  constructor() {
    this.pauses = []; // { isolate, kind, ms, stepMs, phase }
    // In order of first appearance: the primary starts first; a restarted worker is a new isolate.
    this.isolates = [];
    this.unparsed = 0;
    this.phase = 'start-up';
  }

  line(text) {
    const m = GC_LINE.exec(text);
    if (m === null) {
      if (/^\[\d+:0x[0-9a-f]+\]/.test(text)) this.unparsed++;
      return false;
    }
    if (!this.isolates.includes(m[1])) this.isolates.push(m[1]);
    const step = GC_STEP.exec(text);
    this.pauses.push({ isolate: m[1], kind: m[2], ms: Number(m[3]), stepMs: step ? Number(step[1]) : 0, phase: this.phase });
    return true;
  }

  isolateName(address) {
    const i = this.isolates.indexOf(address);
    return i === 0 ? 'primary' : `worker thread ${i}`;
  }

  /** Longest pause, p99, count and total of the pauses matching `keep`. */
  summary(keep = () => true) {
    const chosen = this.pauses.filter(keep);
    if (chosen.length === 0) return null;
    const sorted = chosen.map((p) => p.ms).sort((a, b) => a - b);
    const longest = chosen.reduce((a, b) => (b.ms > a.ms ? b : a));
    const step = chosen.reduce((a, b) => (b.stepMs > a.stepMs ? b : a));
    const byKind = {};
    for (const p of chosen) {
      const k = (byKind[p.kind] ??= { count: 0, maxMs: 0 });
      k.count++;
      k.maxMs = Math.max(k.maxMs, p.ms);
    }
    return {
      byKind,
      count: chosen.length,
      totalMs: round(
        sorted.reduce((a, b) => a + b, 0),
        1,
      ),
      maxMs: longest.ms,
      maxKind: longest.kind,
      maxIsolate: this.isolateName(longest.isolate),
      p99Ms: sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)],
      p50Ms: sorted[Math.ceil(sorted.length * 0.5) - 1],
      biggestMarkingStepMs: step.stepMs,
      biggestMarkingStepIsolate: this.isolateName(step.isolate),
    };
  }
}

function round(x, digits = 0) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

module.exports = { GcTrace };
