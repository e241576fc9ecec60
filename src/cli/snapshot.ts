// `aerie snapshot create|list|restore|delete`: a namespace's point-in-time snapshots
// (docs/snapshots.md). Each subcommand is one SNAPSHOT request to the node.

import { DEFAULT_HOST, HOST_DEFAULT_TEXT, ExitCode, UsageError, parseCommandArgs, println, type ExitCodeValue, type Io } from './args';
import { formatTable, toJson } from './format';
import { withClient } from './with-client';
import { withProgressLine } from './progress';

export const SNAPSHOT_USAGE = `usage: aerie snapshot create  --ns NAMESPACE [--json] [--host HOST:PORT]
       aerie snapshot list    --ns NAMESPACE [--json] [--host HOST:PORT]
       aerie snapshot restore ID --ns NAMESPACE [--json] [--host HOST:PORT]
       aerie snapshot delete  ID --ns NAMESPACE [--json] [--host HOST:PORT]

create   copies the namespace at one point in time (each worker pauses only to
         copy its memory) and writes it under <dataDir>/<ns>/snapshots/ID. A
         file namespace then starts from it after a restart, and the log it
         covers is released.
list     the complete snapshots, oldest first; "base" marks the one a file
         namespace starts from.
restore  returns the namespace to exactly that snapshot. Requests wait while
         the workers swap stores; writes made since the snapshot are gone.
delete   removes a snapshot (not the base of a file namespace).

options:
  --ns NAMESPACE     the namespace (required)
  --json             print the answer (or the error) as JSON
  --host HOST:PORT   node to ask (default ${HOST_DEFAULT_TEXT})
  -h, --help         show this help`;

const ACTIONS = ['create', 'list', 'restore', 'delete'];

export async function runSnapshot(args: string[], io: Io): Promise<ExitCodeValue> {
  const { values, positionals } = parseCommandArgs(
    'snapshot',
    args,
    {
      host: { type: 'string', default: DEFAULT_HOST },
      ns: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    2,
  );
  if (values.help) {
    println(io.stdout, SNAPSHOT_USAGE);
    return ExitCode.OK;
  }
  const [action, id] = positionals;
  if (!ACTIONS.includes(action)) throw new UsageError(`snapshot needs one of ${ACTIONS.join(', ')}`, 'snapshot');
  if (typeof values.ns !== 'string') throw new UsageError('snapshot needs --ns', 'snapshot');
  const needsId = action === 'restore' || action === 'delete';
  if (needsId !== (id !== undefined)) throw new UsageError(needsId ? `snapshot ${action} needs an ID` : `snapshot ${action} takes no ID`, 'snapshot');
  const ns = values.ns;
  // A snapshot of a large namespace takes a while: the node answers when the files are synced. On a
  // terminal its progress pushes draw done of total with an ETA; --json asks for none, as before.
  const askNode = values.json !== true;
  return withClient(
    values.host as string,
    io,
    async (client) => {
      if (action === 'create') {
        const s = await withProgressLine(io.stderr, `snapshot of ${ns}`, (onProgress) => client.createSnapshot(ns, { onProgress }), askNode);
        if (values.json) println(io.stdout, toJson(s));
        else println(io.stdout, `snapshot ${s.id} of ${ns}: ${s.records} records, ${s.bytes} bytes in ${s.elapsedMs} ms (longest worker pause ${s.pauseMs} ms)`);
      } else if (action === 'list') {
        const list = await client.listSnapshots(ns);
        if (values.json) println(io.stdout, toJson(list));
        else if (list.length === 0) println(io.stdout, `no snapshots of ${ns}`);
        else {
          println(
            io.stdout,
            formatTable(
              ['id', 'created', 'records', 'bytes', 'base'],
              list.map((s) => [s.id, new Date(s.createdAtMs).toISOString(), s.records, s.bytes, s.base ? 'yes' : '']),
            ),
          );
        }
      } else if (action === 'restore') {
        const r = await withProgressLine(io.stderr, `restoring ${ns} to snapshot ${id}`, (onProgress) => client.restoreSnapshot(ns, id, { onProgress }), askNode);
        if (values.json) println(io.stdout, toJson(r));
        else println(io.stdout, `restored ${ns} to snapshot ${r.id}: ${r.records} records in ${r.elapsedMs} ms (requests held ${r.pauseMs} ms)`);
        if (!values.json && r.replicasInSync === false) println(io.stdout, 'replicas are still being copied from the restored masters (aerie info shows outOfSync)');
      } else {
        await client.deleteSnapshot(ns, id);
        println(io.stdout, values.json ? toJson({ ns, id, deleted: true }) : `deleted snapshot ${id} of ${ns}`);
      }
      return ExitCode.OK;
    },
    { timeoutMs: 600_000 },
    values.json === true,
  );
}
