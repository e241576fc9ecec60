#!/usr/bin/env node
// The `aerie` command: dispatches to start, info, top, shell, verify, fault, worker, truncate, snapshot,
// backup, restore, user, role and completion. Exit codes: 0 success, 1 the command failed, 2 bad command line (docs/cli.md).

import { CLIENT_VERSION } from '../client/version';
import { ExitCode, println, processIo, UsageError, type ExitCodeValue, type Io } from './args';
import { formatError, toJson } from './format';
import { INFO_USAGE, runInfo } from './info';
import { runShell, SHELL_USAGE } from './shell';
import { runStart, START_USAGE } from './start';
import { runVerify, VERIFY_USAGE } from './verify';
import { FAULT_USAGE, runFault } from './fault';
import { runTruncate, TRUNCATE_USAGE } from './truncate';
import { runSnapshot, SNAPSHOT_USAGE } from './snapshot';
import { BACKUP_USAGE, runBackup } from './backup';
import { RESTORE_USAGE, runRestore } from './restore';
import { runWorker, WORKER_USAGE } from './worker';
import { ROLE_USAGE, runRole, runUser, USER_USAGE } from './users';
import { runTop, TOP_USAGE } from './top';
import { COMPLETION_USAGE, runCompletion } from './completion';

export const MAIN_USAGE = `usage: aerie <command> [options]

commands:
  start       run a node until SIGTERM/SIGINT           aerie start [--config FILE]
  info        print a node's statistics                 aerie info [--json]
  top         a live view of a node (q quits)           aerie top [--interval SEC] [--once]
  shell       read and write records interactively      aerie shell
  verify      check records against the index           aerie verify [--ns NS] [--repair] [--json]
              … or a stopped node's files               aerie verify --data-dir DIR [--ns NS]
  fault       make a worker fail (drills; off default)  aerie fault --worker N --kind KIND
  worker      restart a worker (even a given-up one)    aerie worker restart N
  truncate    delete a set's or namespace's records     aerie truncate --ns NS [--set SET]
  snapshot    create/list/restore/delete snapshots      aerie snapshot create|list|… --ns NS
  backup      write a namespace to a backup file        aerie backup --ns NS --out FILE
  restore     write a backup file's records into a node aerie restore FILE [--policy POLICY]
  user        manage users (security enabled)           aerie user create|drop|passwd|… NAME
  role        manage custom roles (security enabled)    aerie role create|drop|allowlist|quotas|list
  completion  a bash or zsh completion script           aerie completion bash|zsh
  help        show help for a command                   aerie help <command>

options:
  -h, --help     show this help
  -v, --version  print the version
  --host H:P     the node a command talks to (default $AERIE_HOST, else 127.0.0.1:3000)
  --user NAME    log in as NAME (default $AERIE_USER; the password from
                 AERIE_PASSWORD, --password-file or a prompt)
  --json         one JSON document on stdout, errors included (commands that talk to a node)
  --tls-ca FILE  trust FILE's CA for a wss:// node (default: $AERIE_TLS_CA);
                 --tls-cert / --tls-key (or $AERIE_TLS_CERT / $AERIE_TLS_KEY)
                 give a client certificate

exit codes: 0 success, 1 the command failed, 2 bad command line`;

const USAGES: Record<string, string> = {
  start: START_USAGE,
  info: INFO_USAGE,
  top: TOP_USAGE,
  shell: SHELL_USAGE,
  verify: VERIFY_USAGE,
  fault: FAULT_USAGE,
  truncate: TRUNCATE_USAGE,
  snapshot: SNAPSHOT_USAGE,
  backup: BACKUP_USAGE,
  restore: RESTORE_USAGE,
  worker: WORKER_USAGE,
  user: USER_USAGE,
  role: ROLE_USAGE,
  completion: COMPLETION_USAGE,
};

/** Runs the command line; resolves the exit code, or null when the command keeps running (start). */
export async function main(argv: string[], io: Io = processIo): Promise<ExitCodeValue | null> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case undefined:
        println(io.stderr, MAIN_USAGE);
        return ExitCode.USAGE;
      case '-h':
      case '--help':
        println(io.stdout, MAIN_USAGE);
        return ExitCode.OK;
      case '-v':
      case '--version':
        println(io.stdout, CLIENT_VERSION);
        return ExitCode.OK;
      case 'help':
        return help(args, io);
      case 'start':
        return await runStart(args, io);
      case 'info':
        return await runInfo(args, io);
      case 'top':
        return await runTop(args, io);
      case 'completion':
        return await runCompletion(args, io, USAGES);
      case 'shell':
        return await runShell(args, io);
      case 'verify':
        return await runVerify(args, io);
      case 'fault':
        return await runFault(args, io);
      case 'worker':
        return await runWorker(args, io);
      case 'truncate':
        return await runTruncate(args, io);
      case 'snapshot':
        return await runSnapshot(args, io);
      case 'backup':
        return await runBackup(args, io);
      case 'restore':
        return await runRestore(args, io);
      case 'user':
        return await runUser(args, io);
      case 'role':
        return await runRole(args, io);
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      // With --json a script still reads one JSON document, and the exit code says "usage".
      if (argv.includes('--json')) println(io.stdout, toJson({ error: { code: null, name: 'USAGE', message: error.message, inDoubt: false } }));
      println(io.stderr, `aerie: ${error.message}`);
      println(io.stderr, error.command === null ? MAIN_USAGE : USAGES[error.command]);
      return ExitCode.USAGE;
    }
    println(io.stderr, formatError(error));
    return ExitCode.FAILURE;
  }
}

function help(args: string[], io: Io): ExitCodeValue {
  if (args.length === 0) {
    println(io.stdout, MAIN_USAGE);
    return ExitCode.OK;
  }
  const usage = Object.hasOwn(USAGES, args[0]) ? USAGES[args[0]] : undefined;
  if (usage === undefined) throw new UsageError(`no such command: ${args[0]}`);
  println(io.stdout, usage);
  return ExitCode.OK;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    if (code !== null) process.exitCode = code;
  });
}
