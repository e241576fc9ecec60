// The compaction job for one worker's log of one namespace, run on the piscina pool while the
// worker keeps serving. It never blocks the worker: everything it learns comes from shared memory
// (the record store under its seqlock, the log watermarks in the stats block) and the files.
//
//   1. measure: read every sealed segment (below the active one), judge each record against the
//      store (compaction-liveness.ts) and count live bytes per segment;
//   2. plan runs of consecutive segments (src/storage/compaction-plan.ts);
//   3. rewrite each run's kept records into a synced temporary file (judging again, twice: the
//      store moved on, and these decisions are the ones that count);
//   4. barrier: wait until the log has made durable every write the judge saw in the store, so a
//      record dropped because the store holds something newer has a durable successor;
//   5. swap each run in (src/storage/compaction-files.ts).
// Until step 5 nothing visible changes; a crash at any point of step 5 replays to the same state.

import { performance } from 'node:perf_hooks';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMPACTION_POLL_MS, COMPACTION_REMOVALS_PER_RUN_MAX, DIGEST_BYTES, LOG_RECORD_HEADER_BYTES } from '../constants';
import { AerieError, Status } from '../errors';
import { LogWatermarks, StatsBlock } from '../shm/stats';
import { type CompactionRun, type SegmentUsage, planCompaction } from '../storage/compaction-plan';
import { RunOutput, type StepHook, commitRun, forEachSealedRecord, removeCompactionLeftovers } from '../storage/compaction-files';
import { LogRecordKind, type LogRecordView } from '../storage/log-record';
import { listSegments, segmentFileName } from '../storage/segment-files';
import { LivenessJudge, type StoreMemoryInput } from './compaction-liveness';
import { hasExpired, nowVoidSec } from '../shm/void-time';

export interface CompactionInput extends StoreMemoryInput {
  /** The worker's log directory for the namespace. */
  directory: string;
  /** The worker's stats block, holding the log watermarks. */
  statsSab: SharedArrayBuffer;
  namespaceCount: number;
  nsIndex: number;
  liveRatioMax: number;
  /** The namespace's segment size: a run's output stays within it. */
  segmentBytes: number;
  /** How long the barrier may wait for durability before the job gives up. */
  durableWaitMsMax: number;
}

/**
 * compacted: runs were swapped in. nothing-to-do: no segment qualified. skipped: the log was not
 * in a state to start (reason). aborted: stopped before changing anything, or between runs
 * (reason). failed: an error (error), reported by the task wrapper; leftovers are removed next time.
 */
export type CompactionOutcome = 'compacted' | 'nothing-to-do' | 'skipped' | 'aborted' | 'failed';

export type CompactionReason = 'log-not-open' | 'log-failed' | 'store-ahead-of-log' | 'index-resized' | 'durable-wait-timeout' | 'worker-restarted';

export interface CompactionReport {
  directory: string;
  outcome: CompactionOutcome;
  reason: CompactionReason | null;
  error: { code: number; message: string; failure: string | null } | null;
  segmentsScanned: number;
  /** Segment files replaced by a rewritten one. */
  segmentsRewritten: number;
  /** Segment files removed. */
  segmentsDeleted: number;
  recordsKept: number;
  recordsDropped: number;
  /** Every segment of the directory when the job started, and what the swapped runs freed. */
  logBytesBefore: number;
  bytesReclaimed: number;
  durableWaitMs: number;
  elapsedMs: number;
}

export interface CompactionHooks {
  /** Called after each file step of a swap; a test throws here to simulate a crash. */
  onStep?: StepHook;
}

/** A tombstone has no key and no bins: the header alone, already 8-aligned. */
const TOMBSTONE_BYTES = LOG_RECORD_HEADER_BYTES;

interface PreparedRun {
  run: CompactionRun;
  output: RunOutput | null;
  inputBytes: number;
  dropped: number;
}

