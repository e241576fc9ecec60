// `aerie completion bash|zsh`: a shell completion script, made from the commands' own usage texts
// (so it cannot fall behind an option): commands, subcommands, each command's options, files after
// the options that take one, fault kinds, and namespaces asked of the node
// (`aerie completion namespaces`, one INFO with a short timeout).

import { DEFAULT_HOST, ExitCode, parseCommandArgs, println, UsageError, type ExitCodeValue, type Io } from './args';
import { withClient } from './with-client';

export const COMPLETION_USAGE = `usage: aerie completion bash|zsh
       aerie completion namespaces [--host HOST:PORT]

Prints a completion script for bash or zsh. Load it in the current shell:
  source <(aerie completion bash)        # bash
  source <(aerie completion zsh)         # zsh
or save it where your shell loads completions from, e.g.
  aerie completion bash > /etc/bash_completion.d/aerie

It completes commands, subcommands, options, files, fault kinds, and after
--ns the namespaces of $AERIE_HOST (\`aerie completion namespaces\` prints them).`;

/** Subcommands (the first positional) of the commands that have them. */
const SUBCOMMANDS: Readonly<Record<string, readonly string[]>> = {
  snapshot: ['create', 'list', 'restore', 'delete'],
  worker: ['restart'],
  user: ['create', 'drop', 'passwd', 'grant', 'revoke', 'list'],
  role: ['create', 'drop', 'allowlist', 'list'],
  completion: ['bash', 'zsh', 'namespaces'],
};
/** Options followed by a file name. */
const FILE_OPTIONS = ['--config', '--out', '--data-dir', '--password-file'];
const FAULT_KINDS = ['crash', 'exit', 'hang', 'stall', 'oom', 'lag', 'disk-full', 'disk-eio', 'sync-eio', 'disk-low', 'disk-ok'];
const RESTORE_POLICIES = ['create-only', 'replace', 'generation-gt', 'update'];
/** A namespace lookup gives up after this: a completion must not hang on a node that does not answer. */
const NAMESPACES_TIMEOUT_MS = 1500;

/** Every `--option` a usage text names. */
export function optionsOf(usage: string): string[] {
  return [...new Set(usage.match(/--[a-z][a-z-]*/g) ?? [])].sort();
}

function caseArms(entries: [string, string[]][]): string {
  return entries.map(([name, words]) => `    ${name}) words="${words.join(' ')}" ;;`).join('\n');
}

export function bashScript(usages: Readonly<Record<string, string>>): string {
  const commands = [...Object.keys(usages), 'help'].sort();
  const options = Object.entries(usages).map(([name, usage]) => [name, optionsOf(usage)] as [string, string[]]);
  const subcommands = Object.entries(SUBCOMMANDS).map(([name, subs]) => [name, [...subs]] as [string, string[]]);
  return `# aerie completion for bash (aerie completion bash). Load with: source <(aerie completion bash)
_aerie() {
  local cur prev words command
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  command="\${COMP_WORDS[1]}"
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands.join(' ')}" -- "$cur") )
    return 0
  fi
  case "$prev" in
    ${FILE_OPTIONS.join('|')}) COMPREPLY=( $(compgen -f -- "$cur") ); return 0 ;;
    --kind) COMPREPLY=( $(compgen -W "${FAULT_KINDS.join(' ')}" -- "$cur") ); return 0 ;;
    --policy) COMPREPLY=( $(compgen -W "${RESTORE_POLICIES.join(' ')}" -- "$cur") ); return 0 ;;
    --ns)
      local host=() i
      for (( i=1; i < COMP_CWORD; i++ )); do
        if [ "\${COMP_WORDS[i]}" = "--host" ]; then host=(--host "\${COMP_WORDS[i+1]}"); fi
      done
      COMPREPLY=( $(compgen -W "$("\${COMP_WORDS[0]}" completion namespaces "\${host[@]}" 2>/dev/null)" -- "$cur") )
      return 0 ;;
  esac
  if [ "$command" = "help" ]; then
    COMPREPLY=( $(compgen -W "${commands.join(' ')}" -- "$cur") )
    return 0
  fi
  words=""
  if [ "$COMP_CWORD" -eq 2 ]; then
    case "$command" in
${caseArms(subcommands)}
    esac
  fi
  if [ -z "$words" ] || [[ "$cur" == -* ]]; then
    case "$command" in
${caseArms(options)}
    esac
  fi
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  return 0
}
complete -o default -F _aerie aerie
`;
}

/** zsh runs the bash function through bashcompinit, so both shells complete alike. */
export function zshScript(usages: Readonly<Record<string, string>>): string {
  return `# aerie completion for zsh (aerie completion zsh). Load with: source <(aerie completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript(usages).split('\n').slice(1).join('\n')}`;
}

export async function runCompletion(args: string[], io: Io, usages: Readonly<Record<string, string>>): Promise<ExitCodeValue> {
  const { values, positionals } = parseCommandArgs('completion', args, { host: { type: 'string', default: DEFAULT_HOST } }, 1);
  if (values.help) {
    println(io.stdout, COMPLETION_USAGE);
    return ExitCode.OK;
  }
  const shell = positionals[0];
  if (shell === 'bash') io.stdout.write(bashScript(usages));
  else if (shell === 'zsh') io.stdout.write(zshScript(usages));
  else if (shell === 'namespaces') {
    return withClient(
      values.host as string,
      io,
      async (client) => {
        const names = client.server.namespaces;
        if (Array.isArray(names)) for (const ns of names) println(io.stdout, String(ns));
        return ExitCode.OK;
      },
      { timeoutMs: NAMESPACES_TIMEOUT_MS, connectTimeoutMs: NAMESPACES_TIMEOUT_MS },
    );
  } else throw new UsageError(shell === undefined ? 'name a shell: bash or zsh' : `no completion for ${shell}: bash or zsh`, 'completion');
  return ExitCode.OK;
}
