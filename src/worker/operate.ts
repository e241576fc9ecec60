// OPERATE: validate a request's ops exactly as they came off the wire, then apply them in order to
// a working copy of the record's bins. Pure: no I/O, and `existing` is never mutated — lists and
// maps are copied the first time an op in this call changes them (copy-on-write per bin).
//
// Decisions where Aerospike leaves room:
// - All ops are validated before any runs, so a malformed op yields PARAMETER whatever precedes it.
// - A call with no write-type op on a missing record is KEY_NOT_FOUND (TOUCH alone included), and
//   so is a call on a missing record that leaves no bins (DELETE alone, or only bin deletes).
// - `write` is true when the call holds a write-type op, even one that changed nothing (popping a
//   missing bin): as in Aerospike, such a call is a write for generation and TTL.
// - LIST_GET / LIST_REMOVE / LIST_POP on a missing bin answer null and change nothing; an index
//   outside the list is OP_NOT_APPLICABLE. MAP_INCREMENT on a non-numeric map value is BIN_TYPE,
//   the rule INCR applies to a non-numeric bin.
// - Float addition whose result is integral in the safe range (1.5 + 1.5) stores a plain number,
//   which reads back as an integer: the decoded value domain cannot tell 3.0 from 3.
// - Every op is charged its cost before it runs (src/worker/operate-cost.ts); a call that would
//   pass OPERATE_COST_UNITS_MAX fails QUOTA_EXCEEDED before that op, with nothing applied.

import { BINS_PER_RECORD_MAX, OPERATE_COST_UNITS_MAX } from '../constants';
import { Status } from '../errors';
import { OpType } from '../protocol/ops';
import type { BinValue, Bins } from '../protocol/ops';
import { binCount, checkBinName, checkValue, isBytes, isInt64, isInteger, isMapKey, isPlainObject, normalizeInt } from './bins';
import { CostMeter, MAP_ENTRY_COPY_UNITS, PLAIN_KEY_COPY_UNITS, PLAIN_KEY_COUNT_UNITS, lengthUnits, weightOf } from './operate-cost';

export interface OperateResult {
  /** 0, or the status of the first failing op (the other fields are then empty). */
  code: number;
  /** The record's bins after every op; empty when the record is deleted. */
  bins: Bins;
  /** results[i] answers ops[i]; null for ops without a result. */
  results: BinValue[];
  /** The call holds a write-type op: the record must be stored (or deleted). */
  write: boolean;
  /** A TOUCH op asked for the TTL to be reset. */
  touch: boolean;
  /** The record must be removed: DELETE without a later write, or no bins left. */
  deleteRecord: boolean;
  message?: string;
}

type MapKey = string | number | bigint;
type Num = number | bigint;
type PlainMap = { [key: string]: BinValue };
type AnyMap = PlainMap | Map<MapKey, BinValue>;

type ParsedOp =
  | { type: typeof OpType.READ; bin: string | null }
  | { type: typeof OpType.WRITE; bin: string; value: BinValue }
  | { type: typeof OpType.INCR; bin: string; n: Num }
  | { type: typeof OpType.APPEND | typeof OpType.PREPEND; bin: string; value: string | Uint8Array }
  | { type: typeof OpType.TOUCH | typeof OpType.DELETE }
  | { type: typeof OpType.LIST_APPEND; bin: string; value: BinValue }
  | { type: typeof OpType.LIST_GET | typeof OpType.LIST_REMOVE | typeof OpType.LIST_POP; bin: string; index: Num }
  | { type: typeof OpType.LIST_SIZE | typeof OpType.MAP_SIZE; bin: string }
  | { type: typeof OpType.MAP_PUT; bin: string; key: MapKey; value: BinValue }
  | { type: typeof OpType.MAP_GET_BY_KEY | typeof OpType.MAP_REMOVE_BY_KEY; bin: string; key: MapKey }
  | { type: typeof OpType.MAP_INCREMENT; bin: string; key: MapKey; n: Num };

interface Failure {
  code: number;
  message: string;
}

