// Chooses which sealed segments a compaction job rewrites, from per-segment live-byte counts kept
// by the worker. The job (on the piscina pool, later) copies the live records of the chosen
// segments, in segment order, into one new segment and then removes the inputs; segments with no
// live bytes are simply deleted. The active segment is never a candidate: it is still being written.
//
// "Live" is the caller's to count, and it must count a tombstone as live while any older segment
// may still hold a put of its digest, or deleting that segment would resurrect the record.

import { COMPACTION_LIVE_RATIO_MAX_DEFAULT, COMPACTION_SEGMENTS_PER_JOB_MAX } from '../constants';

export interface SegmentUsage {
  segmentNumber: number;
  /** Bytes of records in the segment (its file length). */
  totalBytes: number;
  /** Bytes of the records that are still the latest version of their digest. */
  liveBytes: number;
}

export interface CompactionPlanOptions {
  /** The segment being appended to; it and later ones are never chosen. */
  activeSegmentNumber: number;
  /** Candidates have liveBytes / totalBytes below this. */
  liveRatioMax?: number;
  /** Live bytes one job copies at most (so its output fits one segment). */
  liveBytesPerJobMax: number;
  segmentsPerJobMax?: number;
}

export interface CompactionPlan {
  /** Sealed segments without live bytes: delete them (then fsync the directory). */
  deletable: number[];
  /** Segments to rewrite, ascending: copy their live records in this order. */
  compact: number[];
  /** Live bytes the rewrite copies. */
  liveBytes: number;
  /** Bytes the plan frees once done. */
  reclaimedBytes: number;
}

export function planCompaction(usage: ReadonlyArray<SegmentUsage>, options: CompactionPlanOptions): CompactionPlan {
  const liveRatioMax = options.liveRatioMax ?? COMPACTION_LIVE_RATIO_MAX_DEFAULT;
  const segmentsPerJobMax = options.segmentsPerJobMax ?? COMPACTION_SEGMENTS_PER_JOB_MAX;
  if (!(liveRatioMax > 0 && liveRatioMax <= 1 && segmentsPerJobMax >= 1 && options.liveBytesPerJobMax > 0)) {
    throw new RangeError('planCompaction: liveRatioMax in (0, 1], segmentsPerJobMax ≥ 1 and liveBytesPerJobMax > 0');
  }
  const deletable: number[] = [];
  const candidates: SegmentUsage[] = [];
  let reclaimedBytes = 0;
  for (const segment of usage) {
    if (!(segment.liveBytes >= 0 && segment.liveBytes <= segment.totalBytes)) {
      throw new RangeError(`planCompaction: segment ${segment.segmentNumber} has ${segment.liveBytes} live of ${segment.totalBytes} bytes`);
    }
    if (segment.segmentNumber >= options.activeSegmentNumber) continue;
    if (segment.liveBytes === 0) {
      deletable.push(segment.segmentNumber);
      reclaimedBytes += segment.totalBytes;
    } else if (segment.liveBytes < segment.totalBytes * liveRatioMax) {
      candidates.push(segment);
    }
  }
  // Emptiest first: each copied byte frees the most space.
  candidates.sort((a, b) => a.liveBytes / a.totalBytes - b.liveBytes / b.totalBytes || a.segmentNumber - b.segmentNumber);
  const compact: number[] = [];
  let liveBytes = 0;
  for (const segment of candidates) {
    if (compact.length >= segmentsPerJobMax) break;
    if (liveBytes + segment.liveBytes > options.liveBytesPerJobMax) continue;
    compact.push(segment.segmentNumber);
    liveBytes += segment.liveBytes;
    reclaimedBytes += segment.totalBytes - segment.liveBytes;
  }
  compact.sort((a, b) => a - b);
  deletable.sort((a, b) => a - b);
  return { deletable, compact, liveBytes, reclaimedBytes };
}
