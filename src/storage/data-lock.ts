// The mark a running node leaves on each data directory it writes: `<dataDir>/aerie.lock`, holding
// its process id. Offline tools (`aerie verify --data-dir`) refuse a directory whose lock names a
// live process, and a second node refuses to start on it. A node killed with SIGKILL leaves the
// file behind; its pid is then dead (or, rarely, reused by a process that is not a node), and the
// lock is stale: ignored and overwritten. Linux's /proc tells a node from another process; where
// there is no /proc, any live pid holds the lock and the message says how to clear it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DATA_LOCK_FILE } from '../constants';
import { AerieError, Status } from '../errors';
import { ensureDirectory, syncDirectory } from './segment-files';

interface LockFile {
  pid: number;
  startedAtMs: number;
}

export function lockFileOf(dataDir: string): string {
  return path.join(dataDir, DATA_LOCK_FILE);
}

function isNodeProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return /node|aerie/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
  } catch {
    return !fs.existsSync('/proc/self');
  }
}

/** The pid of the live node holding `dataDir`, or null when none does (no lock, or a stale one). */
export function lockHolder(dataDir: string): number | null {
  let lock: LockFile;
  try {
    lock = JSON.parse(fs.readFileSync(lockFileOf(dataDir), 'utf8')) as LockFile;
  } catch {
    return null; // absent, or a half-written file of a node that died writing it
  }
  return Number.isSafeInteger(lock?.pid) && lock.pid > 0 && isNodeProcess(lock.pid) ? lock.pid : null;
}

/**
 * Marks `dataDir` as held by this process. Refuses (FAIL_FORBIDDEN) when another live node holds
 * it; this process may take it again (tests start nodes one after another in one process).
 */
export function acquireDataLock(dataDir: string): void {
  const holder = lockHolder(dataDir);
  if (holder !== null && holder !== process.pid) {
    throw new AerieError(Status.FAIL_FORBIDDEN, `${dataDir} is in use by the node with pid ${holder} (${lockFileOf(dataDir)}); stop it first, or remove that file if no node runs there`);
  }
  ensureDirectory(dataDir);
  const file = lockFileOf(dataDir);
  try {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ pid: process.pid, startedAtMs: Date.now() } satisfies LockFile));
    fs.renameSync(`${file}.tmp`, file);
    syncDirectory(dataDir);
  } catch (err) {
    // A full device must not keep the node from starting (it serves reads and deletes there):
    // the lock is a guard for offline tools, not a condition of serving.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
    fs.rmSync(`${file}.tmp`, { force: true });
    console.error(`aerie: no room to write ${file} (${code}); offline tools cannot tell that this node holds ${dataDir}`);
  }
}

/** Removes this process's lock from `dataDir` (a lock of another process is left alone). */
export function releaseDataLock(dataDir: string): void {
  const file = lockFileOf(dataDir);
  try {
    const lock = JSON.parse(fs.readFileSync(file, 'utf8')) as LockFile;
    if (lock.pid === process.pid) fs.rmSync(file, { force: true });
  } catch {
    // Already gone or unreadable: nothing of ours to remove.
  }
}
