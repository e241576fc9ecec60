// The shell's history across sessions: a file in the user's home (~/.aerie_history) or the one
// $AERIE_HISTORY names (empty: no history file). The last SHELL_HISTORY_LINES_MAX lines are
// loaded into readline and the file is cut back to them, so it never grows past one session's
// lines more than that. Each line is appended as it is run (a crash loses nothing), except a line
// that starts with a space (bash's ignorespace habit, for a line one wants forgotten). The file
// is created readable by its owner only.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const HISTORY_ENV = 'AERIE_HISTORY';
export const SHELL_HISTORY_LINES_MAX = 1000;
/** A history file larger than this is not read (it is not ours, or something went wrong). */
const HISTORY_FILE_BYTES_MAX = 4 * 1024 * 1024;

/** The history file, or null when $AERIE_HISTORY is set empty. */
export function historyFile(env: NodeJS.ProcessEnv = process.env): string | null {
  const named = env[HISTORY_ENV];
  if (named !== undefined) return named === '' ? null : path.resolve(named);
  return path.join(os.homedir(), '.aerie_history');
}

export class ShellHistory {
  constructor(private readonly file: string | null) {}

  /** The kept lines, newest first (readline's order); the file cut back to them. */
  load(): string[] {
    if (this.file === null) return [];
    let lines: string[];
    try {
      if (fs.statSync(this.file).size > HISTORY_FILE_BYTES_MAX) return [];
      lines = fs
        .readFileSync(this.file, 'utf8')
        .split('\n')
        .filter((l) => l !== '');
    } catch {
      return []; // no history yet (or unreadable: the shell works without it)
    }
    if (lines.length > SHELL_HISTORY_LINES_MAX) {
      lines = lines.slice(-SHELL_HISTORY_LINES_MAX);
      this.write(`${lines.join('\n')}\n`, 'w');
    }
    return lines.reverse();
  }

  /** Appends a line the user ran. */
  add(line: string): void {
    if (this.file === null || line.trim() === '' || line.startsWith(' ')) return;
    this.write(`${line.replace(/[\r\n]/g, ' ')}\n`, 'a');
  }

  private write(text: string, flag: 'a' | 'w'): void {
    try {
      fs.writeFileSync(this.file as string, text, { flag, mode: 0o600 });
    } catch {
      // A read-only home must not stop the shell: history is a convenience.
    }
  }
}
