// `aerie shell`: an interactive, aql-like shell on readline. With stdin not a terminal it reads
// commands line by line without prompting, so scripts and tests can pipe commands in; the exit
// code is 1 if any command failed.

import { createInterface } from 'node:readline';
import { connect, type Client } from '../client';
import { DEFAULT_HOST, HOST_DEFAULT_TEXT, ExitCode, parseCommandArgs, println, type ExitCodeValue, type Io } from './args';
import { formatError } from './format';
import { LOGIN_HELP, loginOptions } from './login';
import { runShellLine, shellHelp } from './shell-commands';

export const SHELL_USAGE = `usage: aerie shell [--host HOST:PORT]

An interactive shell for reading and writing records. Commands:

${shellHelp()
  .split('\n')
  .map((line) => `  ${line}`)
  .join('\n')}

With commands piped on stdin it runs them in order without prompting and
exits 1 if any of them failed.

options:
  --host HOST:PORT   node to connect to (default ${HOST_DEFAULT_TEXT})
  -h, --help         show this help

${LOGIN_HELP}`;

const PROMPT = 'aerie> ';

export async function runShell(args: string[], io: Io): Promise<ExitCodeValue> {
  const { values } = parseCommandArgs('shell', args, { host: { type: 'string', default: DEFAULT_HOST } });
  if (values.help) {
    println(io.stdout, SHELL_USAGE);
    return ExitCode.OK;
  }
  let client: Client;
  try {
    client = await connect({ hosts: values.host as string, routing: 'front', ...(await loginOptions(io)) });
  } catch (error) {
    println(io.stderr, formatError(error));
    return ExitCode.FAILURE;
  }
  try {
    return await readCommands(client, io);
  } finally {
    await client.close();
  }
}

async function readCommands(client: Client, io: Io): Promise<ExitCodeValue> {
  const interactive = io.stdin.isTTY === true;
  const lines = createInterface({ input: io.stdin, output: interactive ? io.stdout : undefined, terminal: interactive, prompt: PROMPT });
  if (interactive) {
    println(io.stdout, `connected to ${client.options.hosts.map((h) => `${h.host}:${h.port}`).join(', ')}; type help for commands`);
    client.on('disconnected', (event) => println(io.stdout, `\n(disconnected: ${formatError(event.error)}; reconnecting)`));
    lines.prompt();
  }
  let failedCount = 0;
  try {
    for await (const line of lines) {
      const { outcome, output } = await runShellLine(line, client);
      if (outcome === 'quit') break;
      if (outcome === 'failed') failedCount++;
      if (output !== '') println(io.stdout, output);
      if (interactive) lines.prompt();
    }
  } finally {
    lines.close();
  }
  return failedCount > 0 ? ExitCode.FAILURE : ExitCode.OK;
}
