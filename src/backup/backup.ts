// backupNamespace: every record of a namespace (or of one set) from a node's scan into a backup
// file, streaming. One scan page is written while the next is being fetched, so memory is about
// two pages (each at most SCAN_PAGE_BYTES_MAX on the wire) plus the file writer's chunk.
//
// TTLs: a scan answers each record's seconds left at the moment its page was built. The file
// stores them as seconds left at the header's createdAtMs instead, so one timestamp dates every
// record and a restore can tell what has expired since. The time a page was requested stands in
// for the node's clock: it is never later, so a restored TTL is never longer than the original.

import { BACKUP_SCAN_ATTEMPTS_MAX, BACKUP_SCAN_PAGE_RECORDS, SCAN_PAGE_RECORDS_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import type { Client } from '../client/client';
import type { AerieRecord, ScanPage } from '../client/records';
import { checkCount, checkNamespace, checkSet, parameterError } from '../client/validate';
import { CLIENT_VERSION } from '../client/version';
import { BackupError } from './backup-error';
import { BackupFileWriter } from './file-writer';
import { TTL_NEVER, type BackupHeader, type BackupRecord } from './format';

export interface BackupOptions {
  ns: string;
  /** Only this set; every record of the namespace when omitted or null. */
  set?: string | null;
  /** The backup file. It is written as `out + '.tmp'` and renamed when complete. */
  out: string;
  /** Called after each scan page is written. */
  onProgress?: (progress: BackupProgress) => void;
  /** Aborting stops the backup: it rejects with BackupError 'interrupted' and leaves no file. */
  signal?: AbortSignal;
  /** Records per scan page (1..SCAN_PAGE_RECORDS_MAX), default BACKUP_SCAN_PAGE_RECORDS. */
  pageSize?: number;
}

export interface BackupProgress {
  records: number;
  bytes: number;
  elapsedMs: number;
}

export interface BackupResult extends BackupProgress {
  file: string;
  ns: string;
  set: string | null;
  /** The header's timestamp: TTLs in the file count from it. */
  createdAtMs: number;
}

/**
 * Backs up a namespace (or one set of it) to a file. Resolves once the file is complete, durable
 * and under its final name; rejects with the scan's AerieError, or a BackupError for the local
 * file, having removed its temporary file.
 */
export async function backupNamespace(client: Client, options: BackupOptions): Promise<BackupResult> {
  const ns = checkNamespace(options.ns);
  const set = checkSet(options.set);
  if (typeof options.out !== 'string' || options.out.length === 0) throw parameterError('out must be a file name');
  const pageSize = options.pageSize === undefined ? BACKUP_SCAN_PAGE_RECORDS : checkCount(options.pageSize, 'pageSize', 1, SCAN_PAGE_RECORDS_MAX);
  throwIfAborted(options.signal);
  const startedAtMs = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await backupOnce(client, options, ns, set, pageSize, startedAtMs);
    } catch (error) {
      // A scan overtaken by a partition move or a rehash may have skipped records: start over.
      if (!(error instanceof AerieError && error.code === Status.SCAN_ABORT) || attempt >= BACKUP_SCAN_ATTEMPTS_MAX) throw error;
    }
  }
}

async function backupOnce(client: Client, options: BackupOptions, ns: string, set: string | null, pageSize: number, startedAtMs: number): Promise<BackupResult> {
  const header: BackupHeader = {
    ns,
    set,
    createdAtMs: Date.now(),
    node: typeof client.server.node === 'string' ? client.server.node : '',
    nodeVersion: typeof client.server.version === 'string' ? client.server.version : '',
    tool: `aerie-ts/${CLIENT_VERSION}`,
  };
  const writer = await BackupFileWriter.create(options.out, header);
  try {
    await copyScan(client, writer, header, pageSize, options, startedAtMs);
    const bytes = await writer.finish();
    return { file: options.out, ns, set, createdAtMs: header.createdAtMs, records: writer.recordCount, bytes, elapsedMs: performance.now() - startedAtMs };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

interface TimedPage {
  page: ScanPage;
  requestedAtMs: number;
}

async function copyScan(client: Client, writer: BackupFileWriter, header: BackupHeader, pageSize: number, options: BackupOptions, startedAtMs: number): Promise<void> {
  const fetchPage = (cursor: Uint8Array | null): Promise<TimedPage> => {
    const requestedAtMs = Date.now();
    const pending = client.scanPage(header.ns, header.set, { pageSize, cursor }).then((page) => ({ page, requestedAtMs }));
    // Marked handled: if writing fails while this page is on its way, nobody awaits it.
    pending.catch(() => undefined);
    return pending;
  };
  let next = fetchPage(null);
  for (;;) {
    const { page, requestedAtMs } = await next;
    throwIfAborted(options.signal);
    if (page.cursor !== null) next = fetchPage(page.cursor);
    const ageSec = Math.floor(requestedAtMs / 1000) - Math.floor(header.createdAtMs / 1000);
    for (const record of page.records) await writer.add(toBackupRecord(record, ageSec));
    options.onProgress?.({ records: writer.recordCount, bytes: writer.bytes, elapsedMs: performance.now() - startedAtMs });
    if (page.cursor === null) return;
  }
}

/** `ageSec`: whole seconds from the header's createdAtMs to when the record's page was asked for. */
function toBackupRecord(record: AerieRecord, ageSec: number): BackupRecord {
  const key = record.key;
  return {
    digest: Buffer.from(key.digest.buffer, key.digest.byteOffset, key.digest.byteLength),
    set: key.set,
    key: key.value,
    gen: record.gen,
    ttl: record.ttl === TTL_NEVER ? TTL_NEVER : record.ttl + ageSec,
    bins: record.bins,
  };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new BackupError('interrupted', 'interrupted');
}
