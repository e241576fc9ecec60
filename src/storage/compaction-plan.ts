// Chooses which sealed segments a compaction job rewrites, from per-segment live-byte counts. The
// job copies the live records of each chosen run into one new file that takes the number of the
// run's highest segment, then deletes the others; a run without live bytes is simply deleted.
//
// A run is a sequence of segments with no other segment between them. That is what keeps replay
// exact: every surviving record keeps its place relative to every record outside the run, so
// "the last record of a digest wins" gives the same answer as before. (Merging segments that
// have a survivor between them would move records past it.) The active segment and any later
// one are never chosen: they are still being written.

import { COMPACTION_LIVE_RATIO_MAX_DEFAULT, COMPACTION_SEGMENTS_PER_JOB_MAX } from '../constants';

export interface SegmentUsage {
  segmentNumber: number;
  /** Bytes of records in the segment (its file length). */
  totalBytes: number;
  /** Bytes a rewrite keeps (records still needed at replay). */
  liveBytes: number;
}

export interface CompactionPlanOptions {
  /** The segment being appended to; it and later ones are never chosen. */
  activeSegmentNumber: number;
  /** Candidates have live bytes / total bytes below this. */
  liveRatioMax?: number;
  /** Live bytes one run copies at most (so its output stays within a segment's size). */
  liveBytesPerRunMax: number;
  segmentsPerJobMax?: number;
}

export interface CompactionRun {
  /** Consecutive existing segments, ascending; the output takes the last one's number. */
  segments: number[];
  totalBytes: number;
  liveBytes: number;
}

export interface CompactionPlan {
  runs: CompactionRun[];
  segmentCount: number;
  /** Live bytes the rewrites copy. */
  liveBytes: number;
  /** Bytes the plan frees once done. */
  reclaimedBytes: number;
}

/** Plans a job over `usage`: every segment of the log directory, ascending by number. */
export function planCompaction(usage: ReadonlyArray<SegmentUsage>, options: CompactionPlanOptions): CompactionPlan {
  const liveRatioMax = options.liveRatioMax ?? COMPACTION_LIVE_RATIO_MAX_DEFAULT;
  const segmentsPerJobMax = options.segmentsPerJobMax ?? COMPACTION_SEGMENTS_PER_JOB_MAX;
  if (!(liveRatioMax > 0 && liveRatioMax <= 1 && segmentsPerJobMax >= 1 && options.liveBytesPerRunMax > 0)) {
    throw new RangeError('planCompaction: liveRatioMax in (0, 1], segmentsPerJobMax ≥ 1 and liveBytesPerRunMax > 0');
  }
  checkUsage(usage);
  const plan: CompactionPlan = { runs: [], segmentCount: 0, liveBytes: 0, reclaimedBytes: 0 };
  let run: CompactionRun | null = null;
  const close = (): void => {
    if (run !== null) {
      plan.runs.push(run);
      plan.liveBytes += run.liveBytes;
      plan.reclaimedBytes += run.totalBytes - run.liveBytes;
    }
    run = null;
  };
  for (const segment of usage) {
    if (segment.segmentNumber >= options.activeSegmentNumber || plan.segmentCount >= segmentsPerJobMax) break;
    const live = segment.liveBytes;
    if (run !== null && (run as CompactionRun).liveBytes + live > options.liveBytesPerRunMax) close();
    const candidate = segment.totalBytes === 0 || (live < segment.totalBytes * liveRatioMax && live <= options.liveBytesPerRunMax);
    if (!candidate) {
      close();
      continue;
    }
    run ??= { segments: [], totalBytes: 0, liveBytes: 0 };
    run.segments.push(segment.segmentNumber);
    run.totalBytes += segment.totalBytes;
    run.liveBytes += live;
    plan.segmentCount++;
  }
  close();
  return plan;
}

function checkUsage(usage: ReadonlyArray<SegmentUsage>): void {
  let previous = 0;
  for (const segment of usage) {
    if (!(segment.liveBytes >= 0 && segment.liveBytes <= segment.totalBytes)) {
      throw new RangeError(`planCompaction: segment ${segment.segmentNumber} has ${segment.liveBytes} live of ${segment.totalBytes} bytes`);
    }
    if (!(segment.segmentNumber > previous)) throw new RangeError('planCompaction: segments must be listed in ascending order');
    previous = segment.segmentNumber;
  }
}
