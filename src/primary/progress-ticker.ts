// How far a long admin operation (VERIFY, SNAPSHOT create or restore) is, told to the client that
// asked (docs/protocol.md, "Progress"). The background jobs doing the work count in shared words
// (src/shm/job-progress.ts); this sums them every PROGRESS_PUSH_INTERVAL_MS and tells the sum when
// it moved. Nothing happens per record here: a job stores its count once per stride, and this
// reads one word per job per interval.

import { assert } from '../assert';
import { PROGRESS_PUSH_INTERVAL_MS } from '../constants';
import type { ProgressSink } from '../endpoint/session';
import { newProgressWord, readProgress } from '../shm/job-progress';

/**
 * What the operations count: index entries, each record's master copy and each replica's copy
 * apart (the `copies` of VERIFY's answer), since every job walks a worker's whole store.
 */
export const PROGRESS_UNIT = 'copies';

export class ProgressTicker {
  private total = 0;
  private readonly words: Int32Array[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private toldDone = -1;
  private toldTotal = -1;
  private stopped = false;

  constructor(private readonly sink: ProgressSink) {}

  /** `count` more records are expected of one job; answers the word that job counts them in. */
  expect(count: number): SharedArrayBuffer {
    assert(!this.stopped, 'ProgressTicker: a job expected after stop()');
    assert(Number.isSafeInteger(count) && count >= 0, `ProgressTicker: a job of ${count} records`);
    const word = newProgressWord();
    this.words.push(word);
    this.total += count;
    return word.buffer as SharedArrayBuffer;
  }

  /** Every job is expected (the total is known): tells it now, then every interval while it moves. */
  start(): void {
    if (this.stopped || this.timer !== null) return;
    this.tell();
    this.timer = setInterval(() => this.tell(), PROGRESS_PUSH_INTERVAL_MS);
    // The operation's own work keeps the process alive; its reports must not.
    this.timer.unref();
  }

  /** The operation ended (its answer follows): a last report if it moved since the one before. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.tell();
  }

  private tell(): void {
    let done = 0;
    for (const word of this.words) done += readProgress(word);
    // Records written while a verify walks are walked too: the total grows rather than be passed.
    const total = Math.max(this.total, done);
    if (done === this.toldDone && total === this.toldTotal) return;
    this.toldDone = done;
    this.toldTotal = total;
    this.sink(done, total, PROGRESS_UNIT);
  }
}

/** A ticker for an operation whose client asked for progress; null when none did. */
export function progressTicker(sink: ProgressSink | undefined): ProgressTicker | null {
  return sink === undefined ? null : new ProgressTicker(sink);
}