/** Array length of each op type: the type itself, the bin, then its arguments. */
const OP_LENGTH: ReadonlyMap<number, number> = new Map<number, number>([
  [OpType.READ, 2],
  [OpType.WRITE, 3],
  [OpType.INCR, 3],
  [OpType.APPEND, 3],
  [OpType.PREPEND, 3],
  [OpType.TOUCH, 1],
  [OpType.DELETE, 1],
  [OpType.LIST_APPEND, 3],
  [OpType.LIST_GET, 3],
  [OpType.LIST_SIZE, 2],
  [OpType.LIST_REMOVE, 3],
  [OpType.LIST_POP, 3],
  [OpType.MAP_PUT, 4],
  [OpType.MAP_GET_BY_KEY, 3],
  [OpType.MAP_REMOVE_BY_KEY, 3],
  [OpType.MAP_SIZE, 2],
  [OpType.MAP_INCREMENT, 4],
]);

const READ_ONLY_TYPES: ReadonlySet<number> = new Set<number>([OpType.READ, OpType.TOUCH, OpType.LIST_GET, OpType.LIST_SIZE, OpType.MAP_GET_BY_KEY, OpType.MAP_SIZE]);

/**
 * `beat` is called every OPERATE_BEAT_UNITS units spent (the worker's heartbeat: a call near the
 * budget on a loaded machine is progress, not a hang); `budget` is the units the call may spend.
 */
export function applyOps(existing: Bins | null, ops: unknown, beat: (() => void) | null = null, budget: number = OPERATE_COST_UNITS_MAX): OperateResult {
  const parsed = parseOps(ops);
  if (!Array.isArray(parsed)) return failed(parsed);
  const write = parsed.some((op) => !READ_ONLY_TYPES.has(op.type));
  if (existing === null && !write) return failed({ code: Status.KEY_NOT_FOUND, message: 'record not found' });

  const working = new Working(existing, new CostMeter(budget, beat));
  const results: BinValue[] = [];
  let touch = false;
  let deleteRecord = false;
  for (let index = 0; index < parsed.length; index++) {
    const op = parsed[index]!;
    if (op.type === OpType.TOUCH) touch = true;
    else if (op.type === OpType.DELETE) deleteRecord = true;
    else if (!READ_ONLY_TYPES.has(op.type)) deleteRecord = false; // a later write recreates the record
    results.push(working.apply(op));
    if (working.code !== 0) return failed({ code: working.code, message: `op ${index}: ${working.message}` });
  }

  const count = binCount(working.bins);
  if (count > BINS_PER_RECORD_MAX) {
    return failed({ code: Status.PARAMETER, message: `record would hold ${count} bins` });
  }
  if (count === 0) {
    if (existing === null) return failed({ code: Status.KEY_NOT_FOUND, message: 'record not found' });
    // Aerospike deletes a record whose last bin is removed.
    if (write) deleteRecord = true;
  }
  return { code: 0, bins: working.bins, results, write, touch, deleteRecord };
}

/** The sum of two numbers: 64-bit wrap-around for two integers, float addition otherwise. */
export function addNumbers(a: Num, b: Num): Num {
  if (!isInteger(a) || !isInteger(b)) return Number(a) + Number(b);
  if (typeof a === 'number' && typeof b === 'number') {
    // A rounded sum that is still a safe integer is exact: every sum up to 2^53 - 1 is representable.
    const sum = a + b;
    if (Number.isSafeInteger(sum)) return sum;
  }
  return normalizeInt(BigInt.asIntN(64, BigInt(a) + BigInt(b)));
}

function failed(failure: Failure): OperateResult {
  return { ...failure, bins: {}, results: [], write: false, touch: false, deleteRecord: false };
}

// ---- validation ----

function parseOps(ops: unknown): ParsedOp[] | Failure {
  if (!Array.isArray(ops) || ops.length === 0 || ops.length > BINS_PER_RECORD_MAX) {
    return { code: Status.PARAMETER, message: `ops must be an array of 1..${BINS_PER_RECORD_MAX} ops` };
  }
  const parsed: ParsedOp[] = [];
  for (let index = 0; index < ops.length; index++) {
    const op = parseOp(ops[index]);
    if ('code' in op) return { code: op.code, message: `op ${index}: ${op.message}` };
    parsed.push(op);
  }
  return parsed;
}

