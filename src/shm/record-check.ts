// Checks one stored record against its index entry: lengths, the header's copy of the index's
// fields, and that key and bins are whole msgpack values. The verify job runs it over a worker's
// memory from the pool; the worker runs it before a repair touches a record.

import { DIGEST_BYTES } from '../constants';
import type { Reader } from '../protocol/reader';
import { Arena } from './arena';
import type { IndexTable } from './index-table';
import { RECORD_HEADER_BYTES, RecordHeader } from './record-store';

/** A record that failed its check, as the verify report lists it and a repair receives it. */
export interface VerifyProblem {
  slot: number;
  /** The digest the index holds (hex). */
  digest: string;
  problem: string;
  /** The digest in the record's header, when the header can be read and differs (hex). */
  headerDigest?: string;
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
  const offset = Arena.offsetInBlock(loc);
  if (offset + RECORD_HEADER_BYTES > block.byteLength) return `location ${loc} lies past the end of its block`;
  const view = new DataView(block);
  const bytes = new Uint8Array(block);
  const total = view.getUint32(offset + RecordHeader.TOTAL_BYTES, true);
  const keyBytes = view.getUint32(offset + RecordHeader.KEY_BYTES, true);
  const binsBytes = view.getUint32(offset + RecordHeader.BINS_BYTES, true);
  if (total !== RECORD_HEADER_BYTES + keyBytes + binsBytes || offset + total > block.byteLength) {
    return `record lengths do not add up (total ${total}, key ${keyBytes}, bins ${binsBytes})`;
  }
  index.copyDigest(slot, digest, 0);
  for (let i = 0; i < DIGEST_BYTES; i++) {
    if (bytes[offset + RecordHeader.DIGEST + i] !== digest[i]) return 'record header digest differs from the index';
  }
  if (view.getUint16(offset + RecordHeader.GENERATION, true) !== index.generation(slot)) return 'record generation differs from the index';
  if (view.getUint16(offset + RecordHeader.SET_ID, true) !== index.setId(slot)) return 'record set id differs from the index';
  if (view.getUint32(offset + RecordHeader.VOID_TIME, true) !== index.voidTime(slot)) return 'record void-time differs from the index';
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
