// Segment file names, directory listing and directory sync, shared by the writer and recovery.
//
// A log directory holds one worker's segments for one namespace: `seg-000000000001.log`,
// `seg-000000000002.log`, … Numbers only grow; compaction may leave gaps. Other files (a
// compaction's `*.tmp`, say) are not segments and recovery ignores them.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { StorageError } from './storage-error';
import { SEGMENT_NUMBER_DIGITS, SEGMENT_NUMBER_MAX } from '../constants';

const SEGMENT_NAME = new RegExp(`^seg-(\\d{${SEGMENT_NUMBER_DIGITS}})\\.log$`);

export function segmentFileName(segmentNumber: number): string {
  if (!(Number.isInteger(segmentNumber) && segmentNumber >= 1 && segmentNumber <= SEGMENT_NUMBER_MAX)) {
    throw new RangeError(`segment number ${segmentNumber} out of range`);
  }
  return `seg-${String(segmentNumber).padStart(SEGMENT_NUMBER_DIGITS, '0')}.log`;
}

/** The segment number of a file name, or -1 if it is not a segment. */
export function parseSegmentFileName(name: string): number {
  const match = SEGMENT_NAME.exec(name);
  return match === null ? -1 : Number(match[1]);
}

/** The segment numbers in a directory, ascending. A missing directory has none. */
export function listSegments(directory: string): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(directory);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StorageError('bad-directory', `cannot list ${directory}: ${(err as Error).message}`, { file: directory, cause: err });
  }
  const numbers: number[] = [];
  for (const name of names) {
    const segmentNumber = parseSegmentFileName(name);
    if (segmentNumber > 0) numbers.push(segmentNumber);
  }
  return numbers.sort((a, b) => a - b);
}

/** fsync a directory so the names created, renamed or removed in it survive a crash. */
export function syncDirectory(directory: string): void {
  const fd = fs.openSync(directory, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Creates `directory` and any missing parents, syncing each new entry's parent, so a log
 * directory created just before a crash is still there after it.
 */
export function ensureDirectory(directory: string): void {
  const absolute = path.resolve(directory);
  const missing: string[] = [];
  for (let at = absolute; !fs.existsSync(at); at = path.dirname(at)) {
    missing.push(at);
    if (path.dirname(at) === at) break;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      fs.mkdirSync(missing[i]);
    } catch (err) {
      // Another worker of this node may create the same parent at the same moment.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    syncDirectory(path.dirname(missing[i]));
  }
  if (!fs.statSync(absolute).isDirectory()) throw new StorageError('bad-directory', `${absolute} is not a directory`, { file: absolute });
}

/** The log directory of one namespace on one worker under a node's data directory. */
export function logDirectory(dataDirectory: string, namespace: string, workerIndex: number): string {
  return path.join(dataDirectory, namespace, `worker-${String(workerIndex).padStart(2, '0')}`);
}

/** Writes `file` atomically: a temp file, fdatasync, rename, directory fsync. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, text);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  syncDirectory(path.dirname(file));
}
