// Byte helpers for code that runs both in Node and wherever only the web platform is (browsers,
// Deno, edge runtimes): the msgpack Writer and Reader, the digest, and the SDK. On Node (and Bun)
// they use the global Buffer, whose native UTF-8 paths the server's hot path was measured with;
// elsewhere, Uint8Array with TextEncoder and TextDecoder. Nothing here imports a `node:` module,
// so a browser bundler never meets one. Every function takes and returns plain Uint8Array types,
// which is what a Buffer is, so callers are written once.

/** The parts of Node's Buffer used here, declared locally so no @types/node is needed. */
interface NodeBufferClass {
  allocUnsafe(size: number): Uint8Array;
  allocUnsafeSlow(size: number): Uint8Array;
  byteLength(text: string, encoding: 'utf8'): number;
  isBuffer(value: unknown): boolean;
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): Uint8Array;
  from(bytes: Uint8Array): Uint8Array;
}

interface NodeBufferInstance {
  write(text: string, offset: number, length: number, encoding: 'utf8'): number;
  toString(encoding: 'utf8' | 'hex', start?: number, end?: number): string;
  copy(target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number): number;
}

type IsUtf8 = (bytes: Uint8Array) => boolean;

interface NodeProcess {
  getBuiltinModule?: (id: string) => { isUtf8?: IsUtf8 } | undefined;
}

const NodeBuffer = (globalThis as { Buffer?: NodeBufferClass }).Buffer;
/**
 * Node's isUtf8 (simdutf) through process.getBuiltinModule (Node ≥ 20.16), a call bundlers do not
 * follow; null elsewhere, where TextDecoder's fatal mode validates instead.
 */
const nodeIsUtf8: IsUtf8 | null = (globalThis as { process?: NodeProcess }).process?.getBuiltinModule?.('node:buffer')?.isUtf8 ?? null;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
/** U+FFFD, what a lenient decode puts in place of each malformed sequence. */
const REPLACEMENT_CHAR = '\ufffd';

/** Whether Node's Buffer backs these helpers (false in browsers and Deno). */
export const usesNodeBuffer = NodeBuffer !== undefined;

/** Uninitialised bytes of their own, for a long-lived buffer (a Writer's output). */
export function allocBytes(size: number): Uint8Array {
  return NodeBuffer !== undefined ? NodeBuffer.allocUnsafeSlow(size) : new Uint8Array(size);
}

/** Bytes `[start, end)` of `source` copied into a buffer of their own (Node: from its small pool). */
export function copyBytes(source: Uint8Array, start: number, end: number): Uint8Array {
  if (NodeBuffer === undefined) return source.slice(start, end);
  const out = NodeBuffer.allocUnsafe(end - start);
  out.set(start === 0 && end === source.length ? source : source.subarray(start, end));
  return out;
}

/** Below this many bytes a plain loop beats making a subarray for TypedArray.set (measured here). */
const COPY_LOOP_BYTES_MAX = 64;

/** Copies src[start, end) into dst at `at`; allocates nothing for a short run. */
export function copyRange(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
  if (end - start <= COPY_LOOP_BYTES_MAX) {
    for (let i = start; i < end; i++) dst[at++] = src[i];
  } else {
    dst.set(src.subarray(start, end), at);
  }
}

/**
 * The same memory as a Buffer on Node (so utf8Write and utf8Decode take their native paths), or
 * the array itself elsewhere. Never copies.
 */
export function asNativeBytes(bytes: Uint8Array): Uint8Array {
  if (NodeBuffer === undefined || NodeBuffer.isBuffer(bytes)) return bytes;
  return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function utf8ByteLength(text: string): number {
  if (NodeBuffer !== undefined) return NodeBuffer.byteLength(text, 'utf8');
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) count += 1;
    else if (c < 0x800) count += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count += 4; // a surrogate pair: one code point of four bytes
      i++;
    } else count += 3; // includes a lone surrogate, which encodes as U+FFFD (3 bytes)
  }
  return count;
}

/**
 * Writes `text` as UTF-8 at `out[at]`, at most `maxBytes` bytes (callers reserve enough room);
 * answers the bytes written. `out` must come from allocBytes or asNativeBytes.
 */
export function utf8Write(out: Uint8Array, text: string, at: number, maxBytes: number): number {
  if (NodeBuffer !== undefined) return (out as unknown as NodeBufferInstance).write(text, at, maxBytes, 'utf8');
  return encoder.encodeInto(text, out.subarray(at, at + maxBytes)).written;
}

