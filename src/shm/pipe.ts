// An ordered stream of messages of any size over one Ring (src/shm/ring.ts): the forwarding path
// between a worker's endpoint and the primary (docs/architecture.md, "Forwarding"). A message is
// five int32 fields and a body. One that fits the ring's largest payload and finds room goes
// straight in (no copy but the body's); one that does not fit is cut in chunks, and one that finds
// the ring full waits with everything after it in the writer's queue, so the order holds: a
// connection's close never overtakes its requests, an answer never overtakes an earlier one.
//
// Ring message layout (little-endian u32):
//   0 flags (FIRST | LAST; both for a whole message)   4 the message's total length
//   8 the message: kind, a, b, c, d (PIPE_HEADER_BYTES), then the body
// A chunk after the first carries only the next piece of the message after its 8 bytes.
//
// The writer never blocks: it is used from event loops (the primary's, a worker's endpoint). What
// its queue holds is bounded by its callers (requests in flight per endpoint, each answered once);
// `queuedBytes` lets them refuse new work first.

import { fail } from '../assert';
import { Ring } from './ring';

const FIRST = 1;
const LAST = 2;
const CHUNK_HEADER_BYTES = 8;
/** A message's fields: kind, a, b, c, d and one spare word (keeps the body 8-aligned). */
export const PIPE_HEADER_BYTES = 24;
/** How long a writer with a queue waits for room before looking again (the reader's release wakes it). */
const SPACE_WAIT_MS = 100;

export class PipeWriter {
  private readonly ring: Ring;
  private readonly view: DataView;
  /** Whole messages that found no room, in order, each its own bytes; [0] is partly written from `sent`. */
  private readonly queue: Uint8Array[] = [];
  private sent = 0;
  private queued = 0;
  private waiting = false;
  private closed = false;

  /** `onCommit`: called after each publish, to ring the reader's doorbell where it sleeps elsewhere. */
  constructor(
    sab: SharedArrayBuffer,
    private readonly onCommit: () => void = noop,
  ) {
    this.ring = Ring.attach(sab);
    this.view = this.ring.view;
  }

  /** Bytes of messages waiting for room in the ring. */
  get queuedBytes(): number {
    return this.queued;
  }

  /** Appends a message; visible to the reader at the next flush(). */
  write(kind: number, a: number, b: number, c: number, d: number, body: Uint8Array, start: number, end: number): void {
    if (this.closed) return;
    const total = PIPE_HEADER_BYTES + (end - start);
    if (this.queue.length === 0 && CHUNK_HEADER_BYTES + total <= this.ring.payloadBytesMax) {
      const at = this.ring.reserve(CHUNK_HEADER_BYTES + total);
      if (at >= 0) {
        this.header(at, FIRST | LAST, total);
        this.fields(at + CHUNK_HEADER_BYTES, kind, a, b, c, d);
        this.ring.bytes.set(body.subarray(start, end), at + CHUNK_HEADER_BYTES + PIPE_HEADER_BYTES);
        return;
      }
    }
    const copy = new Uint8Array(total);
    const v = new DataView(copy.buffer);
    v.setInt32(0, kind, true);
    v.setInt32(4, a, true);
    v.setInt32(8, b, true);
    v.setInt32(12, c, true);
    v.setInt32(16, d, true);
    copy.set(body.subarray(start, end), PIPE_HEADER_BYTES);
    this.queue.push(copy);
    this.queued += total;
    this.moveQueued();
  }

  /** Publishes what was written (one store), waking the reader if it sleeps. */
  flush(): void {
    this.ring.commit();
    this.onCommit();
  }

  /** The reader is gone: drop what waits and accept nothing more. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queued = 0;
    this.ring.wake();
  }

  /** Writes as much of the queue as the ring holds, in chunks; waits for room for the rest. */
  private moveQueued(): void {
    const ring = this.ring;
    let moved = false;
    while (this.queue.length > 0) {
      const m = this.queue[0];
      const piece = Math.min(m.length - this.sent, ring.payloadBytesMax - CHUNK_HEADER_BYTES);
      const at = ring.reserve(CHUNK_HEADER_BYTES + piece);
      if (at < 0) break;
      const flags = (this.sent === 0 ? FIRST : 0) | (this.sent + piece === m.length ? LAST : 0);
      this.header(at, flags, m.length);
      ring.bytes.set(m.subarray(this.sent, this.sent + piece), at + CHUNK_HEADER_BYTES);
      this.sent += piece;
      moved = true;
      if (this.sent === m.length) {
        this.queue.shift();
        this.queued -= m.length;
        this.sent = 0;
      }
    }
    if (moved) this.flush();
    if (this.queue.length === 0 || this.waiting) return;
    const m = this.queue[0];
    const need = Math.min(m.length - this.sent, ring.payloadBytesMax - CHUNK_HEADER_BYTES) + CHUNK_HEADER_BYTES;
    const wait = ring.waitForSpaceAsync(need, SPACE_WAIT_MS);
    this.waiting = true;
    const again = () => {
      this.waiting = false;
      if (!this.closed) this.moveQueued();
    };
    if (wait === null) queueMicrotask(again);
    else void wait.then(again);
  }

