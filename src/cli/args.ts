// Command-line plumbing shared by every command: exit codes, the usage error, option parsing with
// node:util parseArgs, and the output streams (passed in, so commands run inside tests).

import { parseArgs } from 'node:util';

/** Process exit codes of `aerie` (docs/cli.md lists them). */
export const ExitCode = {
  OK: 0,
  /** The command ran and failed: no connection, a failed shell command, a node that did not start. */
  FAILURE: 1,
  /** Bad command line: unknown command or option, missing or malformed argument. */
  USAGE: 2,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

export const processIo: Io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };

export function println(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text}\n`);
}

/** A command line that cannot be run; main prints the message and the command's usage, exit 2. */
export class UsageError extends Error {
  readonly command: string | null;
  constructor(message: string, command: string | null = null) {
    super(message);
    this.command = command;
  }
}

export const DEFAULT_HOST = '127.0.0.1:3000';
/** The environment variable naming the node a command talks to when --host is not given. */
export const HOST_ENV = 'AERIE_HOST';
/** How usage texts name the default of --host. */
export const HOST_DEFAULT_TEXT = `$${HOST_ENV}, else ${DEFAULT_HOST}`;

/** The node a command talks to without --host: $AERIE_HOST when set and not empty, else DEFAULT_HOST. */
export function defaultHost(env: NodeJS.ProcessEnv = process.env): string {
  const host = env[HOST_ENV];
  return host !== undefined && host !== '' ? host : DEFAULT_HOST;
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean; multiple?: boolean }>;

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * Every command that talks to a node logs in with these (src/cli/login.ts): `--user` (or
 * AERIE_USER) and the password from AERIE_PASSWORD, `--password-file`, or a prompt without
 * echo — never from a flag, which would show in `ps` and in shell history.
 */
const LOGIN_OPTIONS: OptionSpec = {
  user: { type: 'string' },
  'password-file': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
};

/** The login options of the command line parsed last: main runs one command per process (or per call, in tests). */
export let commandLogin: { user?: string; passwordFile?: string; tlsCa?: string; tlsCert?: string; tlsKey?: string } = {};

/** parseArgs in strict mode (with -h/--help and the login options added), its errors turned into UsageError for `command`. */
export function parseCommandArgs(command: string, args: string[], options: OptionSpec, positionalsMax = 0): ParsedArgs {
  let parsed: ParsedArgs;
  // A --host that defaults to DEFAULT_HOST takes $AERIE_HOST first (an operator's habit from asadm's and redis-cli's).
  const specs = options.host?.default === DEFAULT_HOST ? { ...options, host: { ...options.host, default: defaultHost() } } : options;
  try {
    parsed = parseArgs({ args, options: { ...LOGIN_OPTIONS, ...specs, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, command);
  }
  const v = parsed.values;
  commandLogin = {
    user: v.user as string | undefined,
    passwordFile: v['password-file'] as string | undefined,
    tlsCa: v['tls-ca'] as string | undefined,
    tlsCert: v['tls-cert'] as string | undefined,
    tlsKey: v['tls-key'] as string | undefined,
  };
  if (parsed.positionals.length > positionalsMax) {
    throw new UsageError(`unexpected argument: ${parsed.positionals[positionalsMax]}`, command);
  }
  return parsed;
}
