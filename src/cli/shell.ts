// `aerie shell`: an interactive, aql-like shell on readline, with history kept across sessions
// (shell-history.ts) and tab completion of commands, namespaces and sets (shell-completion.ts).
// With stdin not a terminal it reads commands line by line without prompting, so scripts and
// tests can pipe commands in; the exit code is 1 if any command failed.

import { createInterface } from 'node:readline';
import { connect, type Client } from '../client';
import { DEFAULT_HOST, HOST_DEFAULT_TEXT, ExitCode, parseCommandArgs, println, type ExitCodeValue, type Io } from './args';
import { formatError } from './format';
import { LOGIN_HELP, loginOptions, tlsOptions } from './login';
import { runShellLine, shellHelp } from './shell-commands';
import { completeShellLine } from './shell-completion';
import { HISTORY_ENV, historyFile, SHELL_HISTORY_LINES_MAX, ShellHistory } from './shell-history';

export const SHELL_USAGE = `usage: aerie shell [--host HOST:PORT]

An interactive shell for reading and writing records. Commands:

${shellHelp()
  .split('\n')
  .map((line) => `  ${line}`)
  .join('\n')}

With commands piped on stdin it runs them in order without prompting and
exits 1 if any of them failed.

On a terminal, Tab completes commands, namespaces and sets, and the last
${SHELL_HISTORY_LINES_MAX} lines are kept across sessions in ~/.aerie_history (or $${HISTORY_ENV};
set it empty for none). A line that starts with a space is not kept.

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
    client = await connect({ hosts: values.host as string, routing: 'front', ...tlsOptions(), ...(await loginOptions(io)) });
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

/** Set names per namespace, from INFO, asked again at most this often while completing. */
const SETS_FRESH_MS = 2000;

/** Tab completion's names: the namespaces HELLO named, and each one's sets from INFO. */
function completer(client: Client): (line: string, done: (err: null, result: [string[], string]) => void) => void {
  let sets: { atMs: number; byNs: Map<string, string[]> } = { atMs: 0, byNs: new Map() };
  const setsOf = async (ns: string): Promise<string[]> => {
    if (Date.now() - sets.atMs > SETS_FRESH_MS) {
      const info = (await client.info()) as unknown as { namespaces?: { name: string; sets?: string[] }[] };
      sets = { atMs: Date.now(), byNs: new Map((info.namespaces ?? []).map((n) => [n.name, n.sets ?? []])) };
    }
    return sets.byNs.get(ns) ?? [];
  };
  const namespaces = () => (Array.isArray(client.server.namespaces) ? client.server.namespaces.map(String) : []);
  return (line, done) => {
    completeShellLine(line, { namespaces: namespaces(), sets: setsOf }).then(
      (result) => done(null, result),
      () => done(null, [[], line]), // the node not answering completes nothing
    );
  };
}

async function readCommands(client: Client, io: Io): Promise<ExitCodeValue> {
  const interactive = io.stdin.isTTY === true;
  const history = new ShellHistory(interactive ? historyFile() : null);
  const lines = createInterface({
    input: io.stdin,
    output: interactive ? io.stdout : undefined,
    terminal: interactive,
    prompt: PROMPT,
    ...(interactive ? { history: history.load(), historySize: SHELL_HISTORY_LINES_MAX, removeHistoryDuplicates: true, completer: completer(client) } : {}),
  });
  if (interactive) {
    println(io.stdout, `connected to ${client.options.hosts.map((h) => `${h.host}:${h.port}`).join(', ')}; type help for commands`);
    client.on('disconnected', (event) => println(io.stdout, `\n(disconnected: ${formatError(event.error)}; reconnecting)`));
    lines.prompt();
  }
  let failedCount = 0;
  try {
    for await (const line of lines) {
      history.add(line);
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
