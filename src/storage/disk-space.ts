// The free space of the device a log lives on, and the state a namespace's log is in because of
// it. A full device must be a state with a name, not a stream of failed writes: Aerospike stops
// writes while a device's available share is under `stop-writes-avail-pct` and goes on serving
// reads and deletes; Aerie does the same with a reserve (docs/storage.md, "A full device").
//
// statfs costs a few microseconds, so a worker re-reads it after every DISK_CHECK_APPENDED_BYTES
// it appends and every DISK_CHECK_INTERVAL_MS, and between two reads subtracts its own appends
// from the last figure.

import * as fs from 'node:fs';
import type { StorageFaults } from './storage-faults';

/** A log's state as the namespace sees it; published per worker in the stats block (numbers). */
export const DiskState = {
  /** Free space above the reserve: everything goes. */
  OK: 0,
  /** Free space under the reserve: writes refused (SERVER_MEM), deletes and truncates go on. */
  STOP_WRITES: 1,
  /** A write found no space (ENOSPC) or free space is under the delete floor: writes, deletes and truncates refused until space returns. */
  FULL: 2,
  /** An I/O error (EIO, a failed fdatasync): everything refused until the node restarts. */
  FAILED: 3,
} as const;
export type DiskStateCode = (typeof DiskState)[keyof typeof DiskState];

export const DISK_STATE_NAMES = ['ok', 'stop-writes', 'full', 'failed'] as const;

export function diskStateName(state: number): string {
  return DISK_STATE_NAMES[state] ?? `unknown-${state}`;
}

export interface DiskSpaceOptions {
  /** Any path on the device (the log directory). */
  directory: string;
  minFreeBytes: number;
  minFreePct: number;
  faults?: StorageFaults | null;
}

export class DiskSpace {
  readonly directory: string;
  private readonly minFreeBytes: number;
  private readonly minFreePct: number;
  private readonly faults: StorageFaults | null;
  /** Bytes available to the process at the last read; -1 before the first or when statfs failed. */
  freeBytes = -1;
  totalBytes = -1;
  /** max(minFreeBytes, minFreePct of the device): under it, writes stop. */
  reserveBytes: number;
  checkedAtMs = 0;
  /** The last statfs error's message, or null. */
  error: string | null = null;

  constructor(options: DiskSpaceOptions) {
    if (!(options.minFreeBytes >= 0 && options.minFreePct >= 0 && options.minFreePct < 100)) {
      throw new RangeError(`DiskSpace: minFreeBytes ${options.minFreeBytes} and minFreePct ${options.minFreePct} must be >= 0 (pct < 100)`);
    }
    this.directory = options.directory;
    this.minFreeBytes = options.minFreeBytes;
    this.minFreePct = options.minFreePct;
    this.faults = options.faults ?? null;
    this.reserveBytes = options.minFreeBytes;
  }

  /**
   * Reads the device's free space. A statfs that fails leaves the last figures (a device that
   * cannot be asked is judged by its writes, which fail on their own).
   */
  check(nowMs: number): void {
    this.checkedAtMs = nowMs;
    try {
      const s = fs.statfsSync(this.directory);
      // bavail, not bfree: what an unprivileged process may still use, as df reports it.
      this.freeBytes = s.bavail * s.bsize;
      this.totalBytes = s.blocks * s.bsize;
      this.reserveBytes = Math.max(this.minFreeBytes, Math.floor((this.totalBytes * this.minFreePct) / 100));
      if (this.faults?.lowSpace === true) this.freeBytes = Math.min(this.freeBytes, Math.max(0, this.reserveBytes - 1));
      this.error = null;
    } catch (err) {
      this.error = (err as Error).message;
    }
  }
}
