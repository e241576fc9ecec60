// A growable output buffer for building msgpack by hand. Responses are spliced together from
// pre-encoded bodies (`writeRaw`), and a frame's message count is patched in once it is known
// (`beginArray32` / `patchArray32`). Integers always take their smallest encoding, so anything
// written here decodes identically in any msgpack implementation, not only in Aerie's Reader.

import { allocBytes, copyBytes, utf8ByteLength, utf8Write, writeBigInt64BE, writeFloat64BE, writeUint32BE, writeUint32LE } from '../bytes';
import { FRAME_BYTES_MAX_DEFAULT, VALUE_DEPTH_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import { valueWalked } from './walk-beat';

const TWO_POW_32 = 0x1_0000_0000;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Strings longer than this are measured before writing instead of reserving 3 bytes a char. */
const STRING_RESERVE_CHARS_MAX = 1024;
const INITIAL_BYTES_DEFAULT = 1024;
/** writeRaw copies runs up to this long byte by byte rather than through a subarray. */
const RAW_COPY_LOOP_BYTES_MAX = 64;

export class Writer {
  private buf: Uint8Array;
  private pos = 0;
  private readonly bytesMax: number;

  /**
   * `bytesMax` bounds the output: growing past it throws RECORD_TOO_BIG. The buffer starts at
   * `initialBytes` and doubles as needed; `reset` keeps it at its grown size.
   */
  constructor(bytesMax: number = FRAME_BYTES_MAX_DEFAULT, initialBytes: number = Math.min(bytesMax, INITIAL_BYTES_DEFAULT)) {
    if (!(Number.isSafeInteger(bytesMax) && bytesMax > 0 && Number.isSafeInteger(initialBytes) && initialBytes > 0 && initialBytes <= bytesMax)) {
      throw new AerieError(Status.PARAMETER, `writer sizes: bytesMax ${bytesMax}, initialBytes ${initialBytes}`);
    }
    this.bytesMax = bytesMax;
    this.buf = allocBytes(initialBytes);
  }

  /** Bytes written since the last reset. */
  get length(): number {
    return this.pos;
  }

  reset(): void {
    this.pos = 0;
  }

  /**
   * Drops everything after the first `length` bytes: how a caller undoes a message whose encoding
   * threw part-way (a write that throws leaves whatever it had written).
   */
  truncate(length: number): void {
    if (!(Number.isInteger(length) && length >= 0 && length <= this.pos)) throw this.invalid(`truncate to ${length}`);
    this.pos = length;
  }

  /**
   * A view of the bytes written so far, not a copy: the next `reset`, or any write that grows the
   * buffer, invalidates it. Use `copy()` to keep the bytes.
   */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** The whole buffer, the bytes written so far being [0, length): no subarray per call. */
  get buffer(): Uint8Array {
    return this.buf;
  }

  /** The bytes written so far, in a buffer of their own (a Buffer on Node). */
  copy(): Uint8Array {
    return copyBytes(this.buf, 0, this.pos);
  }

  writeNil(): void {
    this.ensure(1);
    this.buf[this.pos++] = 0xc0;
  }

  writeBool(value: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = value ? 0xc3 : 0xc2;
  }

  /** A non-negative safe integer. */
  writeUint(value: number): void {
    if (!(Number.isSafeInteger(value) && value >= 0)) throw this.invalid(`not a uint: ${value}`);
    this.uint(value);
  }

  /** A safe-integer number or an int64 bigint, in its smallest encoding. */
  writeInt(value: number | bigint): void {
    if (typeof value === 'bigint') {
      if (value < INT64_MIN || value > INT64_MAX) throw this.invalid(`bigint outside int64: ${value}`);
      const n = Number(value);
      if (Number.isSafeInteger(n)) this.int(n);
      else this.bigint(value);
      return;
    }
    if (!Number.isSafeInteger(value)) throw this.invalid(`not a safe integer: ${value}`);
    this.int(value);
  }

  writeFloat64(value: number): void {
    this.ensure(9);
    this.buf[this.pos] = 0xcb;
    writeFloat64BE(this.buf, value, this.pos + 1);
    this.pos += 9;
  }

  /** UTF-8 with the smallest str header for its byte length. */
  writeString(value: string): void {
    const charCount = value.length;
    if (charCount < 0x20 && this.shortAscii(value, charCount)) return;
    // Reserving 3 bytes per UTF-16 unit is a single pass, but only worth it when the room is
    // already there: otherwise it could grow the buffer, or hit the cap, for bytes never used.
    if (charCount > STRING_RESERVE_CHARS_MAX || this.pos + 5 + charCount * 3 > this.buf.length) {
      const byteCount = utf8ByteLength(value);
      this.strHeader(byteCount);
      this.ensure(byteCount);
      this.pos += utf8Write(this.buf, value, this.pos, byteCount);
      return;
    }
    // Write after the largest header the reservation could need, then close the gap if the
    // actual byte count takes a smaller one.
    const reserved = charCount * 3;
    const headerReserved = strHeaderBytes(reserved);
    this.ensure(headerReserved + reserved);
    const start = this.pos;
    const byteCount = utf8Write(this.buf, value, start + headerReserved, reserved);
    const headerBytes = strHeaderBytes(byteCount);
    if (headerBytes !== headerReserved) {
      this.buf.copyWithin(start + headerBytes, start + headerReserved, start + headerReserved + byteCount);
    }
    this.strHeader(byteCount);
    this.pos = start + headerBytes + byteCount;
  }

  writeBin(bytes: Uint8Array): void {
    const byteCount = bytes.length;
    if (byteCount < 0x100) {
      this.ensure(2 + byteCount);
      this.buf[this.pos++] = 0xc4;
      this.buf[this.pos++] = byteCount;
    } else if (byteCount < 0x10000) {
      this.ensure(3 + byteCount);
      this.buf[this.pos++] = 0xc5;
      this.u16(byteCount);
    } else {
      this.ensure(5 + byteCount);
      this.buf[this.pos++] = 0xc6;
      this.u32(byteCount);
    }
    this.buf.set(bytes, this.pos);
    this.pos += byteCount;
  }

  writeArrayHeader(count: number): void {
    this.containerHeader(count, 0x90, 0xdc, 0xdd);
  }

  writeMapHeader(count: number): void {
    this.containerHeader(count, 0x80, 0xde, 0xdf);
  }

  /** Splices already-encoded msgpack (or any bytes) in unchanged. */
  writeRaw(bytes: Uint8Array, start = 0, end = bytes.length): void {
    if (!(start >= 0 && start <= end && end <= bytes.length)) throw this.invalid(`raw range [${start}, ${end})`);
    const byteCount = end - start;
    this.ensure(byteCount);
    if (byteCount <= RAW_COPY_LOOP_BYTES_MAX) {
      // Most answers are short ({gen, ttl}, a small record): a loop allocates no subarray view.
      const buf = this.buf;
      let at = this.pos;
      for (let i = start; i < end; i++) buf[at++] = bytes[i];
    } else {
      this.buf.set(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), this.pos);
    }
    this.pos += byteCount;
  }

  /**
   * Writes an array32 header with a placeholder count and returns its offset, for a frame whose
   * message count is known only when it is flushed. Offsets survive growth; `reset` voids them.
   */
  beginArray32(): number {
    this.ensure(5);
    const at = this.pos;
    this.buf[at] = 0xdd;
    writeUint32BE(this.buf, 0, at + 1);
    this.pos += 5;
    return at;
  }

  patchArray32(at: number, count: number): void {
    if (!(at >= 0 && at + 5 <= this.pos && this.buf[at] === 0xdd)) throw this.invalid(`no array32 header at ${at}`);
    if (!(Number.isInteger(count) && count >= 0 && count < TWO_POW_32)) throw this.invalid(`array count ${count}`);
    writeUint32BE(this.buf, count, at + 1);
  }

  /**
   * Overwrites 4 bytes already written at `at` with a little-endian uint32: for the non-msgpack
   * envelopes (ring messages) that are built in the same buffer.
   */
  patchUint32LE(at: number, value: number): void {
    if (!(at >= 0 && at + 4 <= this.pos)) throw this.invalid(`no 4 bytes written at ${at}`);
    if (!(Number.isInteger(value) && value >= 0 && value < TWO_POW_32)) throw this.invalid(`uint32 ${value}`);
    writeUint32LE(this.buf, value, at);
  }

  /**
   * Encodes a general value (a BinValue; typed `unknown` because this is where it is checked). Safe-integer numbers are written as integers (except -0), other
   * numbers as float64; bigints must fit int64; Uint8Arrays (Buffers included) become bins;
   * plain objects and Maps become maps. Anything else — undefined, functions, symbols, class
   * instances, other typed arrays — is PARAMETER, as is nesting deeper than `depthMax`, which
   * also stops a cyclic value.
   */
  writeValue(value: unknown, depthMax: number = VALUE_DEPTH_MAX): void {
    this.value(value, depthMax);
  }

  // ---- internals ----

  private value(value: unknown, depthLeft: number): void {
    valueWalked();
    switch (typeof value) {
      case 'number':
        if (Number.isSafeInteger(value) && !Object.is(value, -0)) this.int(value as number);
        else this.writeFloat64(value as number);
        return;
      case 'string':
        this.writeString(value as string);
        return;
      case 'boolean':
        this.writeBool(value as boolean);
        return;
      case 'bigint':
        this.writeInt(value as bigint);
        return;
      case 'object':
        if (value === null) this.writeNil();
        else this.container(value, depthLeft);
        return;
      default:
        throw this.invalid(`cannot encode a value of type ${typeof value}`);
    }
  }

  private container(value: object, depthLeft: number): void {
    if (value instanceof Uint8Array) {
      this.writeBin(value);
      return;
    }
    if (depthLeft <= 0) throw this.invalid('arrays and maps nest too deep (or the value is cyclic)');
    if (Array.isArray(value)) {
      this.writeArrayHeader(value.length);
      for (let i = 0; i < value.length; i++) this.value(value[i], depthLeft - 1);
      return;
    }
    if (value instanceof Map) {
      this.writeMapHeader(value.size);
      for (const [key, item] of value) {
        this.mapKey(key);
        this.value(item, depthLeft - 1);
      }
      return;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw this.invalid('cannot encode a class instance');
    const record = value as { [key: string]: unknown };
    const keys = Object.keys(record);
    this.writeMapHeader(keys.length);
    for (let i = 0; i < keys.length; i++) {
      this.mapKey(keys[i]);
      this.value(record[keys[i]], depthLeft - 1);
    }
  }

  private mapKey(key: unknown): void {
    if (typeof key === 'string') {
      if (key === '__proto__') throw this.invalid('map key "__proto__"');
      this.writeString(key);
    } else if (typeof key === 'bigint' || (typeof key === 'number' && Number.isSafeInteger(key))) {
      this.writeInt(key);
    } else {
      throw this.invalid('map key is neither a string nor an integer');
    }
  }

  /** `value` is a safe integer. */
  private int(value: number): void {
    if (value >= 0) {
      this.uint(value);
    } else if (value >= -0x20) {
      this.ensure(1);
      this.buf[this.pos++] = value & 0xff;
    } else if (value >= -0x80) {
      this.ensure(2);
      this.buf[this.pos++] = 0xd0;
      this.buf[this.pos++] = value & 0xff;
    } else if (value >= -0x8000) {
      this.ensure(3);
      this.buf[this.pos++] = 0xd1;
      this.u16(value & 0xffff);
    } else if (value >= -0x8000_0000) {
      this.ensure(5);
      this.buf[this.pos++] = 0xd2;
      this.u32(value >>> 0);
    } else {
      this.ensure(9);
      this.buf[this.pos++] = 0xd3;
      const high = Math.floor(value / TWO_POW_32);
      this.u32(high >>> 0);
      this.u32(value - high * TWO_POW_32);
    }
  }

  /** `value` is a non-negative safe integer. */
  private uint(value: number): void {
    if (value < 0x80) {
      this.ensure(1);
      this.buf[this.pos++] = value;
    } else if (value < 0x100) {
      this.ensure(2);
      this.buf[this.pos++] = 0xcc;
      this.buf[this.pos++] = value;
    } else if (value < 0x10000) {
      this.ensure(3);
      this.buf[this.pos++] = 0xcd;
      this.u16(value);
    } else if (value < TWO_POW_32) {
      this.ensure(5);
      this.buf[this.pos++] = 0xce;
      this.u32(value);
    } else {
      this.ensure(9);
      this.buf[this.pos++] = 0xcf;
      const high = Math.floor(value / TWO_POW_32);
      this.u32(high);
      this.u32(value - high * TWO_POW_32);
    }
  }

  /** An int64 bigint outside the safe range: uint64 when positive (as msgpack prefers), else int64. */
  private bigint(value: bigint): void {
    this.ensure(9);
    this.buf[this.pos] = value > 0n ? 0xcf : 0xd3;
    writeBigInt64BE(this.buf, value, this.pos + 1);
    this.pos += 9;
  }

  /** Writes a fixstr when every char is ASCII (false, having written nothing, otherwise). */
  private shortAscii(value: string, charCount: number): boolean {
    this.ensure(1 + charCount);
    const buf = this.buf;
    const start = this.pos + 1;
    for (let i = 0; i < charCount; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[start + i] = c;
    }
    buf[this.pos] = 0xa0 | charCount;
    this.pos = start + charCount;
    return true;
  }

  private strHeader(byteCount: number): void {
    if (byteCount < 0x20) {
      this.ensure(1);
      this.buf[this.pos++] = 0xa0 | byteCount;
    } else if (byteCount < 0x100) {
      this.ensure(2);
      this.buf[this.pos++] = 0xd9;
      this.buf[this.pos++] = byteCount;
    } else if (byteCount < 0x10000) {
      this.ensure(3);
      this.buf[this.pos++] = 0xda;
      this.u16(byteCount);
    } else {
      this.ensure(5);
      this.buf[this.pos++] = 0xdb;
      this.u32(byteCount);
    }
  }

  private containerHeader(count: number, fix: number, head16: number, head32: number): void {
    if (!(Number.isInteger(count) && count >= 0 && count < TWO_POW_32)) throw this.invalid(`container count ${count}`);
    if (count < 0x10) {
      this.ensure(1);
      this.buf[this.pos++] = fix | count;
    } else if (count < 0x10000) {
      this.ensure(3);
      this.buf[this.pos++] = head16;
      this.u16(count);
    } else {
      this.ensure(5);
      this.buf[this.pos++] = head32;
      this.u32(count);
    }
  }

  /** Callers have ensured room. */
  private u16(value: number): void {
    this.buf[this.pos++] = value >>> 8;
    this.buf[this.pos++] = value & 0xff;
  }

  /** Callers have ensured room. */
  private u32(value: number): void {
    writeUint32BE(this.buf, value, this.pos);
    this.pos += 4;
  }

  private ensure(byteCount: number): void {
    const needed = this.pos + byteCount;
    if (needed <= this.buf.length) return;
    if (needed > this.bytesMax) {
      throw new AerieError(Status.RECORD_TOO_BIG, `output of ${needed} bytes exceeds the ${this.bytesMax}-byte limit`);
    }
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const grown = allocBytes(Math.min(size, this.bytesMax));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }

  private invalid(what: string): AerieError {
    return new AerieError(Status.PARAMETER, what);
  }
}

function strHeaderBytes(byteCount: number): number {
  return byteCount < 0x20 ? 1 : byteCount < 0x100 ? 2 : byteCount < 0x10000 ? 3 : 5;
}
