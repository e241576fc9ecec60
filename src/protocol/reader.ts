// A strict msgpack decoder for untrusted peer input. It accepts only the subset Aerie speaks
// (docs/protocol.md, "The msgpack subset"): no extensions, no reserved bytes, bounded nesting,
// lengths that fit the bytes actually present, valid UTF-8, and map keys that are strings or
// integers. Every violation throws AerieError(PARAMETER) naming what was wrong and where.
//
// We do not decode peer input with msgpackr: it materialises attacker-chosen extensions, record
// structures compiled with `new Function`, huge BigInts and cyclic graphs. One Reader is reused
// across frames (`reset`), and decoding allocates little beyond the values it returns.

import { asNativeBytes, copyBytes, isUtf8, readFloat32BE, readFloat64BE, utf8Decode } from '../bytes';
import { VALUE_DEPTH_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import type { BinValue } from './ops';
import { valueWalked } from './walk-beat';

/** The kinds of msgpack value, as `peekType` reports them. */
export const ValueType = {
  NIL: 0,
  BOOL: 1,
  INT: 2,
  FLOAT: 3,
  STR: 4,
  BIN: 5,
  ARRAY: 6,
  MAP: 7,
  /** The reserved byte 0xc1 and every ext/fixext type: never accepted. */
  INVALID: 8,
} as const;
export type ValueTypeCode = (typeof ValueType)[keyof typeof ValueType];

/** The ValueType of each possible first byte. */
const typeOfByte = new Uint8Array(256);
for (let b = 0; b < 256; b++) typeOfByte[b] = classify(b);

function classify(b: number): ValueTypeCode {
  if (b <= 0x7f || b >= 0xe0) return ValueType.INT;
  if (b <= 0x8f) return ValueType.MAP;
  if (b <= 0x9f) return ValueType.ARRAY;
  if (b <= 0xbf) return ValueType.STR;
  switch (b) {
    case 0xc0:
      return ValueType.NIL;
    case 0xc2:
    case 0xc3:
      return ValueType.BOOL;
    case 0xc4:
    case 0xc5:
    case 0xc6:
      return ValueType.BIN;
    case 0xca:
    case 0xcb:
      return ValueType.FLOAT;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
      return ValueType.INT;
    case 0xd9:
    case 0xda:
    case 0xdb:
      return ValueType.STR;
    case 0xdc:
    case 0xdd:
      return ValueType.ARRAY;
    case 0xde:
    case 0xdf:
      return ValueType.MAP;
    default:
      return ValueType.INVALID; // 0xc1, ext 0xc7-0xc9, fixext 0xd4-0xd8
  }
}

const TWO_POW_32 = 0x1_0000_0000;
/** A 64-bit word whose high half is within ±this is a safe integer (|v| < 2^53). */
const SAFE_HIGH_WORD = 0x20_0000;
/** Strings up to this many bytes try the ASCII fast path before the native UTF-8 decoder. */
const SHORT_STRING_BYTES = 16;
const fromCharCode = String.fromCharCode;
const EMPTY = asNativeBytes(new Uint8Array(0));
/** Slots in the map-key cache (a power of two), shared by every Reader on this thread. */
const KEY_CACHE_SLOTS = 4096;
const keyCache: Array<string | undefined> = new Array<string | undefined>(KEY_CACHE_SLOTS).fill(undefined);

type MapKey = string | number | bigint;

export class Reader {
  /** Offset of the next byte to read, in `buf`. */
  pos = 0;
  /** Offset one past the last byte this reader may read. */
  end = 0;
  private buf: Uint8Array = EMPTY;
  /**
   * The array last given to `reset`, whose native view `buf` is: a worker resets onto the same
   * ring or message buffer for every request, and asNativeBytes would wrap it in a new Buffer
   * each time.
   */
  private source: Uint8Array = EMPTY;
  /** The scalar decoded by the last `head()` (bool, int or float). */
  private scalar: boolean | number | bigint = 0;
  /** The length decoded by the last `head()` (str/bin bytes, array items, map pairs). */
  private len = 0;

  constructor(buf?: Uint8Array, start?: number, end?: number) {
    if (buf !== undefined) this.reset(buf, start, end);
  }

  /**
   * Points the reader at `buf[start, end)`. Error messages give offsets into `buf`. Call it with
   * an empty buffer when done so a large frame is not kept alive. After a throw, the position is
   * unspecified: reset before reading again.
   */
  reset(buf: Uint8Array, start = 0, end = buf.length): this {
    if (!(start >= 0 && start <= end && end <= buf.length)) {
      throw new AerieError(Status.PARAMETER, `reader range [${start}, ${end}) outside a buffer of ${buf.length} bytes`);
    }
    if (buf !== this.source) {
      this.source = buf;
      this.buf = asNativeBytes(buf);
    }
    this.pos = start;
    this.end = end;
    return this;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** The type of the next value, without consuming it. Throws at the end of input. */
  peekType(): ValueTypeCode {
    if (this.pos >= this.end) throw this.fail('truncated input');
    return typeOfByte[this.buf[this.pos]] as ValueTypeCode;
  }

  /** True when the next value is nil (not consumed). False at the end of input. */
  isNil(): boolean {
    return this.pos < this.end && this.buf[this.pos] === 0xc0;
  }

  /**
   * Decodes one whole value. Arrays and maps may nest `depthMax` deep (the value itself counts
   * as one level when it is a container). Integers are numbers when safe, else bigints; bins are
   * byte arrays (Buffers on Node) that own their bytes; maps are plain objects when every key is a string, else Maps.
   */
  readValue(depthMax: number = VALUE_DEPTH_MAX): BinValue {
    try {
      return this.value(depthMax);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  /** Validates and steps over one value exactly as `readValue` would, building nothing. */
  skipValue(depthMax: number = VALUE_DEPTH_MAX): void {
    try {
      this.skip(depthMax);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  readNil(): null {
    if (this.head() !== ValueType.NIL) throw this.fail('expected nil', this.pos - 1);
    return null;
  }

  readBool(): boolean {
    if (this.head() !== ValueType.BOOL) throw this.fail('expected a bool', this.pos - 1);
    return this.scalar as boolean;
  }

  /** Any integer format; a number when safe, else a bigint in the int64 range. */
  readInt(): number | bigint {
    const at = this.pos;
    if (this.head() !== ValueType.INT) throw this.fail('expected an integer', at);
    return this.scalar as number | bigint;
  }

  /** An integer in 0..2^32-1 (message ids, counts). */
  readUint32(): number {
    const at = this.pos;
    const v = this.readInt();
    if (typeof v !== 'number' || v < 0 || v >= TWO_POW_32) throw this.fail('expected a uint32', at);
    return v;
  }

  /**
   * A string; short ASCII ones (field names, namespace and set names) come from the map-key
   * cache, as map keys do: nothing allocated per request for the names every request repeats.
   */
  readString(): string {
    const at = this.pos;
    if (this.head() !== ValueType.STR) throw this.fail('expected a string', at);
    try {
      return this.len <= SHORT_STRING_BYTES ? this.cachedKey(this.len) : this.stringBody(this.len);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  /** A copy of a bin's bytes. */
  readBin(): Uint8Array {
    const at = this.pos;
    if (this.head() !== ValueType.BIN) throw this.fail('expected a bin', at);
    try {
      return this.binBody(this.len);
    } catch (err) {
      throw this.wrap(err);
    }
  }

  /** The item count of an array (at most the bytes remaining); the items follow. */
  readArrayHeader(): number {
    const at = this.pos;
    if (this.head() !== ValueType.ARRAY) throw this.fail('expected an array', at);
    return this.len;
  }

  /** The pair count of a map (at most half the bytes remaining); key, value pairs follow. */
  readMapHeader(): number {
    const at = this.pos;
    if (this.head() !== ValueType.MAP) throw this.fail('expected a map', at);
    return this.len;
  }

  // ---- internals ----

  /**
   * Consumes one value's header. Scalars are decoded into `scalar`; str, bin, array and map
   * lengths into `len`, already checked against the bytes remaining (every array item and map
   * key or value takes at least one byte), so no declared length can make us allocate more than
   * the input justifies.
   */
  private head(): ValueTypeCode {
    const at = this.pos;
    const b = this.u8();
    const type = typeOfByte[b] as ValueTypeCode;
    switch (type) {
      case ValueType.INT:
        this.scalar = b <= 0x7f ? b : b >= 0xe0 ? b - 0x100 : this.intBody(b);
        return type;
      case ValueType.NIL:
        return type;
      case ValueType.BOOL:
        this.scalar = b === 0xc3;
        return type;
      case ValueType.FLOAT:
        this.scalar = b === 0xca ? readFloat32BE(this.buf, this.take(4)) : readFloat64BE(this.buf, this.take(8));
        return type;
      case ValueType.STR:
        this.len = b <= 0xbf ? b & 0x1f : b === 0xd9 ? this.u8() : b === 0xda ? this.u16() : this.u32();
        if (this.len > this.end - this.pos) throw this.fail(`string of ${this.len} bytes exceeds the input`, at);
        return type;
      case ValueType.BIN:
        this.len = b === 0xc4 ? this.u8() : b === 0xc5 ? this.u16() : this.u32();
        if (this.len > this.end - this.pos) throw this.fail(`bin of ${this.len} bytes exceeds the input`, at);
        return type;
      case ValueType.ARRAY:
        this.len = b <= 0x9f ? b & 0x0f : b === 0xdc ? this.u16() : this.u32();
        if (this.len > this.end - this.pos) throw this.fail(`array of ${this.len} items exceeds the input`, at);
        return type;
      case ValueType.MAP:
        this.len = b <= 0x8f ? b & 0x0f : b === 0xde ? this.u16() : this.u32();
        if (this.len * 2 > this.end - this.pos) throw this.fail(`map of ${this.len} pairs exceeds the input`, at);
        return type;
      default:
        throw this.fail(b === 0xc1 ? 'reserved byte 0xc1' : `extension type 0x${b.toString(16)} is not accepted`, at);
    }
  }

  private intBody(b: number): number | bigint {
    switch (b) {
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf:
        return this.u64();
      case 0xd0:
        return (this.u8() << 24) >> 24;
      case 0xd1:
        return (this.u16() << 16) >> 16;
      case 0xd2:
        return this.u32() | 0;
      default:
        return this.i64();
    }
  }

  private value(depthLeft: number): BinValue {
    valueWalked();
    const at = this.pos;
    switch (this.head()) {
      case ValueType.NIL:
        return null;
      case ValueType.STR:
        return this.stringBody(this.len);
      case ValueType.BIN:
        return this.binBody(this.len);
      case ValueType.ARRAY: {
        const count = this.len;
        this.enter(depthLeft, at);
        const items: BinValue[] = [];
        for (let i = 0; i < count; i++) items.push(this.value(depthLeft - 1));
        return items;
      }
      case ValueType.MAP:
        return this.mapBody(this.len, depthLeft, at);
      default:
        return this.scalar; // BOOL, INT, FLOAT
    }
  }

  /**
   * Builds a plain object while every key is a string, switching to a Map at the first integer
   * key. Duplicate keys are rejected: "last one wins" would let two encodings of one request
   * disagree about what it says.
   */
  private mapBody(count: number, depthLeft: number, at: number): BinValue {
    this.enter(depthLeft, at);
    const object: { [key: string]: BinValue } = {};
    let map: Map<MapKey, BinValue> | null = null;
    for (let i = 0; i < count; i++) {
      const keyAt = this.pos;
      const key = this.key();
      const item = this.value(depthLeft - 1);
      if (map === null && typeof key === 'string') {
        if (Object.hasOwn(object, key)) throw this.fail('duplicate map key', keyAt);
        object[key] = item;
        continue;
      }
      if (map === null) map = new Map<MapKey, BinValue>(Object.entries(object));
      if (map.has(key)) throw this.fail('duplicate map key', keyAt);
      map.set(key, item);
    }
    return map ?? object;
  }

  private key(): MapKey {
    const at = this.pos;
    const type = this.head();
    if (type === ValueType.INT) return this.scalar as number | bigint;
    if (type !== ValueType.STR) throw this.fail('map key is neither a string nor an integer', at);
    const key = this.len <= SHORT_STRING_BYTES ? this.cachedKey(this.len) : this.stringBody(this.len);
    if (key === '__proto__') throw this.fail('map key "__proto__"', at);
    return key;
  }

  /**
   * Map keys repeat from message to message (field and bin names), so short ASCII keys come from
   * a small cache: no new string to allocate, and one V8 has already internalized as a property
   * name. A slot holds the last key that hashed to it; a miss simply replaces it.
   */
  private cachedKey(byteCount: number): string {
    const buf = this.buf;
    const start = this.pos;
    const end = start + byteCount;
    let bits = 0;
    let hash = byteCount;
    for (let i = start; i < end; i++) {
      const c = buf[i];
      bits |= c;
      hash = Math.imul(hash ^ c, 0x0100_0193);
    }
    if (bits >= 0x80) return this.stringBody(byteCount);
    const slot = (hash ^ (hash >>> 15)) & (KEY_CACHE_SLOTS - 1);
    const cached = keyCache[slot];
    this.take(byteCount);
    if (cached !== undefined && cached.length === byteCount) {
      let i = 0;
      while (i < byteCount && cached.charCodeAt(i) === buf[start + i]) i++;
      if (i === byteCount) return cached;
    }
    const key = shortAscii(buf, start, byteCount);
    keyCache[slot] = key;
    return key;
  }

  private skip(depthLeft: number): void {
    valueWalked();
    const at = this.pos;
    switch (this.head()) {
      case ValueType.STR: {
        const start = this.take(this.len);
        if (!this.isValidUtf8(start, start + this.len)) throw this.fail('invalid UTF-8 in string', at);
        return;
      }
      case ValueType.BIN:
        this.take(this.len);
        return;
      case ValueType.ARRAY: {
        const count = this.len;
        this.enter(depthLeft, at);
        for (let i = 0; i < count; i++) this.skip(depthLeft - 1);
        return;
      }
      case ValueType.MAP: {
        const count = this.len;
        this.enter(depthLeft, at);
        for (let i = 0; i < count; i++) {
          this.key();
          this.skip(depthLeft - 1);
        }
        return;
      }
      default:
        return; // NIL, BOOL, INT, FLOAT were consumed by head()
    }
  }

  private enter(depthLeft: number, at: number): void {
    if (depthLeft <= 0) throw this.fail('arrays and maps nest too deep', at);
  }

  private stringBody(byteCount: number): string {
    const start = this.take(byteCount);
    const end = start + byteCount;
    const buf = this.buf;
    if (byteCount <= SHORT_STRING_BYTES) {
      let bits = 0;
      for (let i = start; i < end; i++) bits |= buf[i];
      if (bits < 0x80) return shortAscii(buf, start, byteCount);
    }
    const text = utf8Decode(buf, start, end);
    if (text === null) throw this.fail('invalid UTF-8 in string', start);
    return text;
  }

  private isValidUtf8(start: number, end: number): boolean {
    const buf = this.buf;
    for (let i = start; i < end; i++) {
      if (buf[i] >= 0x80) return isUtf8(buf, i, end);
    }
    return true;
  }

  /** Copies: the frame buffer is reused, and a view would also pin the whole frame in memory. */
  private binBody(byteCount: number): Uint8Array {
    const start = this.take(byteCount);
    return copyBytes(this.buf, start, start + byteCount);
  }

  private u64(): number | bigint {
    const at = this.pos;
    const high = this.u32();
    const low = this.u32();
    if (high > 0x7fff_ffff) throw this.fail('uint64 above the int64 range', at);
    if (high < SAFE_HIGH_WORD) return high * TWO_POW_32 + low;
    return (BigInt(high) << 32n) | BigInt(low);
  }

  private i64(): number | bigint {
    const high = this.u32() | 0;
    const low = this.u32();
    if ((high > -SAFE_HIGH_WORD && high < SAFE_HIGH_WORD) || (high === -SAFE_HIGH_WORD && low !== 0)) {
      return high * TWO_POW_32 + low;
    }
    return (BigInt(high) << 32n) + BigInt(low);
  }

  /** Reserves `count` bytes and returns their start offset. */
  private take(count: number): number {
    if (count > this.end - this.pos) throw this.fail('truncated input');
    const start = this.pos;
    this.pos = start + count;
    return start;
  }

  private u8(): number {
    if (this.pos >= this.end) throw this.fail('truncated input');
    return this.buf[this.pos++];
  }

  private u16(): number {
    const p = this.take(2);
    return (this.buf[p] << 8) | this.buf[p + 1];
  }

  private u32(): number {
    const p = this.take(4);
    const buf = this.buf;
    return buf[p] * 0x100_0000 + ((buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]);
  }

  private fail(what: string, at: number = this.pos): AerieError {
    return new AerieError(Status.PARAMETER, `${what}, at offset ${at}`);
  }

  /**
   * Turns engine limits hit while decoding (stack or allocation RangeErrors, strings too long for
   * V8) into PARAMETER. Nothing in a well-bounded frame should reach them; this is the backstop.
   */
  private wrap(err: unknown): unknown {
    if (err instanceof AerieError) return err;
    if (err instanceof RangeError || (err as { code?: unknown } | null)?.code === 'ERR_STRING_TOO_LONG') {
      return this.fail(`value too large to decode (${(err as Error).message})`);
    }
    return err;
  }
}

/**
 * An ASCII string of 1..SHORT_STRING_BYTES bytes. One fromCharCode call with the bytes as
 * arguments is several times faster than a native decode or a concatenation loop at these sizes.
 */
function shortAscii(b: Uint8Array, s: number, length: number): string {
  switch (length) {
    case 0:
      return '';
    case 1:
      return fromCharCode(b[s]);
    case 2:
      return fromCharCode(b[s], b[s + 1]);
    case 3:
      return fromCharCode(b[s], b[s + 1], b[s + 2]);
    case 4:
      return fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3]);
    case 5:
      return fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4]);
    case 6:
      return fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5]);
    case 7:
      return fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6]);
    case 8:
      return fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6], b[s + 7]);
    default: {
      const head = fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3], b[s + 4], b[s + 5], b[s + 6], b[s + 7]);
      return head + shortAscii(b, s + 8, length - 8);
    }
  }
}
