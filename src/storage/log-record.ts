// The on-disk log record: encoding into a caller's buffer and decoding into a reusable view, both
// without allocating. decodeAt tells three cases apart, because recovery treats them differently:
// `ok`, `torn` (the bytes from `offset` to `end` cannot hold the whole record, or are zero fill:
// what the end of a log looks like after a crash) and `corrupt` (bytes are there but wrong).
//
// Layout, little-endian, starting 8-aligned; the CRC covers bytes [12, totalBytes):
//    0 u32 magic (LOG_MAGIC)            4 u32 totalBytes (header + key + bins, without padding)
//    8 u32 crc32c                      12 u32 sequence low     16 u32 sequence high
//   20 u8  kind                        21 u8  format version   22 u16 partitionId
//   24 u16 setId                       26 u16 generation       28 digest[20]
//   48 u32 voidTime                    52 u32 durableBytes     56 f64 lastUpdateMs
//   64 u32 keyBytes (0 = no key)       68 u32 binsBytes        72 key msgpack, bins msgpack
// then zero padding to the next multiple of 8.
//
// durableBytes is how many bytes of the record's segment had been fdatasync'd when the record was
// appended. Recovery uses it as evidence: a bad record at offset X followed by a valid record whose
// durableBytes > X was already durable (and perhaps acknowledged) when it went bad, so it is
// corruption, not a torn write.

import { crc32c } from './crc32c';
import { DIGEST_BYTES, GENERATION_MAX, LOG_FORMAT_VERSION, LOG_MAGIC, LOG_RECORD_ALIGN_BYTES, LOG_RECORD_BYTES_MAX, LOG_RECORD_HEADER_BYTES, LOG_SEQUENCE_MAX, PARTITION_COUNT } from '../constants';

export const LogRecordKind = {
  /** A record's new version: key (optional) and bins. */
  PUT: 1,
  /** The record was deleted; bins are empty. Live while an older put of the digest may exist. */
  TOMBSTONE: 2,
  /**
   * Truncate a set (setId) or the whole namespace (setId TRUNCATE_ALL_SETS): every record whose
   * lastUpdateMs is at most this record's lastUpdateMs is deleted. Digest is zero.
   */
  TRUNCATE: 3,
} as const;
export type LogRecordKindCode = (typeof LogRecordKind)[keyof typeof LogRecordKind];

/** setId of a TRUNCATE record that covers every set of the namespace. */
export const TRUNCATE_ALL_SETS = 0xffff;

/** Byte offsets of the header's fields (the layout above); readers of raw headers use these too. */
export const O_MAGIC = 0;
export const O_TOTAL_BYTES = 4;
export const O_CRC = 8;
export const O_SEQUENCE_LOW = 12;
export const O_SEQUENCE_HIGH = 16;
export const O_KIND = 20;
export const O_VERSION = 21;
export const O_PARTITION_ID = 22;
export const O_SET_ID = 24;
export const O_GENERATION = 26;
export const O_DIGEST = 28;
export const O_VOID_TIME = 48;
export const O_DURABLE_BYTES = 52;
export const O_LAST_UPDATE_MS = 56;
export const O_KEY_BYTES = 64;
export const O_BINS_BYTES = 68;
/** The CRC starts right after its own field. */
const CRC_START = O_CRC + 4;
const TWO_POW_32 = 0x1_0000_0000;

/**
 * What a caller supplies for one record. Key and bins are ranges of the caller's buffers, so a
 * worker can log the bytes it already holds without slicing them; key null means no stored key.
 */
export interface LogRecordInput {
  kind: LogRecordKindCode;
  partitionId: number;
  setId: number;
  digest: Uint8Array;
  digestOffset: number;
  generation: number;
  voidTime: number;
  lastUpdateMs: number;
  key: Uint8Array | null;
  keyStart: number;
  keyEnd: number;
  bins: Uint8Array | null;
  binsStart: number;
  binsEnd: number;
}

/**
 * A blank PUT input over `digest` (a DIGEST_BYTES buffer), for a caller that fills one input in
 * place for every record it writes: no object per record.
 */
