// Starts `aerie start --config FILE` as a separate process (for tests that kill it with SIGKILL)
// and resolves once it listens. A node that neither listens nor exits within the time limit is
// killed and reported with its output, so a test never hangs on it.

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

// Compiled, helpers live in dist/test/helpers and the CLI in dist/src/cli/main.js.
const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');
const START_TIMEOUT_MS = 30_000;

/**
 * `options.descriptorsMax` runs the node under `ulimit -n` (soft and hard) of that many descriptors;
 * `options.stderr` sees everything the node writes there.
 */
export async function startCliNode(
  config: string,
  options: { descriptorsMax?: number; stderr?: (text: string) => void } = {},
): Promise<{ child: ChildProcess; host: string; exited: Promise<unknown> }> {
  const child =
    options.descriptorsMax === undefined
      ? spawn(process.execPath, [CLI, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('bash', ['-c', `ulimit -n ${options.descriptorsMax} && exec "$0" "$@"`, process.execPath, CLI, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', r));
  let out = '';
  child.stderr!.on('data', (d) => {
    out += d;
    options.stderr?.(String(d));
  });
  // AERIE_TEST_NODE_LOG=FILE keeps every such node's output, for a failure that needs its story.
  const keep = process.env.AERIE_TEST_NODE_LOG;
  if (keep !== undefined) {
    appendFileSync(keep, `--- node pid ${child.pid} started ${new Date().toISOString()}\n`);
    child.stdout!.on('data', (d) => appendFileSync(keep, d));
    child.stderr!.on('data', (d) => appendFileSync(keep, d));
  }
  const host = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node not ready after ${START_TIMEOUT_MS} ms: ${out}`));
    }, START_TIMEOUT_MS);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /wss?:\/\/([\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited ${code}: ${out}`));
    });
  });
  return { child, host, exited };
}

/**
 * A config file for a 2-worker node with one file namespace `test` (or the namespaces
 * `namespaces` makes for the new directory), in a new temp directory.
 */
export function fileNodeConfig(prefix: string, namespaces?: (dir: string) => object[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), `aerie-${prefix}-`));
  const config = path.join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      service: { port: 0 },
      workers: { count: 2 },
      namespaces: namespaces?.(dir) ?? [{ name: 'test', storage: 'file', dataDir: path.join(dir, 'data') }],
      log: { level: 'warn' },
    }),
  );
  return config;
}

/** A memory-only node's config (2 workers, the given namespaces), in a new temp directory. */
export function memoryNodeConfig(prefix: string, namespaces: string[] = ['test']): string {
  const dir = mkdtempSync(path.join(tmpdir(), `aerie-${prefix}-`));
  const config = path.join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      service: { port: 0 },
      workers: { count: 2 },
      namespaces: namespaces.map((name) => ({ name, storage: 'memory' })),
      log: { level: 'warn' },
    }),
  );
  return config;
}

/** Resident set size of a process (Linux), in bytes: what the node really holds. */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}
