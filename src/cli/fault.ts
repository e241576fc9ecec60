// `aerie fault`: asks a node to make one of its workers fail (drills and tests of the supervisor).
// The node refuses unless its config enables supervisor.faultInjection.

import { DEFAULT_HOST, HOST_DEFAULT_TEXT, ExitCode, parseCommandArgs, println, UsageError, type ExitCodeValue, type Io } from './args';
import { toJson } from './format';
import { withClient } from './with-client';

const KINDS = ['crash', 'exit', 'hang', 'stall', 'oom', 'lag', 'disk-full', 'disk-eio', 'sync-eio', 'disk-low', 'disk-ok'] as const;

export const FAULT_USAGE = `usage: aerie fault --worker N --kind crash|exit|hang|stall|oom|lag|disk-full|disk-eio|sync-eio|disk-low|disk-ok [--host HOST:PORT] [--json]

Makes worker N fail: crash (uncaught exception), exit, hang (busy loop),
stall (blocked thread), oom (heap exhausted) or lag (event loop blocked for 2 s
with the heartbeat still beating; restarted only with supervisor.lagRestartMs). The supervisor detects it and
restarts the worker, which adopts its records from shared memory; watch it
with 'aerie info'. The disk kinds act on worker N's logs until disk-ok:
disk-full (every log write() fails ENOSPC), disk-low (free space reads as just
under the reserve, writes succeed), disk-eio (write() fails EIO), sync-eio
(fdatasync fails EIO: the log fails for good). Refused (FAIL_FORBIDDEN) unless the node's configuration
sets supervisor.faultInjection to true.

options:
  --worker N         worker index (see aerie info)
  --kind KIND        how it fails
  --host HOST:PORT   node to ask (default ${HOST_DEFAULT_TEXT})
  --json             print {worker, kind, injected} (or the error) as JSON
  -h, --help         show this help`;

export async function runFault(args: string[], io: Io): Promise<ExitCodeValue> {
  const { values } = parseCommandArgs('fault', args, {
    host: { type: 'string', default: DEFAULT_HOST },
    worker: { type: 'string' },
    kind: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (values.help) {
    println(io.stdout, FAULT_USAGE);
    return ExitCode.OK;
  }
  const worker = Number(values.worker);
  const kind = values.kind as (typeof KINDS)[number];
  if (!Number.isInteger(worker) || worker < 0) throw new UsageError('--worker must be a worker index', 'fault');
  if (!KINDS.includes(kind)) throw new UsageError(`--kind must be one of ${KINDS.join(', ')}`, 'fault');
  return withClient(
    values.host as string,
    io,
    async (client) => {
      await client.injectFault({ worker, kind });
      println(io.stdout, values.json ? toJson({ worker, kind, injected: true }) : `worker ${worker}: ${kind} injected`);
      return ExitCode.OK;
    },
    {},
    values.json === true,
  );
}
