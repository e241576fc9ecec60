// The backup file format, version 1: its layout and the msgpack body of each frame kind.
// docs/backup.md is the prose form, byte by byte.
//
//   file     = preamble, HEADER frame, RECORD frame × n, TRAILER frame, end of file
//   preamble = 8-byte magic, u16 LE format version, u16 LE flags (0)
//   frame    = u32 LE body bytes, u32 LE CRC32C, u8 kind, body (exactly one msgpack value)
//
// Bodies are written with the protocol's Writer and read with its strict Reader, so a value
// travels from the node to the file and back to a node with the encoding the wire uses: integers
// beyond 2^53 stay bigints, maps with integer keys stay Maps, bytes stay bytes.

import { BINS_PER_RECORD_MAX, DIGEST_BYTES, GENERATION_MAX, VALUE_DEPTH_MAX } from '../constants';
import { Status, AerieError } from '../errors';
import { computeDigest, isDigest } from '../partition/digest';
import { unpackValue } from '../protocol/codec';
import { Ttl, type Bins, type UserKey } from '../protocol/ops';
import type { Writer } from '../protocol/writer';
import { checkNamespace, checkSet } from '../client/validate';

/**
 * First bytes of every backup file. As in PNG: a high-bit byte catches 7-bit transfers, CR LF
 * catches newline conversion, and 0x1a stops `type` on DOS.
 */
export const BACKUP_MAGIC: Readonly<Buffer> = Buffer.from([0x89, 0x41, 0x45, 0x42, 0x4b, 0x0d, 0x0a, 0x1a]);
/** The only format version this build writes and reads. */
export const BACKUP_FORMAT_VERSION = 1;
/** Magic, version, flags. */
export const PREAMBLE_BYTES = BACKUP_MAGIC.length + 2 + 2;
/** Body length, CRC32C, kind. */
export const FRAME_HEADER_BYTES = 4 + 4 + 1;

export const FrameKind = {
  HEADER: 1,
  RECORD: 2,
  TRAILER: 3,
} as const;
export type FrameKindCode = (typeof FrameKind)[keyof typeof FrameKind];

export function isFrameKind(kind: number): kind is FrameKindCode {
  return kind === FrameKind.HEADER || kind === FrameKind.RECORD || kind === FrameKind.TRAILER;
}

/** TTL of a record that never expires, as the file stores it. */
export const TTL_NEVER = Ttl.NEVER_EXPIRE;
/** TTLs are stored as u32 seconds at most (void-times are u32 seconds). */
const TTL_STORED_MAX = 0xffff_ffff;

export interface BackupHeader {
  /** The namespace backed up. */
  ns: string;
  /** The set the backup was limited to, or null for every record of the namespace. */
  set: string | null;
  /** When the backup started, Unix ms; every record's TTL counts from this moment. */
  createdAtMs: number;
  /** The node's name and version from its HELLO answer ('' when it did not say). */
  node: string;
  nodeVersion: string;
  /** The program that wrote the file, e.g. 'aerie-ts/0.1.0'. */
  tool: string;
}

export interface BackupRecord {
  /** RIPEMD-160 of set and key: always present, and the record's identity when no key was stored. */
  digest: Buffer;
  set: string | null;
  /** The user key when the record stored it, else null. */
  key: UserKey | null;
  gen: number;
  /** Seconds left at the header's createdAtMs, or TTL_NEVER (-1). */
  ttl: number;
  bins: Bins;
}

export interface BackupTrailer {
  /** RECORD frames in the file. */
  records: number;
}

// ---- encoding (into a Writer; frames.ts wraps each body in its frame) ----

export function writeHeaderBody(w: Writer, header: BackupHeader): void {
  w.writeValue({
    ns: header.ns,
    set: header.set,
    createdAtMs: header.createdAtMs,
    node: header.node,
    nodeVersion: header.nodeVersion,
    tool: header.tool,
  });
}

