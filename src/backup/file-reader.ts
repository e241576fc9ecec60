// Reads a backup file as a stream of records with bounded memory: the preamble and the HEADER
// frame on open, then one RECORD frame per `next()`, and at the end the TRAILER, whose count must
// match and after which the file must end. Any departure is a BackupError naming file and offset.

import { open, type FileHandle } from 'node:fs/promises';
import { BackupError, ioFailure } from './backup-error';
import { decodeHeaderBody, decodeRecordBody, decodeTrailerBody, FRAME_HEADER_BYTES, FrameKind, type BackupHeader, type BackupRecord, type BackupTrailer } from './format';
import { FrameReader, type Frame, type ReadAt } from './frames';

const KIND_NAMES = ['', 'header', 'record', 'trailer'];

export class BackupFileReader {
  /** The file's name, for messages and errors. */
  readonly file: string;
  readonly header: BackupHeader;
  private readonly frames: FrameReader;
  private readonly closeSource: () => Promise<void>;
  private count = 0;
  private lastBodyBytes = 0;
  private endTrailer: BackupTrailer | null = null;

  private constructor(file: string, frames: FrameReader, header: BackupHeader, closeSource: () => Promise<void>) {
    this.file = file;
    this.frames = frames;
    this.header = header;
    this.closeSource = closeSource;
  }

  /** Opens a backup file and reads its preamble and header. */
  static async open(file: string): Promise<BackupFileReader> {
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      throw ioFailure('cannot open', file, error);
    }
    const readAt: ReadAt = async (buf, offset, length, position) => {
      try {
        return (await handle.read(buf, offset, length, position)).bytesRead;
      } catch (error) {
        throw ioFailure('cannot read', file, error);
      }
    };
    return BackupFileReader.fromSource(file, readAt, () => handle.close());
  }

  /** Reads a backup from any positioned source (bytes in memory, in tests); `name` stands for the file. */
  static async fromSource(name: string, readAt: ReadAt, closeSource: () => Promise<void> = async () => undefined): Promise<BackupFileReader> {
    const frames = new FrameReader(readAt);
    try {
      await frames.readPreamble();
      const frame = await frames.next();
      if (frame === null || frame.kind !== FrameKind.HEADER) throw outOfOrder(frame, frames.offset, 'a header');
      return new BackupFileReader(name, frames, decodeBody(frame, decodeHeaderBody), closeSource);
    } catch (error) {
      await closeSource().catch(() => undefined);
      throw inFile(error, name);
    }
  }

  /** RECORD frames read so far. */
  get recordCount(): number {
    return this.count;
  }

  /** Body bytes of the last record returned: about what its bins take to send. */
  get lastRecordBytes(): number {
    return this.lastBodyBytes;
  }

  /** Bytes of the file read and checked so far (the whole file once `next()` answered null). */
  get bytesRead(): number {
    return this.frames.offset;
  }

  /** The trailer, once `next()` has answered null. */
  get trailer(): BackupTrailer | null {
    return this.endTrailer;
  }

  /** The next record, or null once a matching trailer and the end of the file have been read. */
  async next(): Promise<BackupRecord | null> {
    if (this.endTrailer !== null) return null;
    try {
      const frame = await this.frames.next();
      if (frame === null || frame.kind === FrameKind.HEADER) throw outOfOrder(frame, this.frames.offset, 'a record or the trailer');
      if (frame.kind === FrameKind.RECORD) {
        const record = decodeBody(frame, decodeRecordBody);
        this.count++;
        this.lastBodyBytes = frame.bodyEnd - frame.bodyStart;
        return record;
      }
      const trailer = decodeBody(frame, decodeTrailerBody);
      if (trailer.records !== this.count) {
        throw new BackupError('count-mismatch', `the trailer at offset ${frame.offset} counts ${trailer.records} records, the file holds ${this.count}`, {
          offset: frame.offset,
        });
      }
      if (!(await this.frames.atEnd())) {
        throw new BackupError('trailing-bytes', `bytes after the trailer, at offset ${this.frames.offset}`, { offset: this.frames.offset });
      }
      this.endTrailer = trailer;
      return null;
    } catch (error) {
      throw inFile(error, this.file);
    }
  }

  async close(): Promise<void> {
    await this.closeSource().catch(() => undefined);
  }
}

/** What a whole-file check found. */
export interface BackupFileSummary {
  file: string;
  header: BackupHeader;
  records: number;
  bytes: number;
}

/**
 * Reads a whole backup file and checks every frame, body and the trailer without writing
 * anything: what a restore does first, so a damaged file is refused before any record is written.
 */
export async function checkBackupFile(file: string): Promise<BackupFileSummary> {
  const reader = await BackupFileReader.open(file);
  try {
    while ((await reader.next()) !== null) {
      // Each record is decoded and checked by next(); nothing else to do with it here.
    }
    return { file, header: reader.header, records: reader.recordCount, bytes: reader.bytesRead };
  } finally {
    await reader.close();
  }
}

function decodeBody<T>(frame: Frame, decode: (bytes: Uint8Array, start: number, end: number) => T): T {
  // Decoding a view that starts at the frame makes the offsets in a Reader message count from
  // the frame's first byte, which the message then says, instead of from the read buffer.
  const view = frame.bytes.subarray(frame.bodyStart - FRAME_HEADER_BYTES, frame.bodyEnd);
  try {
    return decode(view, FRAME_HEADER_BYTES, view.length);
  } catch (error) {
    if (error instanceof BackupError) throw error;
    const message = (error as Error).message;
    throw new BackupError('bad-body', `the ${KIND_NAMES[frame.kind]} frame at offset ${frame.offset} is malformed (offsets within the frame): ${message}`, {
      offset: frame.offset,
      cause: error,
    });
  }
}

function outOfOrder(frame: Frame | null, endOffset: number, expected: string): BackupError {
  if (frame === null) return new BackupError('truncated', `the file ends at offset ${endOffset}, where ${expected} frame was expected`, { offset: endOffset });
  return new BackupError('bad-frame', `a ${KIND_NAMES[frame.kind]} frame at offset ${frame.offset}, where ${expected} frame was expected`, {
    offset: frame.offset,
  });
}

function inFile(error: unknown, file: string): unknown {
  return error instanceof BackupError ? error.inFile(file) : error;
}
