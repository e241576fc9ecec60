// aerie_requests_total and aerie_request_duration_seconds: each thread's request counters and
// latency buckets (src/shm/request-metrics.ts), added up at scrape time.

import { statusName } from '../errors';
import { COUNTED_OPS, LATENCY_BUCKETS_FINITE, REQUEST_METRICS_CODE_OTHER, REQUEST_METRICS_CODES, latencyBucketBoundSec, type RequestMetrics } from '../shm/request-metrics';
import { family, type Family, type Sample } from './family';

export const REQUESTS_TOTAL = 'aerie_requests_total';
export const REQUEST_DURATION = 'aerie_request_duration_seconds';

/** The label a code's slot gets: its number, or `other` for the shared last slot. */
function codeLabels(codeIndex: number): { code: string; result: string } {
  if (codeIndex === REQUEST_METRICS_CODE_OTHER) return { code: 'other', result: 'OTHER' };
  return { code: String(codeIndex), result: statusName(codeIndex) };
}

function requestSamples(blocks: ReadonlyArray<RequestMetrics>): Sample[] {
  const samples: Sample[] = [];
  for (const [op, name] of COUNTED_OPS) {
    for (let c = 0; c < REQUEST_METRICS_CODES; c++) {
      let n = 0;
      for (const b of blocks) n += b.requests(op, c);
      if (n > 0) samples.push({ labels: { op: name, ...codeLabels(c) }, value: n });
    }
  }
  return samples;
}

function durationSamples(blocks: ReadonlyArray<RequestMetrics>): Sample[] {
  const samples: Sample[] = [];
  for (const [op, name] of COUNTED_OPS) {
    let cumulative = 0;
    let sumMicros = 0;
    for (const b of blocks) sumMicros += b.latencySumMicros(op);
    const buckets: Sample[] = [];
    for (let i = 0; i <= LATENCY_BUCKETS_FINITE; i++) {
      for (const b of blocks) cumulative += b.bucket(op, i);
      const le = i === LATENCY_BUCKETS_FINITE ? '+Inf' : String(latencyBucketBoundSec(i));
      buckets.push({ metricName: `${REQUEST_DURATION}_bucket`, labels: { op: name, le }, value: cumulative });
    }
    // An op never seen gets no series, as prom-client does for a histogram label set never observed.
    if (cumulative === 0) continue;
    samples.push(...buckets);
    samples.push({ metricName: `${REQUEST_DURATION}_sum`, labels: { op: name }, value: sumMicros / 1e6 });
    samples.push({ metricName: `${REQUEST_DURATION}_count`, labels: { op: name }, value: cumulative });
  }
  return samples;
}

/** The two request families over `blocks()` (each worker's, then the primary's). */
export function requestFamilies(blocks: () => ReadonlyArray<RequestMetrics>): Family[] {
  return [
    family(REQUESTS_TOTAL, 'Data requests answered, by op and result code (code "other": a code past the table).', 'counter', () => requestSamples(blocks())),
    family(
      REQUEST_DURATION,
      'Time the answering thread spent on a data request (a worker applying it, or the primary reading shared memory): excludes queueing in the rings and the group commit.',
      'histogram',
      () => durationSamples(blocks()),
    ),
  ];
}