  private header(at: number, flags: number, total: number): void {
    this.view.setUint32(at, flags, true);
    this.view.setUint32(at + 4, total, true);
  }

  private fields(at: number, kind: number, a: number, b: number, c: number, d: number): void {
    const v = this.view;
    v.setInt32(at, kind, true);
    v.setInt32(at + 4, a, true);
    v.setInt32(at + 8, b, true);
    v.setInt32(at + 12, c, true);
    v.setInt32(at + 16, d, true);
  }
}

/**
 * One message: `bytes[start, end)` is its body, valid only during the call (it may lie in the
 * ring, whose space is released after the drain).
 */
export type PipeHandler = (kind: number, a: number, b: number, c: number, d: number, bytes: Uint8Array, start: number, end: number) => void;

export class PipeReader {
  readonly ring: Ring;
  private assembly: Uint8Array | null = null;
  private assembled = 0;

  /** `messageBytesMax`: the largest message the writer may send (a longer one is a corrupt ring). */
  constructor(
    sab: SharedArrayBuffer,
    private readonly messageBytesMax: number,
  ) {
    this.ring = Ring.attach(sab);
  }

  /** True when nothing is published beyond what was read. */
  isEmpty(): boolean {
    return this.ring.isEmpty();
  }

  /** Hands every complete message published so far to `handle`, in order; returns how many. */
  drain(handle: PipeHandler): number {
    const ring = this.ring;
    const view = ring.view;
    let count = 0;
    try {
      for (let at = ring.next(); at >= 0; at = ring.next()) {
        const flags = view.getUint32(at, true);
        const total = view.getUint32(at + 4, true);
        const piece = ring.length - CHUNK_HEADER_BYTES;
        if (total < PIPE_HEADER_BYTES || total > this.messageBytesMax) fail(`PipeReader: corrupt message length ${total}`);
        if (flags === (FIRST | LAST)) {
          const m = at + CHUNK_HEADER_BYTES;
          handle(
            view.getInt32(m, true),
            view.getInt32(m + 4, true),
            view.getInt32(m + 8, true),
            view.getInt32(m + 12, true),
            view.getInt32(m + 16, true),
            ring.bytes,
            m + PIPE_HEADER_BYTES,
            at + ring.length,
          );
          count++;
          continue;
        }
        if ((flags & FIRST) !== 0) {
          this.assembly = new Uint8Array(total);
          this.assembled = 0;
        }
        const a = this.assembly;
        if (a === null || a.length !== total || this.assembled + piece > total) fail('PipeReader: chunk out of order');
        a.set(ring.bytes.subarray(at + CHUNK_HEADER_BYTES, at + ring.length), this.assembled);
        this.assembled += piece;
        if ((flags & LAST) === 0) continue;
        if (this.assembled !== total) fail('PipeReader: message ends short');
        this.assembly = null;
        const v = new DataView(a.buffer);
        handle(v.getInt32(0, true), v.getInt32(4, true), v.getInt32(8, true), v.getInt32(12, true), v.getInt32(16, true), a, PIPE_HEADER_BYTES, total);
        count++;
      }
    } finally {
      ring.release();
    }
    return count;
  }

  /** Sleeps until the writer publishes (or the timeout passes); null when a message waits already. */
  waitAsync(timeoutMs: number): Promise<void> | null {
    return this.ring.waitAsync(timeoutMs);
  }

  /** Ends a pending wait now (the writer's thread died). */
  wake(): void {
    this.ring.wake();
  }
}

/** A pipe's ring: made by whoever outlives the other side (the primary), attached by both. */
export function createPipe(dataBytes: number): SharedArrayBuffer {
  return Ring.create(dataBytes).sab;
}

function noop(): void {}
