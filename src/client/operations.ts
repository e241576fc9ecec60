// Builders for operate() sub-operations. Each returns the exact wire array of protocol/ops.ts
// (`[opType, bin, ...args]`), so what a test or a debugger sees is what the server receives.

import { OpType, type BinValue } from '../protocol/ops';
import { checkBinName, parameterError } from './validate';

/** A map key inside a map bin: strings, or integers for maps with integer keys. */
export type MapKey = string | number | bigint;
/** A number an increment adds: integers (number or bigint) or floats. */
export type Increment = number | bigint;

export type ReadOp = [typeof OpType.READ, string | null];
export type WriteOp = [typeof OpType.WRITE, string, BinValue];
export type IncrOp = [typeof OpType.INCR, string, Increment];
export type AppendOp = [typeof OpType.APPEND, string, string | Uint8Array];
export type PrependOp = [typeof OpType.PREPEND, string, string | Uint8Array];
export type TouchOp = [typeof OpType.TOUCH];
export type DeleteOp = [typeof OpType.DELETE];
export type ListAppendOp = [typeof OpType.LIST_APPEND, string, BinValue];
export type ListGetOp = [typeof OpType.LIST_GET, string, number];
export type ListSizeOp = [typeof OpType.LIST_SIZE, string];
export type ListRemoveOp = [typeof OpType.LIST_REMOVE, string, number];
export type ListPopOp = [typeof OpType.LIST_POP, string, number];
export type MapPutOp = [typeof OpType.MAP_PUT, string, MapKey, BinValue];
export type MapGetByKeyOp = [typeof OpType.MAP_GET_BY_KEY, string, MapKey];
export type MapRemoveByKeyOp = [typeof OpType.MAP_REMOVE_BY_KEY, string, MapKey];
export type MapSizeOp = [typeof OpType.MAP_SIZE, string];
export type MapIncrementOp = [typeof OpType.MAP_INCREMENT, string, MapKey, Increment];

/** One operate() sub-operation as it travels on the wire. */
export type OperateOp =
  | ReadOp
  | WriteOp
  | IncrOp
  | AppendOp
  | PrependOp
  | TouchOp
  | DeleteOp
  | ListAppendOp
  | ListGetOp
  | ListSizeOp
  | ListRemoveOp
  | ListPopOp
  | MapPutOp
  | MapGetByKeyOp
  | MapRemoveByKeyOp
  | MapSizeOp
  | MapIncrementOp;

/** Op types that only read; an operate() made of these alone is a read and may be retried. */
const READ_ONLY_OP_TYPES: ReadonlySet<number> = new Set([OpType.READ, OpType.LIST_GET, OpType.LIST_SIZE, OpType.MAP_GET_BY_KEY, OpType.MAP_SIZE]);
const KNOWN_OP_TYPES: ReadonlySet<number> = new Set(Object.values(OpType));

function checkIncrement(n: unknown): Increment {
  if (typeof n === 'bigint' || (typeof n === 'number' && Number.isFinite(n))) return n;
  throw parameterError('increment must be a finite number or a bigint');
}

function checkIndex(index: unknown): number {
  if (typeof index !== 'number' || !Number.isSafeInteger(index)) throw parameterError('list index must be an integer');
  return index;
}

function checkMapKey(key: unknown): MapKey {
  if (typeof key === 'string' || typeof key === 'bigint' || (typeof key === 'number' && Number.isSafeInteger(key))) return key;
  throw parameterError('map key must be a string or an integer');
}

function checkAppendable(value: unknown): string | Uint8Array {
  if (typeof value === 'string' || value instanceof Uint8Array) return value;
  throw parameterError('append and prepend take a string or bytes');
}

