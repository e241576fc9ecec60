// `aerie restore`: writes the records of a backup file back into a node (src/backup/restore.ts)
// and prints what happened to them. Exit 1 when any write failed or is in doubt.

import { restoreFile } from '../backup/restore';
import { RESTORE_POLICIES, type RestorePolicy } from '../backup/restore-report';
import { whileInterruptible } from './backup';
import { ProgressLine, formatRate } from './progress';
import { DEFAULT_HOST, HOST_DEFAULT_TEXT, ExitCode, parseCommandArgs, println, UsageError, type ExitCodeValue, type Io } from './args';
import { formatError, toJson } from './format';
import { withClient } from './with-client';

export const RESTORE_USAGE = `usage: aerie restore FILE [--policy create-only|replace|generation-gt] [--ns NAMESPACE] [--host HOST:PORT] [--json]

Writes the records of a backup file (from 'aerie backup') into a node. The
whole file is checked first, so a damaged file writes nothing. Records whose
TTL ran out since the backup are skipped. Writes are never retried.

policies:
  create-only     write records that do not exist; existing ones are left
                  alone and counted as "existed" (default)
  replace         write every record, replacing what is there
  generation-gt   write a record only if the backup's generation is greater
                  than the stored one; others count as "skipped-older"

options:
  --policy POLICY    see above (default create-only)
  --ns NAMESPACE     restore into this namespace instead of the backed-up one
  --host HOST:PORT   node to write to (default ${HOST_DEFAULT_TEXT})
  --json             print the report (or the error) as JSON
  -h, --help         show this help

exit codes: 0 every record restored or deliberately skipped, 1 a write failed
or is in doubt (or the file is damaged, or interrupted), 2 bad command line`;

export async function runRestore(args: string[], io: Io): Promise<ExitCodeValue> {
  const { values, positionals } = parseCommandArgs(
    'restore',
    args,
    {
      host: { type: 'string', default: DEFAULT_HOST },
      policy: { type: 'string', default: 'create-only' },
      ns: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    1,
  );
  if (values.help) {
    println(io.stdout, RESTORE_USAGE);
    return ExitCode.OK;
  }
  const file = positionals[0];
  if (file === undefined || file === '') throw new UsageError('a backup FILE is required', 'restore');
  const policy = values.policy as RestorePolicy;
  if (!RESTORE_POLICIES.includes(policy)) throw new UsageError(`--policy must be one of ${RESTORE_POLICIES.join(', ')}`, 'restore');
  const ns = values.ns as string | undefined;
  return withClient(
    values.host as string,
    io,
    (client) =>
      whileInterruptible(async (signal) => {
        const progress = new ProgressLine(io.stderr);
        try {
          const report = await restoreFile(client, {
            file,
            policy,
            ns,
            signal,
            onProgress: (p) => progress.update(p.records, p.total, p.elapsedMs),
          });
          progress.clear();
          const outcome =
            `${report.restored} restored, ${report.existed} existed, ${report.skippedOlder} skipped-older, ` + `${report.expired} expired, ${report.failed} failed, ${report.inDoubt} in doubt`;
          if (values.json) println(io.stdout, toJson(report));
          else println(io.stdout, `restored ${file} into ${report.ns}: ${report.records} records in ${formatRate(report.records, report.elapsedMs)}: ${outcome}`);
          if (!values.json) for (const error of report.errors) println(io.stderr, `${error.key}: ${formatError(error)}`);
          const unlisted = report.failed + report.inDoubt - report.errors.length;
          if (unlisted > 0) println(io.stderr, `${unlisted} more failed or in-doubt writes not listed`);
          if (report.interrupted) println(io.stderr, `interrupted after ${report.records} records`);
          return report.failed + report.inDoubt > 0 || report.interrupted ? ExitCode.FAILURE : ExitCode.OK;
        } finally {
          progress.clear();
        }
      }),
    {},
    values.json === true,
  );
}
