// The verify job: walks one namespace's index on one worker from a background thread and checks
// every record it points to (location inside a block, header agreeing with the index, lengths
// adding up, key and bins well-formed msgpack). It reads shared memory while the worker keeps
// writing, so each record is checked under the store's seqlock and re-checked if it changed.

import { DIGEST_BYTES, VERIFY_PROBLEMS_LISTED_MAX } from '../constants';
import { Reader } from '../protocol/reader';
import { Arena } from '../shm/arena';
import { IndexTable } from '../shm/index-table';
import { RECORD_HEADER_BYTES, RecordHeader } from '../shm/record-store';
import { checkRecord, type VerifyProblem } from '../shm/record-check';
import { attachProgressWord, finishProgress, noteProgress } from '../shm/job-progress';

export type { VerifyProblem } from '../shm/record-check';

export interface VerifyInput {
  indexSab: SharedArrayBuffer;
  blocks: (SharedArrayBuffer | null)[];
  controlSab: SharedArrayBuffer;
  /**
   * 1 for each partition this worker masters now (4096 entries): its records there count as
   * records, every other live entry is a replica's copy. Absent: every entry counts as a record.
   */
  masters?: Uint8Array;
  /** A word the job counts its index entries walked in (src/shm/job-progress.ts); absent: none asked. */
  progressSab?: SharedArrayBuffer;
}

export interface VerifyReport {
  /** Records of the partitions this worker masters (a record once, whatever its copies). */
  records: number;
  /** Every live entry of the index: master records and replica copies. */
  copies: number;
  checked: number;
  /** Records that changed under every attempt to check them: neither good nor bad. */
  changing: number;
  problems: VerifyProblem[];
  problemCount: number;
  /** The worker replaced its index while we walked it: re-run for a complete answer. */
  stale: boolean;
}

const ATTEMPTS = 4;

export function verifyStore(input: VerifyInput): VerifyReport {
  const index = IndexTable.attach(input.indexSab);
  const control = new Int32Array(input.controlSab);
  const reader = new Reader(new Uint8Array(0));
  const digest = Buffer.alloc(DIGEST_BYTES);
  const report: VerifyReport = { records: 0, copies: 0, checked: 0, changing: 0, problems: [], problemCount: 0, stale: false };
  const progress = attachProgressWord(input.progressSab);
  for (let slot = index.nextLive(0); slot >= 0; slot = index.nextLive(slot + 1)) {
    report.copies++;
    noteProgress(progress, report.copies);
    if (input.masters === undefined || input.masters[index.partitionId(slot)] === 1) report.records++;
    let verdict: string | null | undefined;
    for (let attempt = 0; attempt < ATTEMPTS && verdict === undefined; attempt++) {
      const before = Atomics.load(control, 0);
      if ((before & 1) === 1) continue;
      const found = checkRecord(index, input.blocks, slot, digest, reader);
      if (found === undefined) report.stale = true;
      if (Atomics.load(control, 0) === before) verdict = found;
    }
    if (verdict === undefined) {
      report.changing++;
      continue;
    }
    report.checked++;
    if (verdict !== null) {
      report.problemCount++;
      if (report.problems.length < VERIFY_PROBLEMS_LISTED_MAX) {
        index.copyDigest(slot, digest, 0);
        const problem: VerifyProblem = { slot, digest: digest.toString('hex'), problem: verdict };
        const header = headerDigestOf(index, input.blocks, slot);
        if (header !== null && header !== problem.digest) problem.headerDigest = header;
        report.problems.push(problem);
      }
    }
  }
  if (index.retired) report.stale = true;
  finishProgress(progress, report.copies);
  return report;
}

/** The digest in the header of the record `slot` points to, when it lies inside its block (hex). */
function headerDigestOf(index: IndexTable, blocks: (SharedArrayBuffer | null)[], slot: number): string | null {
  const loc = index.location(slot);
  const block = blocks[Arena.blockIndexOf(loc)];
  const offset = Arena.offsetInBlock(loc);
  if (!block || offset + RECORD_HEADER_BYTES > block.byteLength) return null;
  return Buffer.from(block, offset + RecordHeader.DIGEST, DIGEST_BYTES).toString('hex');
}
