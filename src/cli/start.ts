// `aerie start`: runs a node in this process until SIGTERM or SIGINT. The first signal closes the
// node gracefully (requests in flight are answered) and exits 0; a second one exits 1 at once.

import { loadConfig } from '../config';
import { startNode, type AerieNode } from '../primary/node';
import { ExitCode, parseCommandArgs, println, type ExitCodeValue, type Io } from './args';
import { formatError } from './format';

export const START_USAGE = `usage: aerie start [--config FILE]

Starts a node and runs it until SIGTERM or SIGINT (Ctrl-C). The first signal
shuts down gracefully and exits 0; a second signal exits 1 at once. With
service.tls set, SIGHUP reloads the certificate and key for new connections.

options:
  --config FILE   JSON configuration (default: the shipped config/default.json)
  -h, --help      show this help`;

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

export async function runStart(args: string[], io: Io, exit: (code: number) => void = process.exit): Promise<ExitCodeValue | null> {
  const { values } = parseCommandArgs('start', args, { config: { type: 'string' } });
  if (values.help) {
    println(io.stdout, START_USAGE);
    return ExitCode.OK;
  }
  let node: AerieNode;
  try {
    const config = loadConfig(values.config as string | undefined);
    node = await startNode(config);
  } catch (error) {
    println(io.stderr, `aerie: could not start: ${formatError(error)}`);
    return ExitCode.FAILURE;
  }
  const scheme = node.config.service.tls === null ? 'ws' : 'wss';
  println(io.stdout, `aerie: node ready on ${scheme}://${node.address.host}:${node.address.port}/ (pid ${process.pid})`);
  if (node.config.service.tls !== null) {
    // SIGHUP rotates the certificate without a restart; a failed reload keeps the old one.
    process.on('SIGHUP', () => {
      try {
        node.reloadTls();
        println(io.stdout, 'aerie: SIGHUP, TLS certificate reloaded for new connections');
      } catch (error) {
        println(io.stderr, `aerie: SIGHUP: kept the old TLS certificate: ${formatError(error)}`);
      }
    });
  }
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      println(io.stderr, `aerie: ${signal} again, exiting without finishing shutdown`);
      exit(ExitCode.FAILURE);
      return;
    }
    stopping = true;
    println(io.stdout, `aerie: ${signal}, shutting down`);
    node.close().then(
      () => exit(ExitCode.OK),
      (error: unknown) => {
        println(io.stderr, `aerie: shutdown failed: ${formatError(error)}`);
        exit(ExitCode.FAILURE);
      },
    );
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  // The node keeps the process alive; the signal handler decides the exit code.
  return null;
}
