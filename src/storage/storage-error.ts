// StorageError, the AerieError every storage failure is raised as: a stable `failure` string
// beside the numeric code, and the file and byte offset concerned.

import { AerieError, Status } from '../errors';

/**
 * Why storage failed; stable strings beside the numeric code. All carry Status.SERVER_ERROR except
 * record-too-big (RECORD_TOO_BIG) and no-space (SERVER_MEM: the device is full, the log waits for
 * space, as Aerospike's stop-writes). Failures of write and sync are in doubt: the bytes may or may
 * not have reached the device.
 */
export type StorageFailure = 'write-failed' | 'no-space' | 'sync-failed' | 'open-failed' | 'writer-failed' | 'writer-closed' | 'record-too-big' | 'corrupt' | 'bad-directory';

export class StorageError extends AerieError {
  readonly failure: StorageFailure;
  /** The file concerned, when there is one. */
  readonly file: string | null;
  /** Byte offset in `file` (corruption), else -1. */
  readonly offset: number;

  constructor(failure: StorageFailure, message: string, options: { file?: string; offset?: number; inDoubt?: boolean; cause?: unknown } = {}) {
    super(failure === 'record-too-big' ? Status.RECORD_TOO_BIG : failure === 'no-space' ? Status.SERVER_MEM : Status.SERVER_ERROR, message, options.inDoubt ?? false);
    this.failure = failure;
    this.file = options.file ?? null;
    this.offset = options.offset ?? -1;
    if (options.cause !== undefined) this.cause = options.cause;
  }
}
