// BackupError, the AerieError every failure of a backup file is raised as: a stable `failure`
// string beside the numeric code, and the file and byte offset concerned, so a damaged file is
// reported as "this file, this offset" and tests match on codes and failures, never on text.

import { AerieError, Status } from '../errors';

/**
 * Why a backup file could not be written or read. Problems with the file's contents carry
 * Status.PARAMETER (the input is invalid); failures of the local file system and interruptions
 * carry Status.CLIENT_ERROR (they happen on this side of the socket). docs/backup.md lists them,
 * and test/backup/docs.test.ts keeps that list complete.
 */
export const BACKUP_FAILURES = [
  'bad-magic',
  'bad-version',
  'truncated',
  'bad-checksum',
  'frame-too-big',
  'bad-frame',
  'bad-body',
  'count-mismatch',
  'trailing-bytes',
  'io-failed',
  'interrupted',
] as const;
export type BackupFailure = (typeof BACKUP_FAILURES)[number];

const CLIENT_SIDE: ReadonlySet<BackupFailure> = new Set<BackupFailure>(['io-failed', 'interrupted']);

export class BackupError extends AerieError {
  readonly failure: BackupFailure;
  /** The backup file concerned, when known. */
  readonly file: string | null;
  /** Byte offset in `file` of the frame (or preamble) at fault, else -1. */
  readonly offset: number;

  constructor(failure: BackupFailure, message: string, options: { file?: string | null; offset?: number; cause?: unknown } = {}) {
    super(CLIENT_SIDE.has(failure) ? Status.CLIENT_ERROR : Status.PARAMETER, message);
    this.failure = failure;
    this.file = options.file ?? null;
    this.offset = options.offset ?? -1;
    if (options.cause !== undefined) this.cause = options.cause;
  }

  /** The same failure, naming the file (readers of in-memory bytes do not know it). */
  inFile(file: string): BackupError {
    if (this.file !== null) return this;
    return new BackupError(this.failure, `${file}: ${this.message}`, { file, offset: this.offset, cause: this.cause });
  }
}

/** A local file-system failure (open, write, fsync, rename, read) as a BackupError. */
export function ioFailure(what: string, file: string, cause: unknown): BackupError {
  return new BackupError('io-failed', `${what} ${file}: ${(cause as Error)?.message ?? String(cause)}`, { file, cause });
}