/**
 * Decodes `bytes[start, end)` as UTF-8, or answers null when it is not valid UTF-8. `bytes` must
 * come from allocBytes or asNativeBytes.
 */
export function utf8Decode(bytes: Uint8Array, start: number, end: number): string | null {
  if (NodeBuffer !== undefined) {
    // A lenient decode marks every malformed sequence with U+FFFD; only a string holding one
    // (rare: the character itself is valid) needs the strict check. Measured here, this is
    // faster than validating first for every length.
    const text = (bytes as unknown as NodeBufferInstance).toString('utf8', start, end);
    if (text.indexOf(REPLACEMENT_CHAR) === -1 || isUtf8(bytes, start, end)) return text;
    return null;
  }
  try {
    return strictDecoder.decode(bytes.subarray(start, end));
  } catch {
    return null;
  }
}

/** Whether `bytes[start, end)` is valid UTF-8. */
export function isUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  const view = bytes.subarray(start, end);
  if (nodeIsUtf8 !== null) return nodeIsUtf8(view);
  try {
    strictDecoder.decode(view);
    return true;
  } catch {
    return false;
  }
}

const HEX_DIGITS = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  if (NodeBuffer !== undefined) return (asNativeBytes(bytes) as unknown as NodeBufferInstance).toString('hex');
  let text = '';
  for (let i = 0; i < bytes.length; i++) text += HEX_DIGITS[bytes[i] >> 4] + HEX_DIGITS[bytes[i] & 0x0f];
  return text;
}

// Floats and 64-bit integers go through one 8-byte scratch, as Node's own Buffer methods do.
const scratchFloat64 = new Float64Array(1);
const scratchFloat32 = new Float32Array(scratchFloat64.buffer, 0, 1);
const scratch = new Uint8Array(scratchFloat64.buffer);
/** Whether this machine stores numbers little-endian (every platform Node and browsers run on). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function writeFloat64BE(out: Uint8Array, value: number, at: number): void {
  scratchFloat64[0] = value;
  if (LITTLE_ENDIAN) {
    out[at] = scratch[7];
    out[at + 1] = scratch[6];
    out[at + 2] = scratch[5];
    out[at + 3] = scratch[4];
    out[at + 4] = scratch[3];
    out[at + 5] = scratch[2];
    out[at + 6] = scratch[1];
    out[at + 7] = scratch[0];
  } else {
    out.set(scratch, at);
  }
}

export function readFloat64BE(bytes: Uint8Array, at: number): number {
  if (LITTLE_ENDIAN) {
    scratch[7] = bytes[at];
    scratch[6] = bytes[at + 1];
    scratch[5] = bytes[at + 2];
    scratch[4] = bytes[at + 3];
    scratch[3] = bytes[at + 4];
    scratch[2] = bytes[at + 5];
    scratch[1] = bytes[at + 6];
    scratch[0] = bytes[at + 7];
  } else {
    for (let i = 0; i < 8; i++) scratch[i] = bytes[at + i];
  }
  return scratchFloat64[0];
}

export function readFloat32BE(bytes: Uint8Array, at: number): number {
  if (LITTLE_ENDIAN) {
    scratch[3] = bytes[at];
    scratch[2] = bytes[at + 1];
    scratch[1] = bytes[at + 2];
    scratch[0] = bytes[at + 3];
  } else {
    for (let i = 0; i < 4; i++) scratch[i] = bytes[at + i];
  }
  return scratchFloat32[0];
}

/** `value` in 0..2^32-1. */
export function writeUint32BE(out: Uint8Array, value: number, at: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

/** `value` in -2^31..2^32-1; written as its low 32 bits. */
export function writeUint32LE(out: Uint8Array, value: number, at: number): void {
  out[at] = value;
  out[at + 1] = value >>> 8;
  out[at + 2] = value >>> 16;
  out[at + 3] = value >>> 24;
}

/** A bigint in the int64 or uint64 range, as its 64-bit two's complement, big-endian. */
export function writeBigInt64BE(out: Uint8Array, value: bigint, at: number): void {
  const word = BigInt.asUintN(64, value);
  writeUint32BE(out, Number(word >> 32n), at);
  writeUint32BE(out, Number(word & 0xffff_ffffn), at + 4);
}
