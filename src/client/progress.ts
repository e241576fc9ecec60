// Progress of the long admin calls (verify, repair, createSnapshot, restoreSnapshot): a call given
// `onProgress` asks with `progress: true`, and the node pushes `{event: 'progress', request, op,
// done, total, unit}` on the call's connection while it runs (docs/protocol.md, "Progress"). The
// pipeline hands each push to the call in flight whose id it names (pipeline.ts).

import type { BasePolicy, ReadPolicy } from './policy';
import { parameterError } from './validate';

/** How far an operation is: `done` of `total`, counted in `unit` ('copies': index entries, replicas' copies apart). */
export interface Progress {
  done: number;
  total: number;
  unit: string;
}

/** Called with each progress push of the call; what it throws is ignored (it cannot stop the operation). */
export type ProgressCallback = (progress: Progress) => void;

/** The options of createSnapshot(), restoreSnapshot() and repair(). */
export interface ProgressPolicy extends BasePolicy {
  /** Told how far the node is, about four times a second and once as it ends; the call still resolves with its answer. */
  onProgress?: ProgressCallback;
}

/** The options of verify(): a read, so it may be re-sent after a lost connection (its progress then starts again). */
export interface VerifyPolicy extends ReadPolicy {
  onProgress?: ProgressCallback;
}

/** The call's progress callback, checked; undefined when it has none. */
export function progressCallbackOf(policy: { onProgress?: unknown } | undefined): ProgressCallback | undefined {
  const callback = policy?.onProgress;
  if (callback === undefined) return undefined;
  if (typeof callback !== 'function') throw parameterError('onProgress must be a function');
  return callback as ProgressCallback;
}

/** The request id a pushed body reports progress for; -1 when it is not a well-formed progress push. */
export function progressRequestOf(body: unknown): number {
  if (body === null || typeof body !== 'object') return -1;
  const push = body as { event?: unknown; request?: unknown; done?: unknown; total?: unknown; unit?: unknown };
  if (push.event !== 'progress' || typeof push.request !== 'number' || !Number.isInteger(push.request)) return -1;
  if (!isCount(push.done) || !isCount(push.total) || typeof push.unit !== 'string') return -1;
  return push.request;
}

/** Hands a well-formed progress push (progressRequestOf(body) >= 0) to `callback`. */
export function tellProgress(callback: ProgressCallback, body: unknown): void {
  const push = body as { done: number; total: number; unit: string };
  try {
    callback({ done: push.done, total: push.total, unit: push.unit });
  } catch {
    // The application's callback failed: the call goes on, and so do the other answers of the frame.
  }
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
