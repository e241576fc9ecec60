// `aerie top`: a live view of a node in the terminal, redrawn from INFO every interval (at least
// TOP_INTERVAL_SEC_MIN apart): the node, each namespace, each worker with its requests per second
// since the last frame. q or Ctrl-C quits on a terminal; elsewhere frames follow each other until
// SIGINT or --iterations. --once (or --json) prints one frame and exits, for scripts and tests.
// Every frame fits 100 columns.

import type { Client } from '../client';
import { DEFAULT_HOST, ExitCode, HOST_DEFAULT_TEXT, parseCommandArgs, println, UsageError, type ExitCodeValue, type Io } from './args';
import { formatBytes, formatDurationMs, formatTable, toJson } from './format';
import { LOGIN_HELP } from './login';
import { withClient } from './with-client';

export const TOP_INTERVAL_SEC_DEFAULT = 2;
export const TOP_INTERVAL_SEC_MIN = 0.5;
export const TOP_INTERVAL_SEC_MAX = 3600;
/** The widest line a frame holds. */
export const TOP_COLUMNS_MAX = 100;

export const TOP_USAGE = `usage: aerie top [--host HOST:PORT] [--interval SEC] [--iterations N] [--once] [--json]

A live view of a node: its namespaces (records, copies, memory, stop-writes)
and workers (state, partitions, records, requests per second, lag, heap,
restarts), redrawn every interval. On a terminal, q or Ctrl-C quits.

options:
  --host HOST:PORT   node to watch (default ${HOST_DEFAULT_TEXT})
  --interval SEC     seconds between frames (default ${TOP_INTERVAL_SEC_DEFAULT}, ${TOP_INTERVAL_SEC_MIN} to ${TOP_INTERVAL_SEC_MAX})
  --iterations N     stop after N frames (default: until q or Ctrl-C)
  --once             print one frame and exit (rates need two frames: shown as -)
  --json             print one frame as JSON and exit
  -h, --help         show this help

${LOGIN_HELP}`;

type Fields = Record<string, unknown>;
const fields = (v: unknown): Fields => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Fields) : {});
const list = (v: unknown): Fields[] => (Array.isArray(v) ? v.map(fields) : []);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** One frame's figures: INFO now, and per worker its requests per second since `previous`. */
export interface TopFrame {
  timeMs: number;
  node: Fields;
  namespaces: Fields[];
  workers: (Fields & { requestsPerSec: number | null; errorsPerSec: number | null })[];
}

export function topFrame(info: Fields, timeMs: number, previous: TopFrame | null): TopFrame {
  const seconds = previous === null ? 0 : (timeMs - previous.timeMs) / 1000;
  const before = new Map((previous?.workers ?? []).map((w) => [w.index, w]));
  const rate = (w: Fields, field: string): number | null => {
    const last = before.get(w.index);
    if (last === undefined || seconds <= 0) return null;
    return Math.max(0, (num(w[field]) - num(last[field])) / seconds);
  };
  return {
    timeMs,
    node: info,
    namespaces: list(info.namespaces),
    workers: list(info.workers).map((w) => ({ ...w, requestsPerSec: rate(w, 'requests'), errorsPerSec: rate(w, 'errors') })),
  };
}

const perSec = (v: number | null) => (v === null ? '-' : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(Math.round(v)));