export function blankPutInput(digest: Uint8Array): LogRecordInput {
  return {
    kind: LogRecordKind.PUT,
    partitionId: 0,
    setId: 0,
    digest,
    digestOffset: 0,
    generation: 0,
    voidTime: 0,
    lastUpdateMs: 0,
    key: null,
    keyStart: 0,
    keyEnd: 0,
    bins: null,
    binsStart: 0,
    binsEnd: 0,
  };
}

export type DecodeStatus = 'ok' | 'torn' | 'corrupt';
/** Why a record is torn or corrupt; stable strings for reports and tests. */
export type DecodeReason = 'none' | 'short-header' | 'short-record' | 'zero-fill' | 'bad-magic' | 'bad-length' | 'bad-checksum' | 'bad-field';

/** Rounds a byte count up to the record alignment. */
export function alignRecordBytes(bytes: number): number {
  return Math.ceil(bytes / LOG_RECORD_ALIGN_BYTES) * LOG_RECORD_ALIGN_BYTES;
}

/** Bytes a record with these key and bins lengths takes on disk, padding included. */
export function logRecordSpanBytes(keyBytes: number, binsBytes: number): number {
  return alignRecordBytes(LOG_RECORD_HEADER_BYTES + keyBytes + binsBytes);
}

/**
 * Writes one record at buf[offset] and returns the bytes written (padding included). The caller
 * guarantees room for logRecordSpanBytes(); fields out of range throw before anything is written.
 */
export function encodeInto(buf: Uint8Array, offset: number, input: LogRecordInput, sequence: number, durableBytes: number): number {
  const keyBytes = input.key === null ? 0 : input.keyEnd - input.keyStart;
  const binsBytes = input.bins === null ? 0 : input.binsEnd - input.binsStart;
  const totalBytes = LOG_RECORD_HEADER_BYTES + keyBytes + binsBytes;
  const spanBytes = alignRecordBytes(totalBytes);
  checkInput(input, keyBytes, binsBytes, sequence, durableBytes);
  if (!(offset >= 0 && offset % LOG_RECORD_ALIGN_BYTES === 0 && offset + spanBytes <= buf.length)) {
    throw new RangeError(`encodeInto: ${spanBytes} bytes at offset ${offset} do not fit a buffer of ${buf.length}`);
  }
  const view = dataViewOf(buf);
  view.setUint32(offset + O_MAGIC, LOG_MAGIC, true);
  view.setUint32(offset + O_TOTAL_BYTES, totalBytes, true);
  view.setUint32(offset + O_SEQUENCE_LOW, sequence % TWO_POW_32, true);
  view.setUint32(offset + O_SEQUENCE_HIGH, Math.floor(sequence / TWO_POW_32), true);
  buf[offset + O_KIND] = input.kind;
  buf[offset + O_VERSION] = LOG_FORMAT_VERSION;
  view.setUint16(offset + O_PARTITION_ID, input.partitionId, true);
  view.setUint16(offset + O_SET_ID, input.setId, true);
  view.setUint16(offset + O_GENERATION, input.generation, true);
  for (let i = 0; i < DIGEST_BYTES; i++) buf[offset + O_DIGEST + i] = input.digest[input.digestOffset + i];
  view.setUint32(offset + O_VOID_TIME, input.voidTime, true);
  view.setUint32(offset + O_DURABLE_BYTES, durableBytes, true);
  view.setFloat64(offset + O_LAST_UPDATE_MS, input.lastUpdateMs, true);
  view.setUint32(offset + O_KEY_BYTES, keyBytes, true);
  view.setUint32(offset + O_BINS_BYTES, binsBytes, true);
  let at = offset + LOG_RECORD_HEADER_BYTES;
  if (input.key !== null) {
    copyRange(input.key, input.keyStart, input.keyEnd, buf, at);
    at += keyBytes;
  }
  if (input.bins !== null) {
    copyRange(input.bins, input.binsStart, input.binsEnd, buf, at);
    at += binsBytes;
  }
  buf.fill(0, at, offset + spanBytes);
  view.setUint32(offset + O_CRC, crc32c(buf, offset + CRC_START, offset + totalBytes), true);
  return spanBytes;
}

