// A connection's answer frames as they are built: one msgpack array of [id, code, body] answers
// whose count is patched in when the frame is sent. A frame never exceeds the client's limit
// (HELLO maxFrameBytes), so an answer that would overflow it first has the frame sent; the count
// is raised only once an answer is whole, and an answer whose encoding throws is rolled back to
// where it began, so no error can leave a frame that announces more than it holds.

import { AerieError, Status } from '../errors';
import { Writer } from '../protocol/writer';
import { SESSION_OUT_KEEP_BYTES } from '../constants';

/** An answer's [id, code, …] header at most: fixarray, uint32 id, int64 code. */
export const ANSWER_HEADER_BYTES_MAX = 15;
/** The frame's array32 header. */
const FRAME_HEADER_BYTES = 5;
/** An error answer's message is cut to this many characters, so it fits any frame a client may announce. */
const ERROR_MESSAGE_CHARS_MAX = 200;

export class AnswerFrames {
  private out: Writer;
  private countAt = -1;
  private count = 0;

  constructor(
    private limit: number,
    /** A frame was opened: the owner sends it by the end of the turn. */
    private readonly onOpen: () => void,
    /** The open frame must go now (the next answer does not fit beside it). */
    private readonly onFull: () => void,
  ) {
    this.out = new Writer(limit);
  }

  /** The largest frame the client accepts. */
  get bytesMax(): number {
    return this.limit;
  }

  get isOpen(): boolean {
    return this.countAt >= 0;
  }

  /** Bytes of the open frame (0 when none). */
  get openBytes(): number {
    return this.countAt >= 0 ? this.out.length : 0;
  }

  /** Frames from now on hold at most `bytes`; the open frame is sent first. */
  setBytesMax(bytes: number): void {
    if (bytes === this.limit) return;
    if (this.isOpen) this.onFull();
    this.limit = bytes;
    this.out = new Writer(bytes);
  }

  /**
   * Makes room in the open frame (opening one if needed) for an answer of at most `bytes`,
   * having the frame sent first if it is too full. False when no frame can hold the answer.
   */
  room(bytes: number): boolean {
    if (FRAME_HEADER_BYTES + bytes > this.limit) return false;
    if (this.isOpen && this.out.length + bytes > this.limit) this.onFull();
    if (!this.isOpen) this.open();
    return true;
  }

  /** Writes an answer's header into the open frame; the caller writes its body, then `counted()`. */
  header(id: number, code: number): Writer {
    // Checked before a byte is written: a throw halfway would leave the frame holding part of an
    // answer it does not count, which no client can read.
    if (!(Number.isInteger(id) && id >= 0 && id <= 0xffff_ffff) || !Number.isSafeInteger(code)) {
      throw new AerieError(Status.SERVER_ERROR, `an answer's id ${id} or code ${code} is out of range`);
    }
    const w = this.out;
    w.writeArrayHeader(3);
    w.writeUint(id);
    w.writeInt(code);
    return w;
  }

  counted(): void {
    this.count++;
  }

  /**
   * Encodes `value` as the answer to `id`. What does not fit a frame answers RECORD_TOO_BIG, what
   * cannot be encoded SERVER_ERROR, each rolled back first: the frame stays whole.
   */
  writeValue(id: number, code: number, value: unknown): void {
    this.room(ANSWER_HEADER_BYTES_MAX + 1);
    let failure = this.tryValue(id, code, value);
    if (failure !== null && failure.code === Status.RECORD_TOO_BIG && this.count > 0) {
      this.onFull(); // a fresh frame may hold it
      this.open();
      failure = this.tryValue(id, code, value);
    }
    if (failure === null) return;
    if (this.tryValue(id, failure.code, { message: failure.message.slice(0, ERROR_MESSAGE_CHARS_MAX) }) !== null) {
      throw new AerieError(Status.SERVER_ERROR, 'an error answer did not fit an empty frame');
    }
  }

  /** Ends the open frame: its bytes, valid until the next write. */
  close(): Uint8Array {
    this.out.patchArray32(this.countAt, this.count);
    this.countAt = -1;
    this.count = 0;
    return this.out.bytes();
  }

  /** After a frame's bytes were copied out: a buffer grown large is let go rather than kept. */
  shrink(): void {
    if (this.out.buffer.length > SESSION_OUT_KEEP_BYTES) this.out = new Writer(this.limit);
  }

  private open(): void {
    this.out.reset();
    this.countAt = this.out.beginArray32();
    this.count = 0;
    this.onOpen();
  }

  /** Writes one answer, or rolls the frame back and returns why it could not. */
  private tryValue(id: number, code: number, value: unknown): AerieError | null {
    const mark = this.out.length;
    try {
      this.header(id, code).writeValue(value as never);
      this.count++;
      return null;
    } catch (err) {
      this.out.truncate(mark);
      if (err instanceof AerieError && err.code === Status.RECORD_TOO_BIG) return err;
      const why = err instanceof Error ? err.message : String(err);
      return new AerieError(Status.SERVER_ERROR, `answer cannot be encoded: ${why}`);
    }
  }
}
