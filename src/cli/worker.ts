// `aerie worker restart N`: restarts one worker of a running node, including one the supervisor
// has given up on, and returns once it is up again.

import { DEFAULT_HOST, HOST_DEFAULT_TEXT, ExitCode, parseCommandArgs, println, UsageError, type ExitCodeValue, type Io } from './args';
import { toJson } from './format';
import { withClient } from './with-client';

export const WORKER_USAGE = `usage: aerie worker restart N [--host HOST:PORT] [--json]

Restarts worker N and waits until it is up. A worker that is up is stopped
first (writes it was applying are answered TIMEOUT, in doubt; its partitions
fail over to their replicas meanwhile); one the supervisor gave up on after a
crash loop is started again with its failure count cleared. The new thread
adopts the worker's records from shared memory, as after any restart.

options:
  --host HOST:PORT   node to ask (default ${HOST_DEFAULT_TEXT})
  --json             print the answer (or the error) as JSON
  -h, --help         show this help`;

export async function runWorker(args: string[], io: Io): Promise<ExitCodeValue> {
  const { values, positionals } = parseCommandArgs('worker', args, { host: { type: 'string', default: DEFAULT_HOST }, json: { type: 'boolean', default: false } }, 2);
  if (values.help) {
    println(io.stdout, WORKER_USAGE);
    return ExitCode.OK;
  }
  const [action, index] = positionals;
  if (action !== 'restart') throw new UsageError(action === undefined ? 'name an action: restart' : `unknown action: ${action}`, 'worker');
  const worker = Number(index);
  if (index === undefined || !/^\d+$/.test(index) || !Number.isSafeInteger(worker)) throw new UsageError('restart needs a worker index', 'worker');
  return withClient(
    values.host as string,
    io,
    async (client) => {
      const r = await client.restartWorker(worker);
      println(io.stdout, values.json ? toJson(r) : `worker ${r.worker}: ${r.state} after ${r.elapsedMs} ms (restarts ${r.restarts})`);
      return ExitCode.OK;
    },
    {},
    values.json === true,
  );
}