function checkInput(input: LogRecordInput, keyBytes: number, binsBytes: number, sequence: number, durableBytes: number): void {
  const kindOk = input.kind === LogRecordKind.PUT || input.kind === LogRecordKind.TOMBSTONE || input.kind === LogRecordKind.TRUNCATE;
  const fieldsOk =
    kindOk &&
    Number.isInteger(sequence) &&
    sequence >= 1 &&
    sequence <= LOG_SEQUENCE_MAX &&
    Number.isInteger(input.partitionId) &&
    input.partitionId >= 0 &&
    input.partitionId < PARTITION_COUNT &&
    Number.isInteger(input.setId) &&
    input.setId >= 0 &&
    input.setId <= 0xffff &&
    Number.isInteger(input.generation) &&
    input.generation >= 0 &&
    input.generation <= GENERATION_MAX &&
    Number.isInteger(input.voidTime) &&
    input.voidTime >= 0 &&
    input.voidTime <= 0xffff_ffff &&
    Number.isInteger(durableBytes) &&
    durableBytes >= 0 &&
    durableBytes <= 0xffff_ffff &&
    input.digestOffset >= 0 &&
    input.digestOffset + DIGEST_BYTES <= input.digest.length &&
    keyBytes >= 0 &&
    binsBytes >= 0 &&
    (input.key === null || (input.keyStart >= 0 && input.keyEnd <= input.key.length)) &&
    (input.bins === null || (input.binsStart >= 0 && input.binsEnd <= input.bins.length));
  if (!fieldsOk) throw new RangeError(`encodeInto: a field is out of range (kind ${input.kind}, sequence ${sequence})`);
  if (LOG_RECORD_HEADER_BYTES + keyBytes + binsBytes > LOG_RECORD_BYTES_MAX) {
    throw new RangeError(`encodeInto: record of ${LOG_RECORD_HEADER_BYTES + keyBytes + binsBytes} bytes exceeds ${LOG_RECORD_BYTES_MAX}`);
  }
}

/**
 * One decoded record, reused from call to call. Key, bins and digest are ranges of `buffer`
 * (the buffer passed to decodeAt), valid only until that buffer is overwritten.
 */
export class LogRecordView {
  status: DecodeStatus = 'torn';
  reason: DecodeReason = 'short-header';
  /** Buffer offset just past this record's padding (only when status is ok). */
  nextOffset = 0;
  /**
   * Bytes the record needs from its offset, when the header could be read (else 0): recovery reads
   * that many before deciding a short record is torn.
   */
  spanBytes = 0;
  buffer: Uint8Array = new Uint8Array(0);
  sequence = 0;
  kind = 0;
  partitionId = 0;
  setId = 0;
  generation = 0;
  digestOffset = 0;
  voidTime = 0;
  durableBytes = 0;
  lastUpdateMs = 0;
  keyStart = 0;
  keyEnd = 0;
  binsStart = 0;
  binsEnd = 0;

  get hasKey(): boolean {
    return this.keyEnd > this.keyStart;
  }

  /** A copy of the digest (allocates; for tests and reports). */
  digestCopy(): Uint8Array {
    return this.buffer.slice(this.digestOffset, this.digestOffset + DIGEST_BYTES);
  }
}

function setStatus(out: LogRecordView, status: DecodeStatus, reason: DecodeReason): LogRecordView {
  out.status = status;
  out.reason = reason;
  return out;
}

