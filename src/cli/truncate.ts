// `aerie truncate`: deletes every record of a set, or of a whole namespace, last updated before a
// cut-off (default: now), on every worker of the node, durably for a file namespace.

import { DEFAULT_HOST, HOST_DEFAULT_TEXT, ExitCode, UsageError, parseCommandArgs, println, type ExitCodeValue, type Io } from './args';
import { toJson } from './format';
import { withClient } from './with-client';

export const TRUNCATE_USAGE = `usage: aerie truncate --ns NAMESPACE [--set SET] [--before TIME] [--host HOST:PORT] [--json]

Deletes every record of SET (without --set: of the whole namespace) that was
last updated at or before TIME (default: now), as Aerospike's truncate does.
Records written after the cut-off stay. On a file namespace the truncate is
logged and replayed at every restart. Exit code 1 if it failed or is in doubt
(a worker failed while applying it: run it again).

options:
  --ns NAMESPACE     namespace to truncate (required)
  --set SET          only this set
  --before TIME      cut-off: an ISO 8601 date-time or milliseconds since 1970
  --host HOST:PORT   node to ask (default ${HOST_DEFAULT_TEXT})
  --json             print the answer (or the error) as JSON
  -h, --help         show this help`;

export async function runTruncate(args: string[], io: Io): Promise<ExitCodeValue> {
  const { values } = parseCommandArgs('truncate', args, {
    host: { type: 'string', default: DEFAULT_HOST },
    ns: { type: 'string' },
    set: { type: 'string' },
    before: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (values.help) {
    println(io.stdout, TRUNCATE_USAGE);
    return ExitCode.OK;
  }
  if (typeof values.ns !== 'string') throw new UsageError('truncate needs --ns', 'truncate');
  const beforeMs = values.before === undefined ? undefined : parseTime(values.before as string);
  const set = values.set as string | undefined;
  return withClient(
    values.host as string,
    io,
    async (client) => {
      const { deleted } = await client.truncate(values.ns as string, set ?? null, beforeMs === undefined ? {} : { beforeMs });
      if (values.json) println(io.stdout, toJson({ ns: values.ns, set: set ?? null, deleted }));
      else println(io.stdout, `truncated ${set === undefined ? `namespace ${values.ns}` : `set ${values.ns}.${set}`}: ${deleted} records deleted`);
      return ExitCode.OK;
    },
    {},
    values.json === true,
  );
}

/** Milliseconds since 1970 from digits or an ISO 8601 date-time. */
function parseTime(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new UsageError(`--before: not a time: ${text}`, 'truncate');
  return ms;
}
