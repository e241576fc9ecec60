// The verify job: walks one namespace's index on one worker from a background thread and checks
// every record it points to (location inside a block, header agreeing with the index, lengths
// adding up, key and bins well-formed msgpack). It reads shared memory while the worker keeps
// writing, so each record is checked under the store's seqlock and re-checked if it changed.

import { DIGEST_BYTES } from '../constants';
import { Reader } from '../protocol/reader';
import { Arena } from '../shm/arena';
import { IndexTable } from '../shm/index-table';
import { RECORD_HEADER_BYTES } from '../shm/record-store';

export interface VerifyInput {
  indexSab: SharedArrayBuffer;
  blocks: (SharedArrayBuffer | null)[];
  controlSab: SharedArrayBuffer;
  /**
   * 1 for each partition this worker masters now (4096 entries): its records there count as
   * records, every other live entry is a replica's copy. Absent: every entry counts as a record.
   */
  masters?: Uint8Array;
}

export interface VerifyProblem {
  slot: number;
  /** The digest the index holds (hex). */
  digest: string;
  problem: string;
  /** The digest in the record's header, when the header can be read and differs (hex). */
  headerDigest?: string;
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
const PROBLEMS_LISTED_MAX = 100;

export function verifyStore(input: VerifyInput): VerifyReport {
  const index = IndexTable.attach(input.indexSab);
  const control = new Int32Array(input.controlSab);
  const reader = new Reader(new Uint8Array(0));
  const digest = Buffer.alloc(DIGEST_BYTES);
  const report: VerifyReport = { records: 0, copies: 0, checked: 0, changing: 0, problems: [], problemCount: 0, stale: false };
  for (let slot = index.nextLive(0); slot >= 0; slot = index.nextLive(slot + 1)) {
    report.copies++;
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
      if (report.problems.length < PROBLEMS_LISTED_MAX) {
        index.copyDigest(slot, digest, 0);
        const problem: VerifyProblem = { slot, digest: digest.toString('hex'), problem: verdict };
        const header = headerDigestOf(index, input.blocks, slot);
        if (header !== null && header !== problem.digest) problem.headerDigest = header;
        report.problems.push(problem);
      }
    }
  }
  if (index.retired) report.stale = true;
  return report;
}

/** The digest in the header of the record `slot` points to, when it lies inside its block (hex). */
function headerDigestOf(index: IndexTable, blocks: (SharedArrayBuffer | null)[], slot: number): string | null {
  const loc = index.location(slot);
  const block = blocks[Arena.blockIndexOf(loc)];
  const offset = (loc & 0x1fffff) * 8;
  if (!block || offset + RECORD_HEADER_BYTES > block.byteLength) return null;
  return Buffer.from(block, offset + 8, DIGEST_BYTES).toString('hex');
}

/**
 * null when the record at `slot` is sound, a description of what is wrong with it, or undefined
 * when it cannot be judged now (its block is not known yet).
 */
export function checkRecord(index: IndexTable, blocks: (SharedArrayBuffer | null)[], slot: number, digest: Buffer, reader: Reader): string | null | undefined {
  if (!index.isLive(slot)) return null; // removed since we found it: nothing to check
  const loc = index.location(slot);
  const block = blocks[Arena.blockIndexOf(loc)];
  // A block made moments ago may not have reached the primary yet: unknown, not wrong.
  if (!block) return undefined;
  const offset = (loc & 0x1fffff) * 8;
  if (offset + RECORD_HEADER_BYTES > block.byteLength) return `location ${loc} lies past the end of its block`;
  const view = new DataView(block);
  const bytes = new Uint8Array(block);
  const total = view.getUint32(offset, true);
  const keyBytes = view.getUint32(offset + 40, true);
  const binsBytes = view.getUint32(offset + 44, true);
  if (total !== RECORD_HEADER_BYTES + keyBytes + binsBytes || offset + total > block.byteLength) {
    return `record lengths do not add up (total ${total}, key ${keyBytes}, bins ${binsBytes})`;
  }
  index.copyDigest(slot, digest, 0);
  for (let i = 0; i < DIGEST_BYTES; i++) {
    if (bytes[offset + 8 + i] !== digest[i]) return 'record header digest differs from the index';
  }
  if (view.getUint16(offset + 4, true) !== index.generation(slot)) return 'record generation differs from the index';
  if (view.getUint16(offset + 6, true) !== index.setId(slot)) return 'record set id differs from the index';
  if (view.getUint32(offset + 28, true) !== index.voidTime(slot)) return 'record void-time differs from the index';
  const keyStart = offset + RECORD_HEADER_BYTES;
  try {
    if (keyBytes > 0) {
      reader.reset(bytes, keyStart, keyStart + keyBytes);
      reader.skipValue();
      if (reader.pos !== keyStart + keyBytes) return 'stored key has trailing bytes';
    }
    reader.reset(bytes, keyStart + keyBytes, keyStart + keyBytes + binsBytes);
    reader.skipValue();
    if (reader.pos !== keyStart + keyBytes + binsBytes) return 'stored bins have trailing bytes';
  } catch (err) {
    return `stored key or bins are not valid msgpack: ${(err as Error).message}`;
  }
  return null;
}