/** The frame as text, every line at most TOP_COLUMNS_MAX wide. */
export function formatTopFrame(f: TopFrame): string {
  const n = f.node;
  const connections = fields(n.connections);
  const head = `aerie ${String(n.version ?? '-')} pid ${String(n.pid ?? '-')} up ${formatDurationMs(n.uptimeMs)}  ${num(connections.open)} conns  ${num(n.requestsInFlight)} in flight  map v${num(n.partitionMapVersion)}`;
  const total = f.workers.reduce((acc, w) => acc + (w.requestsPerSec ?? 0), 0);
  const namespaces = formatTable(
    ['NAMESPACE', 'RF', 'RECORDS', 'COPIES', 'MEMORY', 'USED', 'STOP-WRITES'],
    f.namespaces.map((ns) => [
      String(ns.name ?? '-'),
      num(ns.replicationFactor),
      num(ns.records),
      num(ns.copies),
      formatBytes(ns.memoryBytes),
      `${num(ns.memoryUsedPct).toFixed(1)}%`,
      ns.stopWrites === true ? `YES (${String(ns.stopWritesReason ?? fields(ns.disk).state ?? '')})` : 'no',
    ]),
    ['left', 'right', 'right', 'right', 'right', 'right', 'left'],
  );
  const workers = formatTable(
    ['#', 'STATE', 'MASTERS', 'REPLICAS', 'OUT-OF-SYNC', 'RECORDS', 'REQ/S', 'ERR/S', 'LAG', 'HEAP', 'RESTARTS'],
    f.workers.map((w) => {
      const roles = fields(w.roles);
      return [
        num(w.index),
        String(w.state ?? '-'),
        num(roles.master),
        num(roles.replica),
        num(roles.outOfSync),
        num(w.records),
        perSec(w.requestsPerSec),
        perSec(w.errorsPerSec),
        `${num(w.eventLoopLagMs)}ms`,
        formatBytes(w.heapUsedBytes),
        num(w.restarts),
      ];
    }),
    ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  const failures = f.workers.filter((w) => typeof w.lastFailure === 'string').map((w) => `worker ${num(w.index)} last failed: ${String(w.lastFailure)}`);
  const text = [head, `requests ${perSec(f.workers.some((w) => w.requestsPerSec !== null) ? total : null)}/s`, '', namespaces, '', workers, ...(failures.length > 0 ? ['', ...failures] : [])].join(
    '\n',
  );
  return text
    .split('\n')
    .map((line) => (line.length > TOP_COLUMNS_MAX ? `${line.slice(0, TOP_COLUMNS_MAX - 1)}…` : line))
    .join('\n');
}

function intervalMs(text: unknown): number {
  const sec = text === undefined ? TOP_INTERVAL_SEC_DEFAULT : Number(text);
  if (!Number.isFinite(sec) || sec < TOP_INTERVAL_SEC_MIN || sec > TOP_INTERVAL_SEC_MAX) {
    throw new UsageError(`--interval must be ${TOP_INTERVAL_SEC_MIN} to ${TOP_INTERVAL_SEC_MAX} seconds`, 'top');
  }
  return sec * 1000;
}

function iterations(text: unknown, once: boolean): number {
  if (once) return 1;
  if (text === undefined) return Number.POSITIVE_INFINITY;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError('--iterations must be a positive integer', 'top');
  return n;
}

export async function runTop(args: string[], io: Io): Promise<ExitCodeValue> {
  const { values } = parseCommandArgs('top', args, {
    host: { type: 'string', default: DEFAULT_HOST },
    interval: { type: 'string' },
    iterations: { type: 'string', short: 'n' },
    once: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  if (values.help) {
    println(io.stdout, TOP_USAGE);
    return ExitCode.OK;
  }
  const json = values.json === true;
  const every = intervalMs(values.interval);
  const frames = iterations(values.iterations, values.once === true || json);
  return withClient(
    values.host as string,
    io,
    async (client) => {
      if (json) {
        println(io.stdout, toJson(topFrame((await client.info()) as unknown as Fields, Date.now(), null)));
        return ExitCode.OK;
      }
      await watch(client, io, every, frames);
      return ExitCode.OK;
    },
    {},
    json,
  );
}

/** Draws frames until q, Ctrl-C, SIGINT or `frames` frames; a terminal gets each frame in place. */
async function watch(client: Client, io: Io, everyMs: number, frames: number): Promise<void> {
  const terminal = (io.stdout as { isTTY?: boolean }).isTTY === true;
  const stdin = io.stdin as NodeJS.ReadStream;
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const onKey = (data: Buffer) => {
    const key = data.toString('utf8');
    if (key === 'q' || key === 'Q' || key === '\u0003') stop();
  };
  const rawMode = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  if (rawMode) {
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onKey);
  }
  process.once('SIGINT', stop);
  if (terminal) io.stdout.write('\x1b[?25l'); // hide the cursor while frames are drawn
  let previous: TopFrame | null = null;
  let quit = false;
  void stopped.then(() => {
    quit = true;
  });
  try {
    for (let drawn = 0; drawn < frames && !quit; drawn++) {
      const frame = topFrame((await client.info()) as unknown as Fields, Date.now(), previous);
      previous = frame;
      const text = formatTopFrame(frame);
      if (terminal) io.stdout.write(`\x1b[H\x1b[2J${text}\n\n(q to quit, every ${everyMs / 1000}s)\n`);
      else println(io.stdout, `${text}\n`);
      if (drawn + 1 < frames) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([stopped, new Promise<void>((r) => (timer = setTimeout(r, everyMs)))]);
        clearTimeout(timer);
      }
    }
  } finally {
    process.off('SIGINT', stop);
    if (rawMode) {
      stdin.off('data', onKey);
      stdin.setRawMode(false);
      stdin.pause();
    }
    if (terminal) io.stdout.write('\x1b[?25h');
  }
}