/** [digest, set | nil, key | nil, gen, ttl, bins]: the order of a scan record on the wire. */
export function writeRecordBody(w: Writer, record: BackupRecord): void {
  w.writeArrayHeader(6);
  w.writeBin(record.digest);
  if (record.set === null) w.writeNil();
  else w.writeString(record.set);
  if (record.key === null) w.writeNil();
  else w.writeValue(record.key);
  w.writeUint(record.gen);
  w.writeInt(record.ttl);
  w.writeValue(record.bins, VALUE_DEPTH_MAX + 1);
}

export function writeTrailerBody(w: Writer, trailer: BackupTrailer): void {
  w.writeValue({ records: trailer.records });
}

// ---- decoding (each throws AerieError(PARAMETER); the file reader adds file and offset) ----

function bad(what: string): AerieError {
  return new AerieError(Status.PARAMETER, what);
}

function asFields(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Map || value instanceof Uint8Array) {
    throw bad(`${what} is not a map`);
  }
  return value as Record<string, unknown>;
}

function optionalString(value: unknown, what: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw bad(`${what} is not a string`);
  return value;
}

/** Unknown header fields are ignored, so a later minor addition does not need a new version. */
export function decodeHeaderBody(bytes: Uint8Array, start: number, end: number): BackupHeader {
  const fields = asFields(unpackValue(bytes, start, end), 'header');
  const createdAtMs = fields.createdAtMs;
  if (typeof createdAtMs !== 'number' || !Number.isSafeInteger(createdAtMs) || createdAtMs < 0) throw bad('header createdAtMs is not a time');
  return {
    ns: checkNamespace(fields.ns),
    set: checkSet(fields.set),
    createdAtMs,
    node: optionalString(fields.node, 'header node'),
    nodeVersion: optionalString(fields.nodeVersion, 'header nodeVersion'),
    tool: optionalString(fields.tool, 'header tool'),
  };
}

export function decodeRecordBody(bytes: Uint8Array, start: number, end: number): BackupRecord {
  // The record array and the bins map are two levels above the values inside the bins.
  const value = unpackValue(bytes, start, end, VALUE_DEPTH_MAX + 2);
  if (!Array.isArray(value) || value.length !== 6) throw bad('record is not [digest, set, key, gen, ttl, bins]');
  const [digest, set, key, gen, ttl, bins] = value;
  if (!isDigest(digest)) throw bad(`record digest is not ${DIGEST_BYTES} bytes`);
  if (typeof gen !== 'number' || !Number.isInteger(gen) || gen < 1 || gen > GENERATION_MAX) throw bad('record gen out of range');
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || !(ttl === TTL_NEVER || (ttl >= 1 && ttl <= TTL_STORED_MAX))) {
    throw bad('record ttl out of range');
  }
  const record: BackupRecord = {
    digest: digest as Buffer,
    set: checkSet(set),
    key: checkKey(key),
    gen,
    ttl,
    bins: asFields(bins, 'record bins') as Bins,
  };
  const binCount = Object.keys(record.bins).length;
  if (binCount === 0 || binCount > BINS_PER_RECORD_MAX) throw bad(`record has ${binCount} bins`);
  // The digest is the record's identity on the node: a key that hashes elsewhere would restore
  // the record under another address than the one it was backed up from.
  if (record.key !== null && !computeDigest(record.set, record.key).equals(record.digest)) throw bad('record key and digest disagree');
  return record;
}

function checkKey(key: unknown): UserKey | null {
  if (key === null) return null;
  if (typeof key === 'string' || typeof key === 'number' || typeof key === 'bigint' || key instanceof Uint8Array) return key;
  throw bad('record key is not a string, an integer or bytes');
}

export function decodeTrailerBody(bytes: Uint8Array, start: number, end: number): BackupTrailer {
  const records = asFields(unpackValue(bytes, start, end), 'trailer').records;
  if (typeof records !== 'number' || !Number.isSafeInteger(records) || records < 0) throw bad('trailer record count is not a count');
  return { records };
}
