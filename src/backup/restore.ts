// restoreFile: writes the records of a backup file back into a node. The file is read twice: a
// first pass checks every frame and the trailer (so a damaged file is refused before anything is
// written, and the record count is known for progress), the second streams the records into
// puts, at most `inFlightMax` and BACKUP_RESTORE_IN_FLIGHT_BYTES_MAX at a time, so memory is one
// read buffer plus the records in flight.

import { BACKUP_RESTORE_IN_FLIGHT_BYTES_MAX, BACKUP_RESTORE_IN_FLIGHT_DEFAULT, BACKUP_RESTORE_IN_FLIGHT_MAX, BACKUP_RESTORE_PROGRESS_RECORDS, TTL_SEC_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import type { Client } from '../client/client';
import { Key } from '../client/key';
import { checkCount, checkNamespace, parameterError } from '../client/validate';
import { BackupFileReader, checkBackupFile } from './file-reader';
import { TTL_NEVER, type BackupHeader, type BackupRecord } from './format';
import { checkRestorePolicy, classifyError, RestoreTally, writePolicyFor, type RecordOutcome, type RestoreCounts, type RestoreError, type RestorePolicy } from './restore-report';

export interface RestoreOptions {
  file: string;
  policy: RestorePolicy;
  /** Restore into this namespace instead of the one the file was backed up from. */
  ns?: string;
  onProgress?: (progress: RestoreProgress) => void;
  /** Aborting stops reading: puts in flight are awaited and the report says `interrupted`. */
  signal?: AbortSignal;
  /** Puts in flight at once (1..BACKUP_RESTORE_IN_FLIGHT_MAX), default BACKUP_RESTORE_IN_FLIGHT_DEFAULT. */
  inFlightMax?: number;
  /** false skips the checking pass: records before a damaged frame are then written. Default true. */
  verify?: boolean;
}

export interface RestoreProgress extends RestoreCounts {
  /** Records in the file, when the checking pass ran; else null. */
  total: number | null;
  elapsedMs: number;
}

export interface RestoreReport extends RestoreProgress {
  file: string;
  /** The namespace written to. */
  ns: string;
  header: BackupHeader;
  /** The file's size in bytes. */
  bytes: number;
  /** True when the signal stopped the restore before the end of the file. */
  interrupted: boolean;
  /** The first few failed or in-doubt writes (BACKUP_RESTORE_ERRORS_KEPT_MAX). */
  errors: RestoreError[];
}

/**
 * Restores a backup file. Resolves with the counts of every outcome once every put has been
 * answered; rejects only for bad options, an unknown namespace or a damaged file (BackupError
 * with its offset), never because a record failed to write: those are counted.
 */
export async function restoreFile(client: Client, options: RestoreOptions): Promise<RestoreReport> {
  const policy = checkRestorePolicy(options.policy);
  if (typeof options.file !== 'string' || options.file.length === 0) throw parameterError('file must be a file name');
  const inFlightMax = options.inFlightMax === undefined ? BACKUP_RESTORE_IN_FLIGHT_DEFAULT : checkCount(options.inFlightMax, 'inFlightMax', 1, BACKUP_RESTORE_IN_FLIGHT_MAX);
  const startedAtMs = performance.now();
  const total = options.verify === false ? null : (await checkBackupFile(options.file)).records;
  const reader = await BackupFileReader.open(options.file);
  try {
    const ns = options.ns === undefined ? reader.header.ns : checkNamespace(options.ns);
    checkNamespaceServed(client, ns);
    const run = new RestoreRun(client, { policy, ns, header: reader.header, inFlightMax, total, startedAtMs, onProgress: options.onProgress, signal: options.signal });
    const interrupted = await run.copy(reader);
    return {
      file: options.file,
      ns,
      header: reader.header,
      bytes: reader.bytesRead,
      interrupted,
      ...run.progress(),
      errors: run.tally.errors,
    };
  } finally {
    await reader.close();
  }
}

/** Fails early, instead of once per record, when the node does not serve the namespace. */
function checkNamespaceServed(client: Client, ns: string): void {
  const served = client.server.namespaces;
  if (Array.isArray(served) && served.every((name) => typeof name === 'string') && !served.includes(ns)) {
    throw new AerieError(Status.INVALID_NAMESPACE, `namespace '${ns}' is not served by the node`);
  }
}

/** The checked options of one restore. */
interface RunSettings extends Pick<RestoreOptions, 'onProgress' | 'signal'> {
  policy: RestorePolicy;
  ns: string;
  header: BackupHeader;
  inFlightMax: number;
  total: number | null;
  startedAtMs: number;
}

class RestoreRun {
  readonly tally = new RestoreTally();
  private readonly client: Client;
  private readonly settings: RunSettings;
  private inFlight = 0;
  private inFlightBytes = 0;
  /** Resolves the copy loop waiting for a free slot (or for the last put). */
  private wake: (() => void) | null = null;
  private progressAt = 0;

  constructor(client: Client, settings: RunSettings) {
    this.client = client;
    this.settings = settings;
  }

  /** Streams every record into puts; answers whether the signal stopped it early. */
  async copy(reader: BackupFileReader): Promise<boolean> {
    try {
      for (;;) {
        if (this.settings.signal?.aborted === true) return true;
        const record = await reader.next();
        if (record === null) return false;
        this.tally.counts.records++;
        const recordBytes = reader.lastRecordBytes;
        while (this.inFlight >= this.settings.inFlightMax || (this.inFlight > 0 && this.inFlightBytes + recordBytes > BACKUP_RESTORE_IN_FLIGHT_BYTES_MAX)) {
          await this.slotFreed();
        }
        this.put(record, recordBytes);
      }
    } finally {
      // Whatever ends the loop (the end, an abort, a damaged frame), no put outlives the call.
      while (this.inFlight > 0) await this.slotFreed();
      this.settings.onProgress?.(this.progress());
    }
  }

  progress(): RestoreProgress {
    return { ...this.tally.counts, total: this.settings.total, elapsedMs: performance.now() - this.settings.startedAtMs };
  }

  private put(record: BackupRecord, recordBytes: number): void {
    const ttl = this.ttlNow(record);
    if (ttl === null) {
      this.settle('expired');
      return;
    }
    let key: Key;
    try {
      key = new Key(this.settings.ns, record.set, record.key ?? { digest: record.digest }, record.digest);
    } catch (error) {
      this.settle('failed', describeKey(this.settings.ns, record), error);
      return;
    }
    const { policy } = this.settings;
    const { meta, write } = writePolicyFor(policy, record.gen, record.key !== null);
    meta.ttl = ttl;
    this.inFlight++;
    this.inFlightBytes += recordBytes;
    this.client
      .put(key, record.bins, meta, write)
      .then(
        () => this.settle('restored'),
        (error: unknown) => this.settle(classifyError(policy, error), key.toString(), error),
      )
      .finally(() => {
        this.inFlight--;
        this.inFlightBytes -= recordBytes;
        const wake = this.wake;
        this.wake = null;
        wake?.();
      });
  }

  /** The TTL to write now: the backup's, less the time since the backup; null once it ran out. */
  private ttlNow(record: BackupRecord): number | null {
    if (record.ttl === TTL_NEVER) return TTL_NEVER;
    const ageSec = Math.floor(Date.now() / 1000) - Math.floor(this.settings.header.createdAtMs / 1000);
    const remainingSec = record.ttl - ageSec;
    return remainingSec <= 0 ? null : Math.min(remainingSec, TTL_SEC_MAX);
  }

  private settle(outcome: RecordOutcome, key?: string, error?: unknown): void {
    this.tally.add(outcome, key, error);
    const settled = this.tally.settled;
    if (settled - this.progressAt >= BACKUP_RESTORE_PROGRESS_RECORDS) {
      this.progressAt = settled;
      this.settings.onProgress?.(this.progress());
    }
  }

  private slotFreed(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }
}

function describeKey(ns: string, record: BackupRecord): string {
  return `${ns}:${record.set ?? ''}:${record.key === null ? `digest:${record.digest.toString('hex')}` : String(record.key)}`;
}
