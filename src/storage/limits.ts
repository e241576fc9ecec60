// Limits of the storage layer, with their relationships asserted at load. They will move into
// src/constants.ts when the storage layer is wired into the worker; until then they live here so
// this folder can be built and tested alone. Names carry their unit last.

import { RECORD_BYTES_CEILING, RECORD_BYTES_MAX_DEFAULT, USER_KEY_BYTES_MAX } from '../constants';

/** First word of every log record; never 0 (zero fill) and never a plausible length. */
export const LOG_MAGIC = 0xae1e_0c01;
/** Format version byte of the records this build writes (and the only one it reads). */
export const LOG_FORMAT_VERSION = 1;
/** Bytes of a log record before its key and bins (see log-record.ts for the layout). */
export const LOG_RECORD_HEADER_BYTES = 72;
/** Records start on 8-byte boundaries; the padding after a record is zero. */
export const LOG_RECORD_ALIGN_BYTES = 8;
/**
 * The largest log record any build may write or read: header, the largest user key and the
 * largest record Aerie accepts. A length field above this is corruption, never an allocation.
 */
export const LOG_RECORD_BYTES_MAX = LOG_RECORD_HEADER_BYTES + USER_KEY_BYTES_MAX + RECORD_BYTES_CEILING;
/** Sequences are JS numbers: exact up to 2^53, i.e. centuries at a million writes per second. */
export const LOG_SEQUENCE_MAX = Number.MAX_SAFE_INTEGER;

/** Segment file size (configurable per namespace, between the bounds below). */
export const SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Tests use small segments to exercise roll-over; a segment must still hold one record. */
export const SEGMENT_BYTES_MIN = 4096;
export const SEGMENT_BYTES_MAX = 1024 * 1024 * 1024;
/** Segment numbers are written with this many digits: `seg-000000000001.log`. */
export const SEGMENT_NUMBER_DIGITS = 12;
export const SEGMENT_NUMBER_MAX = 10 ** SEGMENT_NUMBER_DIGITS - 1;

/** Key plus bins bytes a writer accepts unless configured otherwise (the namespace's max-record-size). */
export const LOG_RECORD_DATA_BYTES_MAX_DEFAULT = RECORD_BYTES_MAX_DEFAULT + USER_KEY_BYTES_MAX;
/**
 * The writer's append buffer, allocated once at open. Appends that do not fit are written out
 * (without a sync) to make room, so this bounds memory, not the size of a group commit.
 */
export const WRITE_BUFFER_BYTES_DEFAULT = 2 * 1024 * 1024;
/** flush-ms bounds: the documented loss window of acknowledged writes. */
export const FLUSH_MS_MIN = 1;
export const FLUSH_MS_MAX = 60_000;

/** Recovery reads segments in chunks of this size; the buffer grows only for a larger record. */
export const RECOVERY_READ_CHUNK_BYTES = 1024 * 1024;
/** Recovery calls onProgress after about this many bytes. */
export const RECOVERY_PROGRESS_BYTES = 64 * 1024 * 1024;

/** A sealed segment whose live bytes fall below this share is a compaction candidate. */
export const COMPACTION_LIVE_RATIO_MAX_DEFAULT = 0.5;
/** Segments one compaction job rewrites at most. */
export const COMPACTION_SEGMENTS_PER_JOB_MAX = 64;

function assert(condition: boolean, what: string): void {
  if (!condition) throw new Error(`storage limits: ${what}`);
}
assert(LOG_RECORD_HEADER_BYTES % LOG_RECORD_ALIGN_BYTES === 0, 'the header keeps key bytes 8-aligned');
assert(SEGMENT_BYTES_DEFAULT >= LOG_RECORD_BYTES_MAX + LOG_RECORD_ALIGN_BYTES, 'a default segment holds the largest record');
assert(SEGMENT_BYTES_MAX <= 0xffff_ffff, 'segment offsets fit the u32 durableBytes field');
assert(SEGMENT_BYTES_MIN % LOG_RECORD_ALIGN_BYTES === 0, 'segment sizes are 8-aligned');
assert(WRITE_BUFFER_BYTES_DEFAULT >= LOG_RECORD_HEADER_BYTES + LOG_RECORD_DATA_BYTES_MAX_DEFAULT + LOG_RECORD_ALIGN_BYTES, 'the default buffer holds a default-size record');
assert(RECOVERY_READ_CHUNK_BYTES >= LOG_RECORD_HEADER_BYTES, 'a read chunk holds a header');
assert(LOG_RECORD_BYTES_MAX <= 0xffff_ffff, 'record lengths fit u32');
