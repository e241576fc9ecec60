// The byte level of a backup file: the preamble, and frames of [u32 LE body bytes, u32 LE CRC32C,
// u8 kind, body]. The CRC covers the length, the kind and the body (every byte of the frame but
// itself), so a flipped bit anywhere in a frame is caught, including one that changes its length.
//
// FrameReader pulls bytes from any positioned source (a file handle, or bytes in memory in tests)
// through one buffer that grows only for a frame larger than a read chunk, up to the frame limit.

import { BACKUP_FRAME_BYTES_MAX, BACKUP_READ_CHUNK_BYTES } from '../constants';
import { crc32c } from '../storage/crc32c';
import type { Writer } from '../protocol/writer';
import { BackupError } from './backup-error';
import { BACKUP_FORMAT_VERSION, BACKUP_MAGIC, FRAME_HEADER_BYTES, isFrameKind, PREAMBLE_BYTES, type FrameKindCode } from './format';

const KIND_OFFSET = 8;
const CRC_OFFSET = 4;

// ---- writing ----

export function writePreamble(w: Writer): void {
  w.writeRaw(BACKUP_MAGIC);
  const versionAndFlags = Buffer.alloc(4);
  versionAndFlags.writeUInt16LE(BACKUP_FORMAT_VERSION, 0);
  w.writeRaw(versionAndFlags);
}

const KIND_BYTES: Readonly<Record<FrameKindCode, Uint8Array>> = { 1: Uint8Array.of(1), 2: Uint8Array.of(2), 3: Uint8Array.of(3) };
const LENGTH_AND_CRC_PLACEHOLDER = new Uint8Array(8);

/** Starts a frame; write its body next, then call endFrame with the offset returned. */
export function beginFrame(w: Writer, kind: FrameKindCode): number {
  const at = w.length;
  w.writeRaw(LENGTH_AND_CRC_PLACEHOLDER);
  w.writeRaw(KIND_BYTES[kind]);
  return at;
}

/**
 * Fills in the length and CRC of the frame begun at `at`, and answers the frame's bytes. A body
 * over the frame limit is taken back out of the writer and refused: no reader would accept it.
 */
export function endFrame(w: Writer, at: number): number {
  const bodyBytes = w.length - at - FRAME_HEADER_BYTES;
  if (!(bodyBytes >= 0)) throw new RangeError(`endFrame: no frame begun at ${at}`);
  if (bodyBytes > BACKUP_FRAME_BYTES_MAX) {
    w.truncate(at);
    throw new BackupError('frame-too-big', `a frame body of ${bodyBytes} bytes exceeds the ${BACKUP_FRAME_BYTES_MAX}-byte limit`);
  }
  w.patchUint32LE(at, bodyBytes);
  w.patchUint32LE(at + CRC_OFFSET, frameCrc(w.bytes(), at, bodyBytes));
  return FRAME_HEADER_BYTES + bodyBytes;
}

function frameCrc(bytes: Uint8Array, at: number, bodyBytes: number): number {
  return crc32c(bytes, at + KIND_OFFSET, at + FRAME_HEADER_BYTES + bodyBytes, crc32c(bytes, at, at + CRC_OFFSET));
}

// ---- reading ----

/** Reads up to `length` bytes at file position `position` into buf[offset…]; 0 at the end. */
export type ReadAt = (buf: Buffer, offset: number, length: number, position: number) => Promise<number>;

/** One frame, as views into the reader's buffer: valid until the next call to `next()`. */
export interface Frame {
  kind: FrameKindCode;
  /** Offset of the frame's first byte in the file. */
  offset: number;
  bytes: Buffer;
  bodyStart: number;
  bodyEnd: number;
}

export class FrameReader {
  private readonly readAt: ReadAt;
  private buf: Buffer;
  /** Unconsumed bytes are buf[start, end); buf[start] is at file position `filePos`. */
  private start = 0;
  private end = 0;
  private filePos = 0;
  private eof = false;
  private readonly frame: Frame = { kind: 1, offset: 0, bytes: Buffer.alloc(0), bodyStart: 0, bodyEnd: 0 };

  constructor(readAt: ReadAt, chunkBytes: number = BACKUP_READ_CHUNK_BYTES) {
    if (!(Number.isSafeInteger(chunkBytes) && chunkBytes >= PREAMBLE_BYTES + FRAME_HEADER_BYTES)) throw new RangeError(`chunkBytes ${chunkBytes}`);
    this.readAt = readAt;
    this.buf = Buffer.allocUnsafe(chunkBytes);
  }

