// The progress line of long-running commands: redrawn in place on a terminal, silent in pipes and
// logs, which get the command's summary alone. Backup and restore count the records they move, so
// they show done of total with an ETA (`ProgressLine`). Verify and snapshot create / restore are
// one request the node answers when done: on a terminal they ask the node for progress pushes and
// draw the same line from them (`withProgressLine`), showing the time so far until the first push;
// piped they ask for none, and with --json none either, showing only the time so far, as before.

import type { Progress, ProgressCallback } from '../client/progress';

/** The progress line is redrawn at most this often. */
const PROGRESS_REDRAW_MS = 100;

function isTerminal(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** `3.2s (31,250 records/s)` */
export function formatRate(records: number, elapsedMs: number, unit = 'records'): string {
  const perSecond = elapsedMs > 0 ? Math.round((records * 1000) / elapsedMs) : 0;
  return `${(elapsedMs / 1000).toFixed(1)}s (${perSecond.toLocaleString('en-US')} ${unit}/s)`;
}

/** `1m 5s`, `12s`: an ETA as people read it. */
export function formatEta(ms: number): string {
  const sec = Math.max(0, Math.ceil(ms / 1000));
  return sec >= 60 ? `${Math.floor(sec / 60)}m ${sec % 60}s` : `${sec}s`;
}

/** The time left at the rate so far; null when it cannot be told yet. */
export function etaMs(records: number, total: number | null, elapsedMs: number): number | null {
  if (total === null || records <= 0 || records > total || elapsedMs <= 0) return null;
  return ((total - records) * elapsedMs) / records;
}

/** One line on a terminal, redrawn in place: records done, of how many, the rate and the ETA. Silent elsewhere. */
export class ProgressLine {
  /** Whether anything is drawn: only on a terminal, so pipes and logs get the summary alone. */
  readonly enabled: boolean;
  private readonly stream: NodeJS.WritableStream;
  /** What is counted ('records'), and what the line is about (`verifying test: `), or ''. */
  private readonly unit: string;
  private readonly prefix: string;
  private drawnAtMs = -Infinity;
  private drawn = false;

  constructor(stream: NodeJS.WritableStream, options: { unit?: string; label?: string } = {}) {
    this.stream = stream;
    this.enabled = isTerminal(stream);
    this.unit = options.unit ?? 'records';
    this.prefix = options.label === undefined ? '' : `${options.label}: `;
  }

  /**
   * `total`: records expected, or null when unknown. A namespace's count comes from INFO, which
   * lags behind recent writes, so a total already passed is dropped rather than shown as > 100%.
   */
  update(records: number, total: number | null, elapsedMs: number): void {
    if (!this.enabled || elapsedMs - this.drawnAtMs < PROGRESS_REDRAW_MS) return;
    this.drawnAtMs = elapsedMs;
    const done = records.toLocaleString('en-US');
    const of = total === null || records > total ? '' : ` / ${total.toLocaleString('en-US')} (${Math.min(100, Math.floor((records * 100) / Math.max(1, total)))}%)`;
    const eta = etaMs(records, total, elapsedMs);
    this.stream.write(`\r\x1b[K${this.prefix}${done}${of} ${this.unit}, ${formatRate(records, elapsedMs, this.unit)}${eta === null ? '' : `, ETA ${formatEta(eta)}`}`);
    this.drawn = true;
  }

  clear(): void {
    if (!this.drawn) return;
    this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}

/**
 * Runs a node operation that can report progress (`start(onProgress)`) under a line on a
 * terminal: `what: 3.2s` until the node's first report, then `what: done / total (n%) unit, rate,
 * ETA`, redrawn as reports come and every PROGRESS_REDRAW_MS between. Off a terminal, or with
 * `askNode` false (--json keeps its output as it was), it asks for no progress (`start(undefined)`),
 * so the request is exactly the one sent without it; on a terminal the time so far is still drawn.
 */
export async function withProgressLine<T>(stream: NodeJS.WritableStream, what: string, start: (onProgress: ProgressCallback | undefined) => Promise<T>, askNode = true): Promise<T> {
  if (!isTerminal(stream)) return start(undefined);
  const startedMs = Date.now();
  let last: Progress | null = null;
  let line: ProgressLine | null = null;
  const draw = () => {
    const elapsedMs = Date.now() - startedMs;
    if (last === null) stream.write(`\r\x1b[K${what}: ${(elapsedMs / 1000).toFixed(1)}s`);
    else {
      line ??= new ProgressLine(stream, { unit: last.unit, label: what });
      line.update(last.done, last.total, elapsedMs);
    }
  };
  const onProgress = (progress: Progress) => {
    last = progress;
    draw();
  };
  draw();
  const timer = setInterval(draw, PROGRESS_REDRAW_MS);
  try {
    return await start(askNode ? onProgress : undefined);
  } finally {
    clearInterval(timer);
    stream.write('\r\x1b[K');
  }
}
