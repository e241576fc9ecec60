// Reads one directory of log segments (a worker's log, or a worker's part of a snapshot) without
// changing it, and describes every damaged region: where it is (file, byte offset, length), what
// recovery would call it, the sequences of the valid records around it, and what its bytes still
// say about the records it held. Recovery's own reader does the reading (skipping corruption and
// leaving a torn tail in place), so a region found here is exactly one a cold start stops at or
// cuts; the gaps between the valid records it delivers are the regions.

import * as fs from 'node:fs';
import { DIGEST_BYTES, LOG_MAGIC, LOG_RECORD_ALIGN_BYTES, LOG_RECORD_BYTES_MAX, LOG_RECORD_HEADER_BYTES, OFFLINE_HEADERS_LISTED_MAX, OFFLINE_WALK_BYTES_MAX, PARTITION_COUNT } from '../constants';
import { partitionOf } from '../partition/digest';
import { LogRecordKind, O_BINS_BYTES, O_DIGEST, O_GENERATION, O_KEY_BYTES, O_KIND, O_LAST_UPDATE_MS, O_MAGIC, O_PARTITION_ID, O_TOTAL_BYTES, type LogRecordView } from '../storage/log-record';
import { type BadRecordReason, recoverLog } from '../storage/recovery';
import { listSegments, segmentFileName } from '../storage/segment-files';
import * as path from 'node:path';

/** What a damaged record's header still says (unchecked: its CRC failed, so only a guess). */
export interface DamagedHeader {
  digest: string;
  partitionId: number;
  kind: number;
  generation: number;
  lastUpdateMs: number;
}

export interface DamagedRegion {
  file: string;
  segmentNumber: number;
  offset: number;
  bytes: number;
  /** torn-tail: the end of a log's last segment, never synced; corrupt: synced bytes gone bad. */
  kind: 'torn-tail' | 'corrupt';
  reason: BadRecordReason | 'unknown';
  /** Sequence of the last valid record before the region in this directory (0: none). */
  sequenceBefore: number;
  /** Sequence of the first valid record after it (0: none, the region runs to the end). */
  sequenceAfter: number;
  /** Record headers that still hang together, walking from the region's start by their lengths. */
  headers: DamagedHeader[];
  /** Whether that walk covered the whole region (then `headers` is every record it held). */
  headersComplete: boolean;
  /**
   * Records the region held: `headers.length` when complete; otherwise what the sequence gap
   * around it leaves once the other regions in the same gap are counted (at least 1).
   */
  records: number;
}

export interface LogScan {
  directory: string;
  segments: number[];
  records: number;
  /** First and last valid sequences (0 when none). */
  firstSequence: number;
  lastSequence: number;
  damage: DamagedRegion[];
}

/**
 * Scans `directory`. `onRecord` sees each valid record, in log order (the view is reused).
 * `lastIsTail`: whether a bad end of the last segment can be a torn tail (a log), or is damage
 * like any other (a snapshot part, complete before it existed).
 */
export function scanLog(directory: string, lastIsTail: boolean, onRecord?: (view: LogRecordView) => void): LogScan {
  const segments = listSegments(directory);
  const scan: LogScan = { directory, segments, records: 0, firstSequence: 0, lastSequence: 0, damage: [] };
  // Per segment: end offset of its last valid record, and its first and last sequences.
  const seen = new Map<number, { end: number; first: number; last: number }>();
  let previousSequence = 0;
  const region = (segment: number, from: number, to: number, before: number, after: number): DamagedRegion => ({
    file: path.join(directory, segmentFileName(segment)),
    segmentNumber: segment,
    offset: from,
    bytes: to - from,
    kind: 'corrupt',
    reason: 'unknown',
    sequenceBefore: before,
    sequenceAfter: after,
    headers: [],
    headersComplete: false,
    records: 0,
  });
  const report = recoverLog({
    directory,
    skipCorrupt: true,
    truncateTornTail: false,
    tornTailPossible: lastIsTail,
    onRecord: (view, segment, offset) => {
      let s = seen.get(segment);
      if (s === undefined) seen.set(segment, (s = { end: 0, first: view.sequence, last: 0 }));
      if (offset > s.end) scan.damage.push(region(segment, s.end, offset, previousSequence, view.sequence));
      s.end = offset + view.spanBytes;
      s.last = previousSequence = view.sequence;
      if (scan.firstSequence === 0) scan.firstSequence = view.sequence;
      scan.records++;
      onRecord?.(view);
    },
  });
  // What follows a segment's last valid record (all of it when it has none) is damage too.
  for (let i = 0; i < segments.length; i++) {
    const s = seen.get(segments[i]);
    const size = fs.statSync(path.join(directory, segmentFileName(segments[i]))).size;
    const end = s?.end ?? 0;
    if (end >= size) continue;
    let before = 0;
    for (let j = i; j >= 0 && before === 0; j--) before = seen.get(segments[j])?.last ?? 0;
    let after = 0;
    for (let j = i + 1; j < segments.length && after === 0; j++) after = seen.get(segments[j])?.first ?? 0;
    scan.damage.push(region(segments[i], end, size, before, after));
  }
  scan.lastSequence = report.lastSequence;
  scan.damage.sort((a, b) => a.segmentNumber - b.segmentNumber || a.offset - b.offset);
  for (const d of scan.damage) {
    const known = report.skippedRegions.find((r) => r.file === d.file && r.offset === d.offset);
    if (known !== undefined) d.reason = known.reason;
    const torn = report.tornTail !== null && report.tornTail.file === d.file && report.tornTail.offset === d.offset;
    if (torn) d.reason = report.tornTail!.reason;
    if (torn && lastIsTail) d.kind = 'torn-tail';
    walkHeaders(d);
  }
  countRecords(scan.damage);
  return scan;
}