function parseOp(raw: unknown): ParsedOp | Failure {
  if (!Array.isArray(raw)) return parameter('an op is an array [opType, bin, ...args]');
  const type: unknown = raw[0];
  const length = typeof type === 'number' ? OP_LENGTH.get(type) : undefined;
  if (typeof type !== 'number' || length === undefined) return parameter('unknown op type');
  if (raw.length !== length) return parameter(`op type ${type} is an array of ${length} items`);
  if (type === OpType.TOUCH || type === OpType.DELETE) return { type };
  const bin: unknown = raw[1];
  if (type === OpType.READ && bin === null) return { type, bin: null };
  if (typeof bin !== 'string') return parameter('bin name must be a string');
  const binCode = checkBinName(bin);
  if (binCode !== 0) return { code: binCode, message: 'bad bin name' };
  const [, , arg, arg2] = raw as unknown[];
  switch (type) {
    case OpType.READ:
    case OpType.LIST_SIZE:
    case OpType.MAP_SIZE:
      return { type, bin };
    case OpType.WRITE:
      return checkValue(arg, 0) === 0 ? { type, bin, value: arg as BinValue } : parameter('bad value');
    case OpType.LIST_APPEND:
      return checkValue(arg, 1) === 0 ? { type, bin, value: arg as BinValue } : parameter('bad value');
    case OpType.INCR:
      return isNumber(arg) ? { type, bin, n: arg } : parameter('increment must be a number');
    case OpType.APPEND:
    case OpType.PREPEND:
      return typeof arg === 'string' || isBytes(arg) ? { type, bin, value: arg } : parameter('value must be a string or bytes');
    case OpType.LIST_GET:
    case OpType.LIST_REMOVE:
    case OpType.LIST_POP:
      return isInteger(arg) ? { type, bin, index: canonical(arg) } : parameter('index must be an integer');
  }
  if (!isMapKey(arg)) return parameter('map key must be a string or an integer, not "__proto__"');
  const key = canonical(arg);
  switch (type) {
    case OpType.MAP_GET_BY_KEY:
    case OpType.MAP_REMOVE_BY_KEY:
      return { type, bin, key };
    case OpType.MAP_PUT:
      return checkValue(arg2, 1) === 0 ? { type, bin, key, value: arg2 as BinValue } : parameter('bad value');
    case OpType.MAP_INCREMENT:
      return isNumber(arg2) ? { type, bin, key, n: arg2 } : parameter('increment must be a number');
  }
  return parameter('unknown op type'); // unreachable: OP_LENGTH lists exactly the types above
}

function parameter(message: string): Failure {
  return { code: Status.PARAMETER, message };
}

function isNumber(v: unknown): v is Num {
  return typeof v === 'number' || (typeof v === 'bigint' && isInt64(v));
}

/** Integers in one form only, so that map key 5n finds key 5. */
function canonical(v: Num): Num;
function canonical(v: MapKey): MapKey;
function canonical(v: MapKey): MapKey {
  return typeof v === 'bigint' ? normalizeInt(v) : v;
}

// ---- execution ----

/** The bins being operated on, and the failure of the op that stopped the call. */
class Working {
  bins: Bins;
  code = 0;
  message = '';
  /** Bins whose list or map this call copied and nothing else references: safe to change in place. */
  private readonly owned = new Set<string>();
  /**
   * The last READ of all bins, answered again (the same object) while no bin has changed: the
   * copy of a wide record is the dearest part of a read, and repeating it buys nothing.
   */
  private snapshot: Bins | null = null;
  private snapshotUnits = 0;
  /** Key counts of plain-object maps (they have no size field), by bin, while the bin is unchanged. */
  private readonly plainSizes = new Map<string, number>();
  private readonly meter: CostMeter;

  constructor(existing: Bins | null, meter: CostMeter) {
    this.bins = existing === null ? {} : { ...existing };
    this.meter = meter;
    // The copy above is the call's first cost.
    meter.charge(existing === null ? 1 : binCount(existing) * PLAIN_KEY_COPY_UNITS);
  }

