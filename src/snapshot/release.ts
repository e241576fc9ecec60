// Releases log segments a snapshot made unnecessary: once the base snapshot covers a worker's log
// up to sequence Q, a cold start skips every record at or below Q, so a segment whose records are
// all at or below Q is dead weight. A segment's last sequence is one less than the next segment's
// first, so only segments followed by another are judged; the last (active) one never is.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOG_MAGIC } from '../constants';
import { O_MAGIC, O_SEQUENCE_HIGH, O_SEQUENCE_LOW } from '../storage/log-record';
import { listSegments, segmentFileName, syncDirectory } from '../storage/segment-files';

/** The first record's sequence in a segment, or -1 when the segment starts with no valid header. */
function firstSequence(file: string): number {
  // The header through the sequence's high word: the rest is not needed.
  const header = Buffer.alloc(O_SEQUENCE_HIGH + 4);
  let fd = -1;
  try {
    fd = fs.openSync(file, 'r');
    if (fs.readSync(fd, header, 0, header.length, 0) < header.length) return -1;
  } catch {
    return -1;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
  if (header.readUInt32LE(O_MAGIC) !== LOG_MAGIC) return -1;
  return header.readUInt32LE(O_SEQUENCE_LOW) + header.readUInt32LE(O_SEQUENCE_HIGH) * 0x1_0000_0000;
}

/** Deletes the segments of `directory` whose records are all at or below `sequence`; returns them. */
export function releaseSegments(directory: string, sequence: number): number[] {
  let segments: number[];
  try {
    segments = listSegments(directory);
  } catch {
    return [];
  }
  const released: number[] = [];
  for (let i = 0; i + 1 < segments.length; i++) {
    const next = firstSequence(path.join(directory, segmentFileName(segments[i + 1])));
    if (next < 0 || next > sequence + 1) break;
    fs.rmSync(path.join(directory, segmentFileName(segments[i])), { force: true });
    released.push(segments[i]);
  }
  if (released.length > 0) syncDirectory(directory);
  return released;
}
