// One-call encode and decode of a single value, for callers that do not build a larger message.
// Both go through Aerie's own Writer and Reader, so a value encodes and decodes exactly as it does
// inside a frame.
//
// Why not msgpackr for packValue: it writes every integer beyond the 32-bit range as a float64
// (and every bigint as int64 even when small). A Map key 2^40 then becomes a float key, which the
// strict Reader rejects, and a client in another language would see floats for integer bins. The
// Writer encodes integers in their smallest integer form and, measured here, is no slower.

import { asNativeBytes } from '../bytes';
import { RECORD_BYTES_CEILING, VALUE_DEPTH_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import type { BinValue } from './ops';
import { Reader } from './reader';
import { Writer } from './writer';

// Single-threaded and never re-entered (neither calls out to user code while busy), so one of
// each serves every call on this thread.
const writer = new Writer(RECORD_BYTES_CEILING);
const reader = new Reader();
/** Native already, so resetting onto it after each decode allocates nothing. */
const EMPTY = asNativeBytes(new Uint8Array(0));

/**
 * Encodes a value into a buffer of its own (a Buffer on Node) (a copy: the shared Writer is reused by the next call).
 * Small results come from Node's shared 8 KiB pool, like any `Buffer.from`. Throws PARAMETER for a
 * value that is not a BinValue or nests deeper than `depthMax`, RECORD_TOO_BIG past
 * RECORD_BYTES_CEILING.
 */
export function packValue(value: BinValue, depthMax: number = VALUE_DEPTH_MAX): Uint8Array {
  writer.reset();
  writer.writeValue(value, depthMax);
  return writer.copy();
}

/** Decodes exactly one value filling `bytes[start, end)`; anything malformed is PARAMETER. */
export function unpackValue(bytes: Uint8Array, start = 0, end = bytes.length, depthMax = VALUE_DEPTH_MAX): BinValue {
  try {
    reader.reset(bytes, start, end);
    const value = reader.readValue(depthMax);
    if (!reader.atEnd()) throw new AerieError(Status.PARAMETER, `${end - reader.pos} bytes after the value, at offset ${reader.pos}`);
    return value;
  } finally {
    reader.reset(EMPTY); // do not keep the caller's buffer alive
  }
}