  apply(op: ParsedOp): BinValue {
    switch (op.type) {
      case OpType.READ:
        return this.read(op.bin);
      case OpType.WRITE:
        return op.value === null ? this.remove(op.bin) : this.set(op.bin, op.value);
      case OpType.INCR:
        return this.incr(op.bin, op.n);
      case OpType.APPEND:
        return this.concat(op.bin, op.value, false);
      case OpType.PREPEND:
        return this.concat(op.bin, op.value, true);
      case OpType.TOUCH:
        return null;
      case OpType.DELETE:
        return this.clear();
      case OpType.LIST_APPEND:
        return this.listAppend(op.bin, op.value);
      case OpType.LIST_GET:
        return this.listAt(op.bin, op.index, false);
      case OpType.LIST_POP:
        return this.listAt(op.bin, op.index, true);
      case OpType.LIST_REMOVE:
        return this.listRemove(op.bin, op.index);
      case OpType.LIST_SIZE:
        return this.listSize(op.bin);
      case OpType.MAP_PUT:
        return this.mapPut(op.bin, op.key, op.value);
      case OpType.MAP_GET_BY_KEY:
        return this.mapGet(op.bin, op.key);
      case OpType.MAP_REMOVE_BY_KEY:
        return this.mapRemove(op.bin, op.key);
      case OpType.MAP_SIZE:
        return this.mapSize(op.bin);
      case OpType.MAP_INCREMENT:
        return this.mapIncrement(op.bin, op.key, op.n);
    }
  }

  private fail(code: number, message: string): null {
    this.code = code;
    this.message = message;
    return null;
  }

  /** Charges an op's cost before it runs: false (and the call fails) when it passes the budget. */
  private afford(units: number): boolean {
    if (this.meter.charge(units)) return true;
    this.fail(Status.QUOTA_EXCEEDED, `the call would cost more than ${this.meter.budget} units (${this.meter.spent} spent before this op, which costs ${units}); split it`);
    return false;
  }

  /** Units to copy the bin's container unless this call already owns it. */
  private copyUnits(bin: string, size: number): number {
    return this.owned.has(bin) ? 0 : size;
  }

  private get(bin: string): BinValue | undefined {
    const value = Object.hasOwn(this.bins, bin) ? this.bins[bin] : undefined;
    return value === null ? undefined : value;
  }

  private set(bin: string, value: BinValue): null {
    this.snapshot = null;
    this.bins[bin] = value;
    this.owned.delete(bin);
    this.plainSizes.delete(bin);
    return null;
  }

  private clear(): null {
    this.snapshot = null;
    this.bins = {};
    this.owned.clear();
    this.plainSizes.clear();
    return null;
  }

  private remove(bin: string): null {
    this.snapshot = null;
    delete this.bins[bin];
    this.owned.delete(bin);
    this.plainSizes.delete(bin);
    return null;
  }

  /** A result that aliases a bin's list or map makes that container shared again. */
  private read(bin: string | null): BinValue {
    if (bin === null) {
      // The encoding of every bin into the answer (the copy costs as much, and is made at most
      // once while nothing changes).
      if (this.snapshot === null) {
        let units = 1;
        for (const name in this.bins) units += lengthUnits(name.length) + weightOf(this.bins[name]);
        this.snapshotUnits = units;
        if (!this.afford(units + binCount(this.bins) * PLAIN_KEY_COPY_UNITS)) return null;
        this.snapshot = { ...this.bins };
      } else if (!this.afford(this.snapshotUnits)) {
        return null;
      }
      this.owned.clear();
      return this.snapshot;
    }
    const value = this.get(bin) ?? null;
    if (!this.afford(weightOf(value))) return null;
    this.owned.delete(bin);
    return value;
  }

  private incr(bin: string, n: Num): null {
    if (!this.afford(1)) return null;
    const current = this.get(bin) ?? 0;
    if (typeof current !== 'number' && typeof current !== 'bigint') return this.fail(Status.BIN_TYPE, `bin ${bin} is not numeric`);
    return this.set(bin, addNumbers(current, n));
  }

