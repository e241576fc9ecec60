// `aerie backup`: writes a namespace (or one set) to a portable backup file through the SDK's scan
// (src/backup/backup.ts). Also home of the progress line that backup and restore draw on stderr
// when it is a terminal. Ctrl-C stops the backup and removes its temporary file.

import type { Client } from '../client';
import { backupNamespace } from '../backup/backup';
import { DEFAULT_HOST, HOST_DEFAULT_TEXT, ExitCode, parseCommandArgs, println, UsageError, type ExitCodeValue, type Io } from './args';
import { formatBytes, toJson } from './format';
import { ProgressLine, formatRate } from './progress';
import { withClient } from './with-client';

export const BACKUP_USAGE = `usage: aerie backup --ns NAMESPACE --out FILE [--set SET] [--host HOST:PORT] [--json]

Writes every record of a namespace (or of one set) to a portable backup file:
set, user key (when stored) and digest, generation, remaining TTL and every
bin. The file is written as FILE.tmp, fsync'd, and renamed to FILE only when
complete, so an interrupted backup never leaves a partial FILE. An existing
FILE is replaced. Restore it with 'aerie restore FILE'.

options:
  --ns NAMESPACE     namespace to back up (required)
  --out FILE         the backup file to write (required)
  --set SET          only the records of this set
  --host HOST:PORT   node to read from (default ${HOST_DEFAULT_TEXT})
  --json             print the report (or the error) as JSON
  -h, --help         show this help

exit codes: 0 backed up, 1 failed or interrupted (no FILE written), 2 bad command line`;

/** A node answer gets this long per scan page; pages are at most a few MiB. */
const BACKUP_PAGE_TIMEOUT_MS = 60_000;

export async function runBackup(args: string[], io: Io): Promise<ExitCodeValue> {
  const { values } = parseCommandArgs('backup', args, {
    host: { type: 'string', default: DEFAULT_HOST },
    ns: { type: 'string' },
    set: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (values.help) {
    println(io.stdout, BACKUP_USAGE);
    return ExitCode.OK;
  }
  const ns = values.ns as string | undefined;
  const out = values.out as string | undefined;
  if (ns === undefined || ns === '') throw new UsageError('--ns is required', 'backup');
  if (out === undefined || out === '') throw new UsageError('--out is required', 'backup');
  const set = (values.set as string | undefined) ?? null;
  // An empty set name means "no set" to the SDK, which would back up the whole namespace.
  if (set === '') throw new UsageError('--set must name a set', 'backup');
  return withClient(
    values.host as string,
    io,
    (client) =>
      whileInterruptible(async (signal) => {
        const progress = new ProgressLine(io.stderr);
        const total = progress.enabled && set === null ? await namespaceRecords(client, ns) : null;
        try {
          const result = await backupNamespace(client, { ns, set, out, signal, onProgress: (p) => progress.update(p.records, total, p.elapsedMs) });
          progress.clear();
          const scope = set === null ? ns : `${ns}.${set}`;
          if (values.json) println(io.stdout, toJson({ out, ...result }));
          else println(io.stdout, `backed up ${result.records} records of ${scope} to ${out}: ${formatBytes(result.bytes)} in ${formatRate(result.records, result.elapsedMs)}`);
          return ExitCode.OK;
        } finally {
          progress.clear();
        }
      }),
    { timeoutMs: BACKUP_PAGE_TIMEOUT_MS },
    values.json === true,
  );
}

/** The namespace's record count, for the progress line; null when unknown. */
async function namespaceRecords(client: Client, ns: string): Promise<number | null> {
  try {
    const namespaces = (await client.info()).namespaces as { name?: unknown; records?: unknown }[] | undefined;
    const records = namespaces?.find((n) => n.name === ns)?.records;
    return typeof records === 'number' ? records : null;
  } catch {
    return null; // only the progress line needed it
  }
}

/**
 * Runs `work` with a signal that the first SIGINT aborts, so the command stops cleanly (a backup
 * removes its temporary file, a restore waits for its writes in flight and reports them).
 */
export async function whileInterruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
