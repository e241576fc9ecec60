// Injected storage faults, for tests and drills: the log writer and the free-space monitor ask
// this object before each write(), fdatasync and statfs, and fail as the real call would (an
// Error carrying the errno code). It is no mock: every other call goes to the real file system.
// A node creates one per worker only when `supervisor.faultInjection` is on (the FAULT request
// sets it); without it the writer is given none and each check is one null test.

/** What an operator or test can make the storage layer suffer (the FAULT op's disk kinds). */
export const STORAGE_FAULT_KINDS = ['disk-full', 'disk-eio', 'sync-eio', 'disk-low', 'disk-ok'] as const;
export type StorageFaultKind = (typeof STORAGE_FAULT_KINDS)[number];

export function isStorageFaultKind(kind: string): kind is StorageFaultKind {
  return (STORAGE_FAULT_KINDS as readonly string[]).includes(kind);
}

/** An Error shaped as Node's fs errors are: `code` is the errno name. */
export function errnoError(code: string, syscall: string): NodeJS.ErrnoException {
  const error = new Error(`${code}: injected fault, ${syscall}`) as NodeJS.ErrnoException;
  error.code = code;
  error.syscall = syscall;
  return error;
}

export class StorageFaults {
  /** errno every write() fails with (ENOSPC, EIO), or null. */
  writeErrno: string | null = null;
  /** errno every fdatasync fails with, or null. */
  syncErrno: string | null = null;
  /** statfs reports just under the reserve free (the monitor sees a device nearly full). */
  lowSpace = false;

  /**
   * disk-full: write() fails ENOSPC while statfs still shows space (another process filled the
   * device between two reads); disk-low: statfs shows one byte less than the reserve free, writes
   * still succeed; disk-eio:
   * write() fails EIO; sync-eio: fdatasync fails EIO; disk-ok: clears every fault.
   */
  set(kind: StorageFaultKind): void {
    this.writeErrno = kind === 'disk-full' ? 'ENOSPC' : kind === 'disk-eio' ? 'EIO' : kind === 'disk-ok' ? null : this.writeErrno;
    this.syncErrno = kind === 'sync-eio' ? 'EIO' : kind === 'disk-ok' ? null : this.syncErrno;
    this.lowSpace = kind === 'disk-low' ? true : kind === 'disk-ok' ? false : this.lowSpace;
  }

  beforeWrite(): void {
    if (this.writeErrno !== null) throw errnoError(this.writeErrno, 'write');
  }

  beforeSync(): void {
    if (this.syncErrno !== null) throw errnoError(this.syncErrno, 'fdatasync');
  }
}