  private concat(bin: string, value: string | Uint8Array, prepend: boolean): null {
    const current = this.get(bin);
    // Bytes are copied whole each time; strings join as ropes, flattened once when stored.
    const copied = isBytes(current) ? current.length + value.length : value.length;
    if (!this.afford(lengthUnits(copied))) return null;
    if (current === undefined) return this.set(bin, value);
    if (typeof current === 'string' && typeof value === 'string') {
      return this.set(bin, prepend ? value + current : current + value);
    }
    if (isBytes(current) && isBytes(value)) {
      return this.set(bin, Buffer.concat(prepend ? [value, current] : [current, value]));
    }
    return this.fail(Status.BIN_TYPE, `bin ${bin} does not hold the value's type`);
  }

  // ---- lists ----

  /** The bin's list ready to change in place: copied unless this call already owns it. */
  private ownedList(bin: string, list: BinValue[]): BinValue[] {
    if (this.owned.has(bin)) return list;
    const copy = list.slice();
    this.snapshot = null;
    this.bins[bin] = copy;
    this.owned.add(bin);
    return copy;
  }

  private listAppend(bin: string, value: BinValue): BinValue {
    const current = this.get(bin);
    if (!this.afford(1 + (Array.isArray(current) ? this.copyUnits(bin, current.length) : 0))) return null;
    if (current === undefined) {
      this.snapshot = null;
      this.bins[bin] = [value];
      this.owned.add(bin);
      return 1;
    }
    if (!Array.isArray(current)) return this.fail(Status.BIN_TYPE, `bin ${bin} is not a list`);
    return this.ownedList(bin, current).push(value);
  }

  /** The element at `index` (removed when `take`); null for a missing bin. */
  private listAt(bin: string, index: Num, take: boolean): BinValue {
    const current = this.get(bin);
    if (current === undefined) return null;
    if (!Array.isArray(current)) return this.fail(Status.BIN_TYPE, `bin ${bin} is not a list`);
    const position = typeof index === 'number' && index < 0 ? index + current.length : index;
    if (typeof position !== 'number' || position < 0 || position >= current.length) {
      return this.fail(Status.OP_NOT_APPLICABLE, `index ${index} is outside a list of ${current.length}`);
    }
    // The answer's encoding; a removal also copies the list unless owned, and shifts its tail.
    const units = 1 + weightOf(current[position]) + (take ? this.copyUnits(bin, current.length) + current.length - position : 0);
    if (!this.afford(units)) return null;
    if (!take) return current[position]!;
    return this.ownedList(bin, current).splice(position, 1)[0]!;
  }

  /** 1 when an element was removed; null for a missing bin. */
  private listRemove(bin: string, index: Num): BinValue {
    if (this.get(bin) === undefined) return null;
    this.listAt(bin, index, true);
    return this.code === 0 ? 1 : null;
  }

  private listSize(bin: string): BinValue {
    if (!this.afford(1)) return null;
    const current = this.get(bin);
    if (current === undefined) return 0;
    if (!Array.isArray(current)) return this.fail(Status.BIN_TYPE, `bin ${bin} is not a list`);
    return current.length;
  }

  // ---- maps: plain objects hold string keys only; a JS Map holds integer or mixed keys ----

  /** The bin's map; undefined when the bin is missing; null after failing with BIN_TYPE. */
  private mapOf(bin: string): AnyMap | undefined | null {
    const current = this.get(bin);
    if (current === undefined || current instanceof Map || isPlainObject(current)) return current;
    return this.fail(Status.BIN_TYPE, `bin ${bin} is not a map`);
  }

  /** Units to copy the bin's map before changing it (see ownedMap). */
  private mapChangeUnits(bin: string, map: AnyMap | undefined, key: MapKey): number {
    if (map === undefined) return 1;
    const convert = !(map instanceof Map) && typeof key !== 'string';
    if (this.owned.has(bin) && !convert) return 1;
    const perEntry = map instanceof Map ? MAP_ENTRY_COPY_UNITS : PLAIN_KEY_COPY_UNITS;
    return 1 + perEntry * this.mapSizeOf(bin, map);
  }