export async function compactLog(input: CompactionInput, hooks: CompactionHooks = {}): Promise<CompactionReport> {
  const started = performance.now();
  const report = emptyReport(input.directory);
  const done = (outcome: CompactionOutcome, reason: CompactionReason | null = null): CompactionReport => {
    report.outcome = outcome;
    report.reason = reason;
    report.elapsedMs = performance.now() - started;
    return report;
  };
  const marks = new LogWatermarks(StatsBlock.attach(input.statsSab, input.namespaceCount), input.nsIndex);
  const notNow = unsafeState(marks);
  if (notNow !== null) return done('skipped', notNow);
  const incarnation = marks.incarnation;
  const activeSegment = marks.activeSegment;
  const directory = input.directory;
  removeCompactionLeftovers(directory);
  const segments = listSegments(directory);
  for (const n of segments) report.logBytesBefore += fs.statSync(segmentPath(directory, n)).size;
  const judge = new LivenessJudge(input);
  const usage = segments.filter((n) => n < activeSegment).map((n) => measureSegment(directory, n, judge));
  report.segmentsScanned = usage.length;
  if (judge.stale) return done('aborted', 'index-resized');
  const plan = planCompaction(usage, { activeSegmentNumber: activeSegment, liveRatioMax: input.liveRatioMax, liveBytesPerRunMax: input.segmentBytes });
  if (plan.runs.length === 0) return done('nothing-to-do');
  const onStep = hooks.onStep ?? (() => undefined);
  const prepared = plan.runs
    .map((run) => rewrite(directory, run, judge, onStep))
    .filter((p) => {
      // The store moved on since the plan was made: a lone segment that loses nothing stays as it is.
      const pointless = p.dropped === 0 && p.run.segments.length === 1;
      if (pointless) p.output?.discard();
      return !pointless;
    });
  const waitStarted = performance.now();
  const blocked = judge.stale ? 'index-resized' : await waitUntilDurable(marks, incarnation, input.durableWaitMsMax);
  report.durableWaitMs = performance.now() - waitStarted;
  if (blocked !== null) {
    for (const p of prepared) p.output?.discard();
    return done('aborted', blocked);
  }
  for (let i = 0; i < prepared.length; i++) {
    const p = prepared[i];
    // Narrow the window in which a restarting worker lists segments we are about to remove.
    if (marks.incarnation !== incarnation) {
      for (const rest of prepared.slice(i)) rest.output?.discard();
      return done('aborted', 'worker-restarted');
    }
    commitRun(directory, p.run.segments, p.output?.file ?? null, onStep);
    const keptBytes = p.output?.keptBytes ?? 0;
    report.segmentsRewritten += p.output === null ? 0 : 1;
    report.segmentsDeleted += p.run.segments.length - (p.output === null ? 0 : 1);
    report.recordsKept += p.output?.keptCount ?? 0;
    report.recordsDropped += p.dropped;
    report.bytesReclaimed += p.inputBytes - keptBytes;
  }
  return done('compacted');
}

function emptyReport(directory: string): CompactionReport {
  return {
    directory,
    outcome: 'nothing-to-do',
    reason: null,
    error: null,
    segmentsScanned: 0,
    segmentsRewritten: 0,
    segmentsDeleted: 0,
    recordsKept: 0,
    recordsDropped: 0,
    logBytesBefore: 0,
    bytesReclaimed: 0,
    durableWaitMs: 0,
    elapsedMs: 0,
  };
}

/** A failure as a report: errors cross the thread as data with their code, not as message text. */
export function failedReport(directory: string, err: unknown): CompactionReport {
  const report = emptyReport(directory);
  report.outcome = 'failed';
  const failure = (err as { failure?: unknown }).failure;
  report.error = {
    code: err instanceof AerieError ? err.code : Status.SERVER_ERROR,
    message: String((err as Error)?.message ?? err),
    failure: typeof failure === 'string' ? failure : null,
  };
  return report;
}

function segmentPath(directory: string, segmentNumber: number): string {
  return path.join(directory, segmentFileName(segmentNumber));
}

function unsafeState(marks: LogWatermarks): CompactionReason | null {
  if (marks.activeSegment === 0) return 'log-not-open';
  if (marks.isFailed) return 'log-failed';
  if (marks.storeAhead) return 'store-ahead-of-log';
  return null;
}

