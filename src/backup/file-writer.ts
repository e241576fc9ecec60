// Writes a backup file so that a crash never leaves a half file under its name: everything goes
// to FILE.tmp through a write stream (waiting for 'drain' when its buffer is full), and only a
// complete file, trailer included and fsync'd, is renamed to FILE, after which the directory is
// fsync'd so the rename itself survives a crash. An aborted writer removes FILE.tmp.
//
// Frames are encoded into one Writer and handed to the stream in chunks of about
// BACKUP_WRITE_CHUNK_BYTES, so memory is one chunk, one frame and the stream's own buffer.

import { once } from 'node:events';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import type { WriteStream } from 'node:fs';
import { BACKUP_FRAME_BYTES_MAX, BACKUP_WRITE_CHUNK_BYTES } from '../constants';
import { Writer } from '../protocol/writer';
import { syncDirectory } from '../storage/segment-files';
import { BackupError, ioFailure } from './backup-error';
import { FRAME_HEADER_BYTES, FrameKind, PREAMBLE_BYTES, writeHeaderBody, writeRecordBody, writeTrailerBody, type BackupHeader, type BackupRecord } from './format';
import { beginFrame, endFrame, writePreamble } from './frames';

export const TMP_SUFFIX = '.tmp';

export class BackupFileWriter {
  readonly file: string;
  readonly tmpFile: string;
  private readonly handle: FileHandle;
  private readonly stream: WriteStream;
  private readonly chunk = new Writer(BACKUP_WRITE_CHUNK_BYTES + FRAME_HEADER_BYTES + BACKUP_FRAME_BYTES_MAX + PREAMBLE_BYTES, BACKUP_WRITE_CHUNK_BYTES);
  private streamError: Error | null = null;
  private count = 0;
  private byteCount = 0;
  private state: 'open' | 'finished' | 'aborted' = 'open';

  private constructor(file: string, tmpFile: string, handle: FileHandle) {
    this.file = file;
    this.tmpFile = tmpFile;
    this.handle = handle;
    this.stream = handle.createWriteStream({ autoClose: false, highWaterMark: BACKUP_WRITE_CHUNK_BYTES });
    this.stream.on('error', (error) => {
      this.streamError ??= error;
    });
  }

  /** Creates (or truncates) FILE.tmp and writes the preamble and the header frame into the first chunk. */
  static async create(file: string, header: BackupHeader): Promise<BackupFileWriter> {
    const tmpFile = file + TMP_SUFFIX;
    let handle: FileHandle;
    try {
      handle = await open(tmpFile, 'w');
    } catch (error) {
      throw ioFailure('cannot create', tmpFile, error);
    }
    const writer = new BackupFileWriter(file, tmpFile, handle);
    writePreamble(writer.chunk);
    const at = beginFrame(writer.chunk, FrameKind.HEADER);
    writeHeaderBody(writer.chunk, header);
    writer.byteCount = PREAMBLE_BYTES + endFrame(writer.chunk, at);
    return writer;
  }

  /** RECORD frames written. */
  get recordCount(): number {
    return this.count;
  }

  /** Bytes of the file so far (written or waiting in the chunk). */
  get bytes(): number {
    return this.byteCount;
  }

  /** Adds a record; resolves at once unless a full chunk must first be accepted by the stream. */
  async add(record: BackupRecord): Promise<void> {
    const at = beginFrame(this.chunk, FrameKind.RECORD);
    try {
      writeRecordBody(this.chunk, record);
    } catch (error) {
      this.chunk.truncate(at); // no half frame left in the chunk
      throw error;
    }
    this.byteCount += endFrame(this.chunk, at);
    this.count++;
    if (this.chunk.length >= BACKUP_WRITE_CHUNK_BYTES) await this.flush();
  }

  /** Writes the trailer, makes the file durable and gives it its final name. Answers its bytes. */
  async finish(): Promise<number> {
    const at = beginFrame(this.chunk, FrameKind.TRAILER);
    writeTrailerBody(this.chunk, { records: this.count });
    this.byteCount += endFrame(this.chunk, at);
    await this.flush();
    try {
      this.stream.end();
      await finished(this.stream);
      await this.handle.sync();
      await this.close();
    } catch (error) {
      throw ioFailure('cannot write', this.tmpFile, this.streamError ?? error);
    }
    try {
      await rename(this.tmpFile, this.file);
      this.state = 'finished'; // from here on FILE.tmp is gone and FILE complete: abort leaves it
      syncDirectory(dirname(this.file));
    } catch (error) {
      throw ioFailure('cannot rename into place', this.file, error);
    }
    return this.byteCount;
  }

  /** Gives up: closes and removes FILE.tmp. Never throws; safe to call more than once. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.close().catch(() => undefined);
    await unlink(this.tmpFile).catch(() => undefined);
  }

  /**
   * A FileHandle's stream holds a reference on the handle until the stream is destroyed, and
   * handle.close() waits for it; destroying the stream closes the handle (after the fsync, which
   * is why autoClose is off until then).
   */
  private async close(): Promise<void> {
    if (!this.stream.closed) {
      const closed = once(this.stream, 'close');
      this.stream.destroy();
      await closed;
    }
    await this.handle.close();
  }

  private async flush(): Promise<void> {
    if (this.streamError !== null) throw ioFailure('cannot write', this.tmpFile, this.streamError);
    if (this.state !== 'open') throw new BackupError('io-failed', `${this.tmpFile}: the writer is closed`, { file: this.tmpFile });
    if (this.chunk.length === 0) return;
    // The stream keeps the buffer until it is written, so it gets a copy and the chunk is reused.
    const data = this.chunk.copy();
    this.chunk.reset();
    if (this.stream.write(data)) return;
    try {
      // once() rejects if the stream emits 'error' meanwhile (it is never destroyed on its own:
      // autoClose false keeps the handle open for the final fsync).
      await once(this.stream, 'drain');
    } catch (error) {
      throw ioFailure('cannot write', this.tmpFile, this.streamError ?? error);
    }
  }
}