/** Scalar operations on bins and on the whole record. */
export const ops = {
  /** Read one bin, or every bin when `bin` is omitted. */
  read: (bin?: string | null): ReadOp => [OpType.READ, bin === undefined || bin === null ? null : checkBinName(bin)],
  /** Write a bin; a null value deletes the bin. */
  write: (bin: string, value: BinValue): WriteOp => [OpType.WRITE, checkBinName(bin), value],
  /** Add to a number bin; a missing bin starts at 0. */
  incr: (bin: string, n: Increment): IncrOp => [OpType.INCR, checkBinName(bin), checkIncrement(n)],
  append: (bin: string, value: string | Uint8Array): AppendOp => [OpType.APPEND, checkBinName(bin), checkAppendable(value)],
  prepend: (bin: string, value: string | Uint8Array): PrependOp => [OpType.PREPEND, checkBinName(bin), checkAppendable(value)],
  /** Reset the record's TTL (to the operate call's `meta.ttl`, or the namespace default). */
  touch: (): TouchOp => [OpType.TOUCH],
  /** Delete the whole record. */
  delete: (): DeleteOp => [OpType.DELETE],
};

/** Operations on a bin holding a list. Negative indexes count from the end. */
export const lists = {
  /** Append a value; answers the new size. A missing bin becomes `[value]`. */
  append: (bin: string, value: BinValue): ListAppendOp => [OpType.LIST_APPEND, checkBinName(bin), value],
  get: (bin: string, index: number): ListGetOp => [OpType.LIST_GET, checkBinName(bin), checkIndex(index)],
  /** Answers 0 when the bin is missing. */
  size: (bin: string): ListSizeOp => [OpType.LIST_SIZE, checkBinName(bin)],
  /** Remove the element at `index`; answers the number removed. */
  remove: (bin: string, index: number): ListRemoveOp => [OpType.LIST_REMOVE, checkBinName(bin), checkIndex(index)],
  /** Remove the element at `index` and answer it. */
  pop: (bin: string, index: number): ListPopOp => [OpType.LIST_POP, checkBinName(bin), checkIndex(index)],
};

/** Operations on a bin holding a map. */
export const maps = {
  /** Set `key` to `value`; answers the new size. A missing bin becomes `{key: value}`. */
  put: (bin: string, key: MapKey, value: BinValue): MapPutOp => [OpType.MAP_PUT, checkBinName(bin), checkMapKey(key), value],
  /** Answers the value, or null when the key is absent. */
  getByKey: (bin: string, key: MapKey): MapGetByKeyOp => [OpType.MAP_GET_BY_KEY, checkBinName(bin), checkMapKey(key)],
  /** Answers the removed value, or null when the key was absent. */
  removeByKey: (bin: string, key: MapKey): MapRemoveByKeyOp => [OpType.MAP_REMOVE_BY_KEY, checkBinName(bin), checkMapKey(key)],
  size: (bin: string): MapSizeOp => [OpType.MAP_SIZE, checkBinName(bin)],
  /** Add `n` to the number at `key`; a missing key starts at 0. Answers the new value. */
  increment: (bin: string, key: MapKey, n: Increment): MapIncrementOp => [OpType.MAP_INCREMENT, checkBinName(bin), checkMapKey(key), checkIncrement(n)],
};

/** Checks the shape of an operate() list; throws PARAMETER. Answers whether every op only reads. */
export function checkOperations(list: unknown): boolean {
  if (!Array.isArray(list) || list.length === 0) throw parameterError('operate needs a non-empty array of operations');
  let readOnly = true;
  for (const op of list) {
    if (!Array.isArray(op) || !KNOWN_OP_TYPES.has(op[0])) throw parameterError('unknown operation; build operations with ops, lists or maps');
    if (!READ_ONLY_OP_TYPES.has(op[0])) readOnly = false;
  }
  return readOnly;
}

/** The bin an operation acts on, or null for record-level operations and "read all". */
export function operationBin(op: OperateOp): string | null {
  return op.length > 1 ? (op[1] as string | null) : null;
}

export function isReadAll(op: OperateOp): boolean {
  return op[0] === OpType.READ && op[1] === null;
}
