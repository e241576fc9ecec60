// Request frames out, response frames in, using the protocol's strict Reader and Writer so the
// client decodes exactly as the server does (int64 as bigint, non-string map keys as Maps).
// A frame is one msgpack array of messages: requests [id, op, body], responses [id, code, body].

import { FRAME_BYTES_MAX_DEFAULT, REQUESTS_PER_FRAME_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import { Reader } from '../protocol/reader';
import { Writer } from '../protocol/writer';

/** A frame stops growing past this many bytes, so one frame never holds up the socket for long. */
export const FRAME_BYTES_TARGET = 1024 * 1024;
/** Bytes a frame adds around one body: the array32 frame header and [id, op] of the message. */
export const FRAME_OVERHEAD_BYTES = 5 + 1 + 5 + 5;
/**
 * Largest body the encoder builds (RECORD_TOO_BIG beyond). The server's own frame limit, learnt
 * from HELLO, is checked per call; this only stops a runaway value from exhausting memory.
 */
export const BODY_BYTES_MAX = 4 * FRAME_BYTES_MAX_DEFAULT;

// Bodies are encoded one at a time, synchronously, so one scratch writer serves every call.
const bodyWriter = new Writer(BODY_BYTES_MAX);
const EMPTY = new Uint8Array(0);

/**
 * Encodes a request body into its own buffer. Encoding happens when the call is made, so an
 * unsupported value fails that call at once (PARAMETER) and a retry re-sends the same bytes.
 */
export function encodeBody(body: unknown): Uint8Array {
  bodyWriter.reset();
  bodyWriter.writeValue(body);
  return bodyWriter.copy();
}

/** Packs requests into one frame; `finish()` hands out the bytes and starts the next frame. */
export class FrameBuilder {
  private readonly writer = new Writer(BODY_BYTES_MAX + FRAME_OVERHEAD_BYTES, 64 * 1024);
  private countPos = 0;
  private requestCount = 0;

  constructor() {
    this.begin();
  }

  get count(): number {
    return this.requestCount;
  }

  get byteLength(): number {
    return this.writer.length;
  }

  /** Whether a request with this body should start a new frame instead of joining this one. */
  isFullFor(bodyBytes: number): boolean {
    if (this.requestCount === 0) return false;
    return this.requestCount >= REQUESTS_PER_FRAME_MAX || this.writer.length + bodyBytes > FRAME_BYTES_TARGET;
  }

  add(id: number, op: number, body: Uint8Array): void {
    this.writer.writeArrayHeader(3);
    this.writer.writeUint(id);
    this.writer.writeUint(op);
    this.writer.writeRaw(body, 0, body.length);
    this.requestCount++;
  }

  finish(): Uint8Array {
    this.writer.patchArray32(this.countPos, this.requestCount);
    const frame = this.writer.copy();
    this.begin();
    return frame;
  }

  private begin(): void {
    this.writer.reset();
    this.countPos = this.writer.beginArray32();
    this.requestCount = 0;
  }
}

/** Encodes a whole frame of requests at once (HELLO, tests). */
export function encodeFrame(requests: ReadonlyArray<readonly [id: number, op: number, body: unknown]>): Uint8Array {
  const builder = new FrameBuilder();
  for (const [id, op, body] of requests) builder.add(id, op, encodeBody(body));
  return builder.finish();
}

export type ResponseHandler = (id: number, code: number, body: unknown) => void;

const reader = new Reader();

/**
 * Decodes a response frame, calling `onResponse` for each message in order. Throws
 * AerieError(PARAMETER) for a malformed frame; the caller must then drop the connection, since
 * the responses after the fault are lost.
 */
export function decodeResponses(frame: Uint8Array, onResponse: ResponseHandler): number {
  reader.reset(frame, 0, frame.length);
  try {
    const count = reader.readArrayHeader();
    for (let index = 0; index < count; index++) {
      if (reader.readArrayHeader() !== 3) throw new AerieError(Status.PARAMETER, 'response is not [id, code, body]');
      const id = reader.readUint32();
      const code = reader.readInt();
      if (typeof code !== 'number') throw new AerieError(Status.PARAMETER, 'result code out of range');
      const body = reader.readValue();
      onResponse(id, code, body);
    }
    if (!reader.atEnd()) throw new AerieError(Status.PARAMETER, 'trailing bytes after the responses');
    return count;
  } finally {
    reader.reset(EMPTY); // do not pin the frame
  }
}
