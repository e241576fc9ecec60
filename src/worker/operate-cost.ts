// What an OPERATE costs, in one place. A cost unit is one bin, list element or map entry visited
// or copied, or COST_UNIT_BYTES bytes of a string or bytes value (src/constants.ts). Each op is
// charged before it runs, from the record as it stands then; a call whose charges would pass
// OPERATE_COST_UNITS_MAX is refused before that op does its work. A call works on a copy of the
// record, so a refused call has changed nothing, and the work spent on it is bounded by the budget.
//
// What each op pays for (docs/protocol.md, "Request cost"):
// - READ of all bins: the copy of every bin, and the encoding of every value into the answer;
// - READ of one bin, LIST_GET, MAP_GET_BY_KEY: the encoding of the value answered;
// - a list or map change: the copy of the container the first time this call changes it (a read
//   of the bin makes the container shared again, so the next change copies it again), the shift
//   of a list removal, a plain object's key count (it has no size field), and the value stored;
// - APPEND / PREPEND: the bytes copied (bytes values are copied whole; strings join as ropes).

import { COST_UNIT_BYTES, OPERATE_BEAT_UNITS, OPERATE_COST_UNITS_MAX } from '../constants';
import type { BinValue } from '../protocol/ops';
import { valueWalked } from '../protocol/walk-beat';
import { isBytes, isPlainObject } from './bins';

/**
 * Copying a plain object (a record's bins, a string-keyed map) costs this many units a key: such
 * objects are hash tables past a few dozen keys, and their copy measured about 16 times a list
 * element's (1-2 µs a key against 0.02-0.1 µs here, 2 cores under load).
 */
export const PLAIN_KEY_COPY_UNITS = 16;
/** Copying a JS Map (integer- or mixed-keyed map) costs this many units an entry (measured 4-8 times a list element's). */
export const MAP_ENTRY_COPY_UNITS = 4;
/** Counting a plain object's keys costs this many units a key. */
export const PLAIN_KEY_COUNT_UNITS = 2;

/** Units of a string or bytes value of `length` (UTF-16 units or bytes). */
export function lengthUnits(length: number): number {
  return 1 + Math.floor(length / COST_UNIT_BYTES);
}

/**
 * The units of encoding or copying `value` deeply: one per scalar, list element and map entry,
 * plus the length of strings and bytes. Linear in the value; values are at most VALUE_DEPTH_MAX
 * deep (checked when they were decoded or written).
 */
export function weightOf(value: BinValue | undefined): number {
  valueWalked();
  if (value === null || value === undefined) return 1;
  switch (typeof value) {
    case 'string':
      return lengthUnits(value.length);
    case 'object':
      break;
    default:
      return 1;
  }
  if (isBytes(value)) return lengthUnits(value.length);
  let units = 1;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) units += weightOf(value[i]);
  } else if (value instanceof Map) {
    for (const [key, v] of value) units += weightOf(key as BinValue) + weightOf(v);
  } else if (isPlainObject(value)) {
    for (const key in value) units += lengthUnits(key.length) + weightOf(value[key]);
  }
  return units;
}

/** The units spent by one call, against OPERATE_COST_UNITS_MAX. */
export class CostMeter {
  spent = 0;
  private beatAt = OPERATE_BEAT_UNITS;

  /** `beat` is called each time another OPERATE_BEAT_UNITS are spent. */
  constructor(
    readonly budget: number = OPERATE_COST_UNITS_MAX,
    private readonly beat: (() => void) | null = null,
  ) {}

  /** Adds `units` unless that passes the budget: false then, and the op must not run. */
  charge(units: number): boolean {
    if (this.spent + units > this.budget) return false;
    this.spent += units;
    if (this.spent >= this.beatAt && this.beat !== null) {
      this.beatAt = this.spent + OPERATE_BEAT_UNITS;
      this.beat();
    }
    return true;
  }
}
