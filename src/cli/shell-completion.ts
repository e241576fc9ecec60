// Tab completion in `aerie shell`: the first word completes to a command, the next ones to what
// the command's usage names there (<ns>: the node's namespaces; <set> or [set]: the sets INFO
// lists for that namespace). The names come from the caller, so this stays a pure function.

import { COMMANDS } from './shell-commands';

/** Words the shell knows besides its commands. */
const EXTRA_WORDS = ['help', 'quit', 'exit'];

export interface CompletionNames {
  namespaces: readonly string[];
  /** The sets of namespace `ns`. */
  sets(ns: string): readonly string[] | Promise<readonly string[]>;
}

/** What the argument at `index` (1 = the first after the command) of `command` is: 'ns', 'set' or null. */
export function argumentKind(command: string, index: number): 'ns' | 'set' | null {
  const usage = Object.hasOwn(COMMANDS, command) ? COMMANDS[command].usage : null;
  const word = usage?.split(/\s+/)[index];
  if (word === '<ns>') return 'ns';
  if (word === '<set>' || word === '[set]') return 'set';
  return null;
}

/** readline's completer answer for `line`: the candidates and the word they complete. */
export async function completeShellLine(line: string, names: CompletionNames): Promise<[string[], string]> {
  const words = line.split(/\s+/);
  if (words[0] === '') words.shift();
  const word = words.at(-1) ?? '';
  const index = Math.max(0, words.length - 1);
  let candidates: readonly string[];
  if (index === 0) candidates = [...Object.keys(COMMANDS), ...EXTRA_WORDS];
  else {
    const kind = argumentKind(words[0].toLowerCase(), index);
    candidates = kind === 'ns' ? names.namespaces : kind === 'set' ? await names.sets(words[1]) : [];
  }
  return [candidates.filter((c) => c.startsWith(word)).sort(), word];
}
