// The progress line of long-running commands: redrawn in place on a terminal, silent in pipes and
// logs, which get the command's summary alone. Backup and restore know how far they are, so they
// show an ETA; verify and snapshot are one request the node answers when done, so they show the
// time so far (`ElapsedLine`).

/** The progress line is redrawn at most this often. */
const PROGRESS_REDRAW_MS = 100;

function isTerminal(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** `3.2s (31,250 records/s)` */
export function formatRate(records: number, elapsedMs: number): string {
  const perSecond = elapsedMs > 0 ? Math.round((records * 1000) / elapsedMs) : 0;
  return `${(elapsedMs / 1000).toFixed(1)}s (${perSecond.toLocaleString('en-US')} records/s)`;
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
  private drawnAtMs = -Infinity;
  private drawn = false;

  constructor(stream: NodeJS.WritableStream) {
    this.stream = stream;
    this.enabled = isTerminal(stream);
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
    this.stream.write(`\r\x1b[K${done}${of} records, ${formatRate(records, elapsedMs)}${eta === null ? '' : `, ETA ${formatEta(eta)}`}`);
    this.drawn = true;
  }

  clear(): void {
    if (!this.drawn) return;
    this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}

/** Redraws `what: 3.2s` every PROGRESS_REDRAW_MS while `work` runs, on a terminal only. */
export async function withElapsedLine<T>(stream: NodeJS.WritableStream, what: string, work: Promise<T>): Promise<T> {
  if (!isTerminal(stream)) return work;
  const started = Date.now();
  const draw = () => stream.write(`\r\x1b[K${what}: ${((Date.now() - started) / 1000).toFixed(1)}s`);
  draw();
  const timer = setInterval(draw, PROGRESS_REDRAW_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    stream.write('\r\x1b[K');
  }
}
