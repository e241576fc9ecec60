// How far one background job is, in one shared word: the job's thread stores its count of records
// done once per JOB_PROGRESS_STRIDE_RECORDS records and at its end; the primary reads it when it
// tells a client how far an operation is (src/primary/progress-ticker.ts). One aligned word
// written by one thread needs no lock: a reader sees some count the job had, never a torn one.

import { JOB_PROGRESS_STRIDE_RECORDS } from '../constants';

const STRIDE_MASK = JOB_PROGRESS_STRIDE_RECORDS - 1;

/** A new word, counting from zero, for one job. */
export function newProgressWord(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
}

/** The job's view of the word it was given, or null when nobody asked for progress. */
export function attachProgressWord(sab: SharedArrayBuffer | undefined): Int32Array | null {
  return sab === undefined ? null : new Int32Array(sab, 0, 1);
}

/** Called once per record with the count so far: stores it when it ends a stride. */
export function noteProgress(word: Int32Array | null, done: number): void {
  if (word !== null && (done & STRIDE_MASK) === 0) Atomics.store(word, 0, done);
}

/** The job's final count, whatever the stride. */
export function finishProgress(word: Int32Array | null, done: number): void {
  if (word !== null) Atomics.store(word, 0, done);
}

/** The count the job stored last (unsigned: a word counts up to 2^32 - 1). */
export function readProgress(word: Int32Array): number {
  return Atomics.load(word, 0) >>> 0;
}