/** Bytes of one sealed segment a rewrite would keep, at most (a removal counted as a tombstone). */
export function measureSegment(directory: string, segmentNumber: number, judge: LivenessJudge): SegmentUsage {
  let liveBytes = 0;
  const { fileBytes } = forEachSealedRecord(segmentPath(directory, segmentNumber), (view) => {
    const verdict = judge.judge(view);
    if (verdict === 'keep') liveBytes += view.spanBytes;
    else if (verdict === 'removal') liveBytes += view.kind === LogRecordKind.PUT && !isExpired(view) ? view.spanBytes : TOMBSTONE_BYTES;
  });
  return { segmentNumber, totalBytes: fileBytes, liveBytes };
}

/**
 * Writes the records of `run` that must survive to a synced temporary file (none: no file). A
 * first pass finds each removed digest's last removal in the run (compaction-liveness.ts); the
 * second keeps that one, as a tombstone, and drops the removals before it. The store may move
 * between the passes: a record it now shows removed but the first pass did not is kept as a
 * tombstone, and one it shows replaced is dropped (its successor is covered by the barrier).
 */
function rewrite(directory: string, run: CompactionRun, judge: LivenessJudge, onStep: StepHook): PreparedRun {
  const last = run.segments[run.segments.length - 1];
  const prepared: PreparedRun = { run, output: null, inputBytes: 0, dropped: 0 };
  const lastRemoval = new Map<string, number>();
  const digestKey = (view: LogRecordView) => Buffer.from(view.buffer.buffer, view.buffer.byteOffset).toString('latin1', view.digestOffset, view.digestOffset + DIGEST_BYTES);
  for (const segmentNumber of run.segments) {
    forEachSealedRecord(segmentPath(directory, segmentNumber), (view) => {
      if (judge.judge(view) !== 'removal') return;
      const key = digestKey(view);
      if (lastRemoval.has(key) || lastRemoval.size < COMPACTION_REMOVALS_PER_RUN_MAX) lastRemoval.set(key, view.sequence);
    });
  }
  try {
    for (const segmentNumber of run.segments) {
      const { fileBytes } = forEachSealedRecord(segmentPath(directory, segmentNumber), (view) => {
        const verdict = judge.judge(view);
        if (verdict === 'drop' || (verdict === 'removal' && (lastRemoval.get(digestKey(view)) ?? -1) > view.sequence)) {
          prepared.dropped++;
          return;
        }
        prepared.output ??= new RunOutput(directory, last);
        // A put of a digest the store no longer holds shrinks to a tombstone only once expired.
        // Otherwise it stays whole: the absence may be memory damage, and this is the durable copy a
        // repair restores from; replay is the same either way (what removed it comes later).
        prepared.output.add(view, verdict === 'removal' && view.kind === LogRecordKind.PUT && isExpired(view));
      });
      prepared.inputBytes += fileBytes;
    }
  } catch (err) {
    prepared.output?.discard();
    throw err;
  }
  prepared.output?.finish(onStep, last);
  return prepared;
}

/**
 * Waits until every write the judge may have seen in the store is durable in the log: first for
 * the drain that was under way (if any) to end, then for the durable sequence to reach the
 * appended one it published. Returns why it gave up, or null.
 */
async function waitUntilDurable(marks: LogWatermarks, incarnation: number, waitMsMax: number): Promise<CompactionReason | null> {
  const deadline = performance.now() + waitMsMax;
  const epoch = marks.drainEpoch;
  const drainUnderWay = (epoch & 1) === 1;
  let appended = -1;
  for (;;) {
    if (marks.isFailed) return 'log-failed';
    if (marks.incarnation !== incarnation) return 'worker-restarted';
    if (marks.storeAhead) return 'store-ahead-of-log';
    if (appended < 0 && !(drainUnderWay && marks.drainEpoch === epoch)) appended = marks.appendedSequence;
    if (appended >= 0 && marks.durableSequence >= appended) return null;
    if (performance.now() >= deadline) return 'durable-wait-timeout';
    await new Promise<void>((resolve) => setTimeout(resolve, COMPACTION_POLL_MS));
  }
}

/** Whether a put's void-time has passed (it replays as a removal). */
function isExpired(view: LogRecordView): boolean {
  return hasExpired(view.voidTime, nowVoidSec(Date.now()));
}
