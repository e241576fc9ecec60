// A log-linear latency histogram in the manner of HdrHistogram: values below 2^HIST_SUB_BITS are
// counted exactly, and every octave above is split into HIST_HALF linear buckets, so any value is
// reported within 1/HIST_HALF (0.8 %) of what was recorded. Memory is fixed (HIST_BUCKETS
// counters) and recording is a few instructions with no allocation.
#ifndef AERIE_HIST_H
#define AERIE_HIST_H

#include <stdint.h>
#include <string.h>

#define HIST_SUB_BITS 8
#define HIST_HALF (1u << (HIST_SUB_BITS - 1))
/** Values are nanoseconds; anything at or above 2^40 ns (about 18 minutes) is clamped. */
#define HIST_VALUE_BITS 40
#define HIST_BUCKETS ((HIST_VALUE_BITS - HIST_SUB_BITS + 3) * HIST_HALF)

typedef struct {
  uint64_t counts[HIST_BUCKETS];
  uint64_t count;
  uint64_t sum_ns;
  uint64_t max_ns;
} hist_t;

static inline void hist_reset(hist_t *h) { memset(h, 0, sizeof *h); }

static inline uint32_t hist_index(uint64_t value_ns) {
  if (value_ns < (1u << HIST_SUB_BITS)) return (uint32_t)value_ns;
  uint32_t exponent = 63u - (uint32_t)__builtin_clzll(value_ns);
  uint32_t shift = exponent - (HIST_SUB_BITS - 1);
  return shift * HIST_HALF + (uint32_t)(value_ns >> shift);
}

/** The largest value that lands in bucket `index`. */
static inline uint64_t hist_bucket_high(uint32_t index) {
  if (index < 2 * HIST_HALF) return index;
  uint32_t shift = index / HIST_HALF - 1;
  uint64_t sub = index - shift * HIST_HALF;
  return ((sub + 1) << shift) - 1;
}

static inline void hist_record(hist_t *h, uint64_t value_ns) {
  const uint64_t clamp = (1ull << HIST_VALUE_BITS) - 1;
  if (value_ns > clamp) value_ns = clamp;
  h->counts[hist_index(value_ns)]++;
  h->count++;
  h->sum_ns += value_ns;
  if (value_ns > h->max_ns) h->max_ns = value_ns;
}

/** The value at percentile `pct` (0..100]: the top of the bucket holding that rank, never above max. */
static inline uint64_t hist_percentile(const hist_t *h, double pct) {
  if (h->count == 0) return 0;
  uint64_t rank = (uint64_t)(pct / 100.0 * (double)h->count + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > h->count) rank = h->count;
  uint64_t seen = 0;
  for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= rank) {
      uint64_t high = hist_bucket_high(i);
      return high < h->max_ns ? high : h->max_ns;
    }
  }
  return h->max_ns;
}

#endif