  /** File offset of the next unread byte: after the last frame returned, the bytes read so far. */
  get offset(): number {
    return this.filePos;
  }

  /** Reads and checks the magic and the format version. */
  async readPreamble(): Promise<number> {
    if (!(await this.fill(PREAMBLE_BYTES))) {
      const magicBytes = Math.min(this.end - this.start, BACKUP_MAGIC.length);
      const isPrefix = BACKUP_MAGIC.subarray(0, magicBytes).equals(this.buf.subarray(this.start, this.start + magicBytes));
      if (isPrefix) throw new BackupError('truncated', `the file ends at offset ${this.end - this.start}, inside the preamble`, { offset: 0 });
      throw new BackupError('bad-magic', 'not an Aerie backup file (bad magic at offset 0)', { offset: 0 });
    }
    const b = this.buf;
    if (!BACKUP_MAGIC.equals(b.subarray(this.start, this.start + BACKUP_MAGIC.length))) {
      throw new BackupError('bad-magic', 'not an Aerie backup file (bad magic at offset 0)', { offset: 0 });
    }
    const version = b.readUInt16LE(this.start + BACKUP_MAGIC.length);
    const flags = b.readUInt16LE(this.start + BACKUP_MAGIC.length + 2);
    if (version !== BACKUP_FORMAT_VERSION || flags !== 0) {
      throw new BackupError('bad-version', `format version ${version} (flags ${flags}) at offset ${BACKUP_MAGIC.length}; this build reads version ${BACKUP_FORMAT_VERSION}`, {
        offset: BACKUP_MAGIC.length,
      });
    }
    this.consume(PREAMBLE_BYTES);
    return version;
  }

  /** The next frame, checked (length, CRC, kind); null at a clean end of file. */
  async next(): Promise<Frame | null> {
    const at = this.filePos;
    if (!(await this.fill(FRAME_HEADER_BYTES))) {
      if (this.end === this.start) return null;
      throw new BackupError('truncated', `the file ends at offset ${at + this.end - this.start}, inside the frame header at offset ${at}`, { offset: at });
    }
    const bodyBytes = this.buf.readUInt32LE(this.start);
    if (bodyBytes > BACKUP_FRAME_BYTES_MAX) {
      throw new BackupError('frame-too-big', `the frame at offset ${at} declares ${bodyBytes} bytes, over the ${BACKUP_FRAME_BYTES_MAX}-byte limit`, { offset: at });
    }
    if (!(await this.fill(FRAME_HEADER_BYTES + bodyBytes))) {
      throw new BackupError('truncated', `the file ends at offset ${at + this.end - this.start}, inside the ${bodyBytes}-byte frame at offset ${at}`, { offset: at });
    }
    const b = this.buf;
    if (frameCrc(b, this.start, bodyBytes) !== b.readUInt32LE(this.start + CRC_OFFSET)) {
      throw new BackupError('bad-checksum', `the frame at offset ${at} fails its checksum`, { offset: at });
    }
    const kind = b[this.start + KIND_OFFSET];
    if (!isFrameKind(kind)) throw new BackupError('bad-frame', `unknown frame kind ${kind} at offset ${at}`, { offset: at });
    const frame = this.frame;
    frame.kind = kind;
    frame.offset = at;
    frame.bytes = b;
    frame.bodyStart = this.start + FRAME_HEADER_BYTES;
    frame.bodyEnd = frame.bodyStart + bodyBytes;
    this.consume(FRAME_HEADER_BYTES + bodyBytes);
    return frame;
  }

  /** True when no byte follows what has been read. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  private consume(byteCount: number): void {
    this.start += byteCount;
    this.filePos += byteCount;
  }

  /** Makes `byteCount` unconsumed bytes available; false when the file ends first. */
  private async fill(byteCount: number): Promise<boolean> {
    if (this.end - this.start >= byteCount) return true;
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (byteCount > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(byteCount, Math.min(2 * this.buf.length, FRAME_HEADER_BYTES + BACKUP_FRAME_BYTES_MAX)));
      this.buf.copy(grown, 0, 0, this.end);
      this.buf = grown;
    }
    while (this.end < byteCount && !this.eof) {
      const bytesRead = await this.readAt(this.buf, this.end, this.buf.length - this.end, this.filePos + this.end);
      if (bytesRead === 0) this.eof = true;
      this.end += bytesRead;
    }
    return this.end >= byteCount;
  }
}
