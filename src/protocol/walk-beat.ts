// Progress of long walks over msgpack values, for the thread's liveness signal. A frame within
// frameBytesMax can hold 16 million one-byte values, and a worker that serves clients walks each
// frame (to find where its bodies end), each body it applies (decoding and checking its values)
// and each value it encodes, all on the thread whose heartbeat the supervisor watches: seconds of
// work with no loop turn to beat in. So every walk counts the values it visits here, and each
// WALK_BEAT_VALUES the thread's hook runs (a worker beats its heartbeat; the primary and the
// pool's threads set none). Per value this is one decrement and one compare.

import { WALK_BEAT_VALUES } from '../constants';

let hook: (() => void) | null = null;
let valuesLeft = WALK_BEAT_VALUES;

/** Sets this thread's hook (null: none), called from inside walks every WALK_BEAT_VALUES values. */
export function setWalkBeat(beat: (() => void) | null): void {
  hook = beat;
  valuesLeft = WALK_BEAT_VALUES;
}

/** Counts one value visited by a walk. */
export function valueWalked(): void {
  if (--valuesLeft > 0) return;
  valuesLeft = WALK_BEAT_VALUES;
  if (hook !== null) hook();
}
