// The admin page's throughput and latency charts: once a second the primary adds up every
// thread's request counters and latency buckets (src/shm/request-metrics.ts) and keeps, per op,
// the requests answered in that second, the errors among them, and the 50th and 99th percentile
// of their latency, for the last ADMIN_HISTORY_SAMPLES seconds. Fixed typed arrays, sized once:
// a sample allocates only the small object it hands to the feed.

import { ADMIN_HISTORY_SAMPLES } from '../../constants';
import { Status } from '../../errors';
import { COUNTED_OPS, LATENCY_BUCKETS_FINITE, REQUEST_METRICS_CODES, latencyBucketBoundSec, type RequestMetrics } from '../../shm/request-metrics';

const OPS = COUNTED_OPS.length;
const SLOTS = LATENCY_BUCKETS_FINITE + 1;
/** Figures kept per op per sample: requests, errors, p50 ms, p99 ms. */
const FIGURES = 4;

/** One second of one op, as the page draws it. */
export interface OpSample {
  requests: number;
  errors: number;
  /** Upper bounds of the latency buckets the percentiles fall in, in ms (0: no request). */
  p50Ms: number;
  p99Ms: number;
}

/** One second of every op: `ops[i]` is the op named OP_NAMES[i]. */
export interface RequestSample {
  timeMs: number;
  ops: OpSample[];
}

export const OP_NAMES: readonly string[] = COUNTED_OPS.map(([, name]) => name);

/** Whether a result code counts as an error on the chart (a missing key or a filtered record is an answer). */
function isError(code: number): boolean {
  return code !== Status.OK && code !== Status.KEY_NOT_FOUND && code !== Status.FILTERED_OUT;
}

export class RequestHistory {
  /** Totals at the last sample, per op: requests, errors, then each latency bucket. */
  private readonly last = new Float64Array(OPS * (2 + SLOTS));
  private readonly now = new Float64Array(OPS * (2 + SLOTS));
  /** Ring of samples: FIGURES per op per sample. */
  private readonly ring = new Float64Array(ADMIN_HISTORY_SAMPLES * OPS * FIGURES);
  private readonly times = new Float64Array(ADMIN_HISTORY_SAMPLES);
  private next = 0;
  private count = 0;
  private primed = false;

  constructor(private readonly blocks: () => ReadonlyArray<RequestMetrics>) {}

  /** Adds up the blocks now and records the second since the last call; answers that sample. */
  sample(timeMs: number): RequestSample {
    this.readTotals(this.now);
    const at = this.next;
    const base = at * OPS * FIGURES;
    for (let o = 0; o < OPS; o++) {
      const off = o * (2 + SLOTS);
      // The first call only sets the baseline: counts since the node started are not one second's.
      const d = (i: number) => (this.primed ? this.now[off + i] - this.last[off + i] : 0);
      const f = base + o * FIGURES;
      this.ring[f] = d(0);
      this.ring[f + 1] = d(1);
      this.ring[f + 2] = this.percentileMs(0.5, d(0) === 0 ? 0 : d);
      this.ring[f + 3] = this.percentileMs(0.99, d(0) === 0 ? 0 : d);
    }
    this.last.set(this.now);
    this.primed = true;
    this.times[at] = timeMs;
    this.next = (at + 1) % ADMIN_HISTORY_SAMPLES;
    this.count = Math.min(this.count + 1, ADMIN_HISTORY_SAMPLES);
    return this.read(at);
  }

  /** Every sample kept, oldest first. */
  history(): RequestSample[] {
    const out: RequestSample[] = [];
    const first = (this.next - this.count + ADMIN_HISTORY_SAMPLES) % ADMIN_HISTORY_SAMPLES;
    for (let i = 0; i < this.count; i++) out.push(this.read((first + i) % ADMIN_HISTORY_SAMPLES));
    return out;
  }

  private read(at: number): RequestSample {
    const ops: OpSample[] = [];
    const base = at * OPS * FIGURES;
    for (let o = 0; o < OPS; o++) {
      const f = base + o * FIGURES;
      ops.push({ requests: this.ring[f], errors: this.ring[f + 1], p50Ms: this.ring[f + 2], p99Ms: this.ring[f + 3] });
    }
    return { timeMs: this.times[at], ops };
  }

  private readTotals(out: Float64Array): void {
    out.fill(0);
    const blocks = this.blocks();
    COUNTED_OPS.forEach(([op], o) => {
      const off = o * (2 + SLOTS);
      for (const b of blocks) {
        for (let c = 0; c < REQUEST_METRICS_CODES; c++) {
          const n = b.requests(op, c);
          if (n === 0) continue;
          out[off] += n;
          if (isError(c)) out[off + 1] += n;
        }
        for (let i = 0; i < SLOTS; i++) out[off + 2 + i] += b.bucket(op, i);
      }
    });
  }

  /**
   * The upper bound (ms) of the bucket where the `q` quantile of this second's timed requests
   * falls; the bucket past the last bound answers twice the last bound. 0 with nothing timed.
   */
  private percentileMs(q: number, delta: ((i: number) => number) | 0): number {
    if (delta === 0) return 0;
    let timed = 0;
    for (let i = 0; i < SLOTS; i++) timed += delta(2 + i);
    if (timed <= 0) return 0;
    const rank = q * timed;
    let seen = 0;
    for (let i = 0; i < SLOTS; i++) {
      seen += delta(2 + i);
      if (seen >= rank) return latencyBucketBoundSec(Math.min(i, LATENCY_BUCKETS_FINITE - 1)) * 1000 * (i === LATENCY_BUCKETS_FINITE ? 2 : 1);
    }
    return latencyBucketBoundSec(LATENCY_BUCKETS_FINITE - 1) * 2000;
  }
}