/**
 * Sets each region's record count. Regions with no valid record between them (the end of one
 * segment, the start of the next) share one sequence gap; it is counted once: the records named
 * by headers, and what the gap leaves over charged to the first region whose headers stop short.
 */
function countRecords(regions: DamagedRegion[]): void {
  for (let i = 0; i < regions.length; ) {
    let j = i;
    while (j < regions.length && regions[j].sequenceBefore === regions[i].sequenceBefore && regions[j].sequenceAfter === regions[i].sequenceAfter) j++;
    const group = regions.slice(i, j);
    const named = group.reduce((a, r) => a + r.headers.length, 0);
    const { sequenceBefore: before, sequenceAfter: after } = group[0];
    let leftOver = before > 0 && after > 0 ? Math.max(after - before - 1 - named, 0) : 0;
    for (const r of group) {
      r.records = r.headers.length;
      if (r.headersComplete) continue;
      r.records += leftOver;
      leftOver = 0;
      if (r.records === 0) r.records = 1; // something was there, even if the gap says otherwise
    }
    i = j;
  }
}

/** Fills `region.headers` from its bytes, record by record, while the headers hang together. */
function walkHeaders(region: DamagedRegion): void {
  const length = Math.min(region.bytes, OFFLINE_WALK_BYTES_MAX);
  const bytes = Buffer.alloc(length);
  const fd = fs.openSync(region.file, 'r');
  try {
    fs.readSync(fd, bytes, 0, length, region.offset);
  } finally {
    fs.closeSync(fd);
  }
  let at = 0;
  while (at + LOG_RECORD_HEADER_BYTES <= length && region.headers.length < OFFLINE_HEADERS_LISTED_MAX) {
    const header = plausibleHeader(bytes, at);
    if (header === null) break;
    const span = Math.ceil(bytes.readUInt32LE(at + O_TOTAL_BYTES) / LOG_RECORD_ALIGN_BYTES) * LOG_RECORD_ALIGN_BYTES;
    if (at + span > region.bytes) break;
    region.headers.push(header);
    at += span;
  }
  region.headersComplete = at === region.bytes;
}

/** A header whose magic, length, kind and partition agree with each other and its digest, or null. */
function plausibleHeader(b: Buffer, at: number): DamagedHeader | null {
  if (b.readUInt32LE(at + O_MAGIC) !== LOG_MAGIC) return null;
  const total = b.readUInt32LE(at + O_TOTAL_BYTES);
  if (total < LOG_RECORD_HEADER_BYTES || total > LOG_RECORD_BYTES_MAX) return null;
  if (b.readUInt32LE(at + O_KEY_BYTES) + b.readUInt32LE(at + O_BINS_BYTES) + LOG_RECORD_HEADER_BYTES !== total) return null;
  const kind = b[at + O_KIND];
  const partitionId = b.readUInt16LE(at + O_PARTITION_ID);
  if (kind < LogRecordKind.PUT || kind > LogRecordKind.TRUNCATE || partitionId >= PARTITION_COUNT) return null;
  // A truncate marker has a zero digest and partition 0; anything else must hash to its partition.
  if (kind !== LogRecordKind.TRUNCATE && partitionOf(b, at + O_DIGEST) !== partitionId) return null;
  return {
    digest: b.toString('hex', at + O_DIGEST, at + O_DIGEST + DIGEST_BYTES),
    partitionId,
    kind,
    generation: b.readUInt16LE(at + O_GENERATION),
    lastUpdateMs: b.readDoubleLE(at + O_LAST_UPDATE_MS),
  };
}