/** Decodes the record at buf[offset] using bytes up to `end` (exclusive), into `out`. */
export function decodeAt(buf: Uint8Array, offset: number, end: number, out: LogRecordView = new LogRecordView()): LogRecordView {
  if (!(offset >= 0 && offset <= end && end <= buf.length)) throw new RangeError(`decodeAt: [${offset}, ${end}) outside ${buf.length} bytes`);
  out.buffer = buf;
  out.spanBytes = 0;
  const available = end - offset;
  if (available < 4) return setStatus(out, 'torn', available === 0 || isZero(buf, offset, end) ? 'zero-fill' : 'short-header');
  const view = dataViewOf(buf);
  const magic = view.getUint32(offset + O_MAGIC, true);
  if (magic === 0) return setStatus(out, 'torn', 'zero-fill');
  if (magic !== LOG_MAGIC) return setStatus(out, 'corrupt', 'bad-magic');
  if (available < O_CRC) return setStatus(out, 'torn', 'short-header');
  const totalBytes = view.getUint32(offset + O_TOTAL_BYTES, true);
  if (totalBytes < LOG_RECORD_HEADER_BYTES || totalBytes > LOG_RECORD_BYTES_MAX) return setStatus(out, 'corrupt', 'bad-length');
  const spanBytes = alignRecordBytes(totalBytes);
  out.spanBytes = spanBytes;
  if (available < spanBytes) return setStatus(out, 'torn', available < LOG_RECORD_HEADER_BYTES ? 'short-header' : 'short-record');
  if (view.getUint32(offset + O_CRC, true) !== crc32c(buf, offset + CRC_START, offset + totalBytes)) {
    return setStatus(out, 'corrupt', 'bad-checksum');
  }
  // The checksum matched, so a field out of range was written that way: a bug or a foreign file.
  const keyBytes = view.getUint32(offset + O_KEY_BYTES, true);
  const binsBytes = view.getUint32(offset + O_BINS_BYTES, true);
  const kind = buf[offset + O_KIND];
  const sequenceHigh = view.getUint32(offset + O_SEQUENCE_HIGH, true);
  const sequence = sequenceHigh * TWO_POW_32 + view.getUint32(offset + O_SEQUENCE_LOW, true);
  const partitionId = view.getUint16(offset + O_PARTITION_ID, true);
  const fieldsOk =
    LOG_RECORD_HEADER_BYTES + keyBytes + binsBytes === totalBytes &&
    (kind === LogRecordKind.PUT || kind === LogRecordKind.TOMBSTONE || kind === LogRecordKind.TRUNCATE) &&
    buf[offset + O_VERSION] === LOG_FORMAT_VERSION &&
    sequence >= 1 &&
    sequence <= LOG_SEQUENCE_MAX &&
    partitionId < PARTITION_COUNT;
  if (!fieldsOk) return setStatus(out, 'corrupt', 'bad-field');
  out.sequence = sequence;
  out.kind = kind;
  out.partitionId = partitionId;
  out.setId = view.getUint16(offset + O_SET_ID, true);
  out.generation = view.getUint16(offset + O_GENERATION, true);
  out.digestOffset = offset + O_DIGEST;
  out.voidTime = view.getUint32(offset + O_VOID_TIME, true);
  out.durableBytes = view.getUint32(offset + O_DURABLE_BYTES, true);
  out.lastUpdateMs = view.getFloat64(offset + O_LAST_UPDATE_MS, true);
  out.keyStart = offset + LOG_RECORD_HEADER_BYTES;
  out.keyEnd = out.keyStart + keyBytes;
  out.binsStart = out.keyEnd;
  out.binsEnd = out.binsStart + binsBytes;
  out.nextOffset = offset + spanBytes;
  return setStatus(out, 'ok', 'none');
}

/** The last buffer's DataView: encoding or decoding a run of records in one buffer allocates once. */
let cachedBuffer: Uint8Array | null = null;
let cachedView: DataView = new DataView(new ArrayBuffer(0));

function dataViewOf(buf: Uint8Array): DataView {
  if (buf !== cachedBuffer) {
    cachedBuffer = buf;
    cachedView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  return cachedView;
}

/** Below this many bytes a loop beats creating a subarray for TypedArray.set. */
const COPY_LOOP_BYTES_MAX = 64;

function copyRange(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
  if (end - start <= COPY_LOOP_BYTES_MAX) {
    for (let i = start; i < end; i++) dst[at + i - start] = src[i];
  } else {
    dst.set(src.subarray(start, end), at);
  }
}

function isZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}
