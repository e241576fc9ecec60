// Void-times (a record's expiry, whole seconds since Aerospike's 2010 epoch, as the index stores
// them) and the TTL a client is shown: one place for the rounding, used by the worker and by the
// primary's direct reads alike.

import { CITRUSLEAF_EPOCH_SEC } from '../constants';

/** Void-time of now + ttlSec, rounded up so a record lives at least its TTL. */
export function voidTimeAfter(ttlSec: number, nowMs: number): number {
  return Math.ceil(nowMs / 1000 + ttlSec) - CITRUSLEAF_EPOCH_SEC;
}

/** Whole seconds since the citrusleaf epoch: a record with 0 < voidTime <= this has expired. */
export function nowVoidSec(nowMs: number): number {
  return Math.floor(nowMs / 1000) - CITRUSLEAF_EPOCH_SEC;
}

/**
 * The TTL a client sees: the whole seconds left (at least 1 for a live record), or -1 for a
 * record that never expires. Counted from the millisecond, not the whole second: the void-time
 * is rounded up, so a TTL of 100 has between 100 and 101 seconds left when it is written, and
 * counting from the whole second would show 101.
 */
export function ttlOf(voidTime: number, nowMs: number): number {
  if (voidTime === 0) return -1;
  return Math.max(1, Math.floor(((voidTime + CITRUSLEAF_EPOCH_SEC) * 1000 - nowMs) / 1000));
}

/** Whether a record with this void-time has expired at nowVoid (nowVoidSec); 0 never expires. */
export function hasExpired(voidTime: number, nowVoid: number): boolean {
  return voidTime !== 0 && voidTime <= nowVoid;
}
