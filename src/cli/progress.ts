// The progress line of long-running commands (backup, restore): redrawn in place on a terminal,
// silent in pipes and logs, which get the command's summary alone.

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

/** One line on a terminal, redrawn in place: records done, of how many, and the rate. Silent elsewhere. */
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
    this.stream.write(`\r\x1b[K${done}${of} records, ${formatRate(records, elapsedMs)}`);
    this.drawn = true;
  }

  clear(): void {
    if (!this.drawn) return;
    this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
