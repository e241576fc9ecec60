// The set names of a file-backed namespace, in id order: log records carry a set's 12-bit id, so
// the names must survive a restart with the same ids. Written by the primary when a set is first
// used (rare), atomically: a temp file, fdatasync, rename, directory fsync.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { AerieError, Status } from '../errors';

const FILE = 'sets.json';

export function namespaceDirectory(dataDir: string, ns: string): string {
  return path.join(dataDir, ns);
}

/** The names saved for ids 1, 2, …; empty when none were saved. */
export function loadSetNames(dir: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new AerieError(Status.SERVER_ERROR, `cannot read ${path.join(dir, FILE)}: ${(err as Error).message}`);
  }
  let names: unknown;
  try {
    names = JSON.parse(text);
  } catch {
    names = null;
  }
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
    throw new AerieError(Status.SERVER_ERROR, `${path.join(dir, FILE)} is not a list of set names`);
  }
  return names as string[];
}

/**
 * Saves the names durably; throws (and the write that needed the new set fails, nothing applied)
 * if it cannot: SERVER_MEM when the device is full, as every disk stop-writes refusal.
 */
export function saveSetNames(dir: string, names: readonly string[]): void {
  try {
    writeSetNames(dir, names);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
    throw new AerieError(Status.SERVER_MEM, `stop-writes: cannot record a new set name in ${dir}: the device is full (${code})`);
  }
}

function writeSetNames(dir: string, names: readonly string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `${FILE}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, JSON.stringify(names));
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, FILE));
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}
