// Runs the real `aerie` command (dist/src/cli/main.js) in a child process, with its output
// captured, bounded by a timeout (the child is killed and the test fails rather than hang). On a
// terminal too: `inTerminal` runs it under util-linux `script`, which gives it a pseudo-terminal
// and passes keystrokes written to its stdin.

import { spawn } from 'node:child_process';
import * as path from 'node:path';

export const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');
const RUN_TIMEOUT_MS = 30_000;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  timeoutMs?: number;
}

function run(file: string, args: string[], options: CliOptions, onOutput?: (text: string, write: (s: string) => void) => void): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // Keys typed as the command exits find the pipe closed: that is the command's business, not an error here.
    child.stdin.on('error', () => undefined);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`aerie ${args.join(' ')}: no exit within ${options.timeoutMs ?? RUN_TIMEOUT_MS} ms; stdout: ${stdout.slice(-2000)} stderr: ${stderr.slice(-2000)}`));
    }, options.timeoutMs ?? RUN_TIMEOUT_MS);
    child.stdout.on('data', (d) => {
      stdout += d;
      onOutput?.(stdout, (s) => child.stdin.write(s));
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
  });
}

/** `aerie ARGS` with stdin a pipe. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  return run(process.execPath, [CLI, ...args], options);
}

/**
 * `aerie ARGS` on a pseudo-terminal; `react(outputSoFar)` answers keystrokes to type (or null)
 * each time output arrives. stdout holds everything the terminal showed.
 */
export function runCliInTerminal(args: string[], react: (output: string) => string | null, options: CliOptions = {}): Promise<CliRun> {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  let typed = 0;
  return run('script', ['-qfec', command, '/dev/null'], { ...options, env: { TERM: 'xterm', ...options.env } }, (output, write) => {
    const keys = react(output.slice(typed));
    if (keys !== null) {
      typed = output.length;
      write(keys);
    }
  });
}