  /**
   * The map's entry count. A plain object has no size field: its keys are counted once (charged
   * here) and the count kept until the bin is replaced (set, remove, clear drop it; this call's map
   * ops keep it up to date).
   */
  private mapSizeOf(bin: string, map: AnyMap): number {
    if (map instanceof Map) return map.size;
    const known = this.plainSizes.get(bin);
    if (known !== undefined) return known;
    const size = Object.keys(map).length;
    this.meter.spent += size * PLAIN_KEY_COUNT_UNITS; // already spent: the next afford() refuses if that passed the budget
    this.plainSizes.set(bin, size);
    return size;
  }

  /** The bin's map ready to take `key`: copied unless owned, and a JS Map if `key` is an integer. */
  private ownedMap(bin: string, map: AnyMap, key: MapKey): AnyMap {
    const convert = !(map instanceof Map) && typeof key !== 'string';
    if (this.owned.has(bin) && !convert) return map;
    const copy: AnyMap = map instanceof Map ? new Map(map) : convert ? new Map<MapKey, BinValue>(Object.entries(map)) : { ...map };
    this.snapshot = null;
    this.bins[bin] = copy;
    this.owned.add(bin);
    return copy;
  }

  private mapPut(bin: string, key: MapKey, value: BinValue): BinValue {
    const map = this.mapOf(bin);
    if (map === null || !this.afford(this.mapChangeUnits(bin, map, key))) return null;
    const size = map === undefined ? 0 : this.mapSizeOf(bin, map);
    const added = map === undefined || getEntry(map, key) === undefined;
    const target = this.ownedMap(bin, map ?? {}, key);
    setEntry(target, key, value);
    return this.resized(bin, target, added ? size + 1 : size);
  }

  /** Records a map's new size after this call changed it; returns the size. */
  private resized(bin: string, map: AnyMap, size: number): number {
    if (map instanceof Map) return map.size;
    this.plainSizes.set(bin, size);
    return size;
  }

  private mapGet(bin: string, key: MapKey): BinValue {
    const map = this.mapOf(bin);
    const value = map ? (getEntry(map, key) ?? null) : null;
    return this.afford(weightOf(value)) ? value : null;
  }

  private mapRemove(bin: string, key: MapKey): BinValue {
    const map = this.mapOf(bin);
    if (!map) return null;
    const value = getEntry(map, key);
    if (value === undefined) return null;
    if (!this.afford(this.mapChangeUnits(bin, map, key) + weightOf(value))) return null;
    const size = this.mapSizeOf(bin, map);
    const target = this.ownedMap(bin, map, key);
    if (target instanceof Map) target.delete(key);
    else delete target[key as string];
    this.resized(bin, target, size - 1);
    return value;
  }

  private mapSize(bin: string): BinValue {
    const map = this.mapOf(bin);
    if (!this.afford(1)) return null;
    return map ? this.mapSizeOf(bin, map) : 0;
  }

  private mapIncrement(bin: string, key: MapKey, n: Num): BinValue {
    const map = this.mapOf(bin);
    if (map === null || !this.afford(this.mapChangeUnits(bin, map, key))) return null;
    const entry = map === undefined ? undefined : getEntry(map, key);
    const current = entry === undefined ? 0 : entry;
    if (typeof current !== 'number' && typeof current !== 'bigint') {
      return this.fail(Status.BIN_TYPE, `map value at key ${String(key)} is not numeric`);
    }
    const sum = addNumbers(current, n);
    const size = map === undefined ? 0 : this.mapSizeOf(bin, map);
    const target = this.ownedMap(bin, map ?? {}, key);
    setEntry(target, key, sum);
    this.resized(bin, target, entry === undefined ? size + 1 : size);
    return sum;
  }
}

function getEntry(map: AnyMap, key: MapKey): BinValue | undefined {
  if (map instanceof Map) return map.has(key) ? map.get(key) : undefined;
  return typeof key === 'string' && Object.hasOwn(map, key) ? map[key] : undefined;
}

/** `map` is owned and, for an integer key, already a JS Map (see ownedMap). */
function setEntry(map: AnyMap, key: MapKey, value: BinValue): void {
  if (map instanceof Map) map.set(key, value);
  else map[key as string] = value;
}
