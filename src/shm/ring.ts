// A single-producer single-consumer byte ring in one SharedArrayBuffer, carrying batches of
// messages between two threads without postMessage. Each side builds its own Ring over the same
// buffer (Ring.create on one, Ring.attach on the other) and uses only its half of the API.
//
// Layout: header words on separate 64-byte lines so the two sides never share a written line:
//   byte 0 tail (producer position)   64 head (consumer position)   128 consumerSleeping
//   192 producerWaiting               224 data size, magic (written once)
// then the data region (a power of two) from byte 256. Positions are free-running u32 counters,
// so `tail - head` (mod 2^32) is the bytes in use even after they wrap.
//
// A message is a u32 length header (native byte order) then the payload, padded so the next
// header is 8-aligned. A message never wraps: when it does not fit before the end of the region,
// a wrap marker (length 0xFFFFFFFF) fills the rest and the message starts at 0.
//
// Wake-ups cost ~60 µs, so a sleeping side announces it with a flag and the other side notifies
// only when the flag is set. The flag is read AFTER the position is published, and the sleeper
// sets the flag BEFORE re-reading the position: Atomics are sequentially consistent, so either the
// publisher sees the flag (and notifies) or the sleeper sees the new position (and does not
// sleep). Atomics.wait also returns at once if the word no longer holds the value it observed.

import { fail } from '../assert';
import { RING_BYTES, RING_MESSAGE_BYTES_MAX } from '../constants';

const TAIL = 0;
const HEAD = 16;
const CONSUMER_SLEEPING = 32;
const PRODUCER_WAITING = 48;
const DATA_SIZE = 56;
const MAGIC_WORD = 57;
const MAGIC = 0x41455252; // "AERR"
const DATA_OFFSET = 256;
const WRAP_MARKER = 0xffffffff;
const DATA_BYTES_MIN = 64;

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
/** Atomics.waitAsync exists in Node 20 but is missing from TypeScript's ES2023 library. */
const atomicsAsync = Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number, timeoutMs: number): WaitAsyncResult;
};

export class Ring {
  readonly sab: SharedArrayBuffer;
  /** The whole buffer; payload offsets returned by reserve() and next() index into it. */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly dataBytes: number;
  /** Largest payload: RING_MESSAGE_BYTES_MAX, or less so that any message fits an empty ring. */
  readonly payloadBytesMax: number;
  /** Length of the payload the last next() returned. */
  length = 0;

  private readonly words: Int32Array;
  private readonly u32: Uint32Array;
  private readonly mask: number;
  // Producer side: reserved-but-unpublished tail, last published tail, last seen head.
  private tailLocal: number;
  private tailPublished: number;
  private headSeen: number;
  // Consumer side: read-but-unreleased head, last released head, last seen tail.
  private headLocal: number;
  private headPublished: number;
  private tailSeen: number;
  /** Atomics.waitAsync does not keep the event loop alive; this timer does while a wait is pending. */
  private keepAlive: ReturnType<typeof setInterval> | null = null;
  private pendingWaits = 0;
  private readonly onConsumerWake: () => void;
  private readonly onProducerWake: () => void;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.bytes = new Uint8Array(sab);
    this.view = new DataView(sab);
    this.words = new Int32Array(sab);
    this.u32 = new Uint32Array(sab);
    this.dataBytes = this.words[DATA_SIZE];
    this.mask = this.dataBytes - 1;
    this.payloadBytesMax = Math.min(RING_MESSAGE_BYTES_MAX, this.dataBytes / 2 - 4);
    this.tailLocal = this.tailPublished = this.tailSeen = Atomics.load(this.words, TAIL) >>> 0;
    this.headLocal = this.headPublished = this.headSeen = Atomics.load(this.words, HEAD) >>> 0;
    this.onConsumerWake = () => this.endWait(CONSUMER_SLEEPING);
    this.onProducerWake = () => this.endWait(PRODUCER_WAITING);
  }

  static create(dataBytes: number = RING_BYTES): Ring {
    if (!Number.isInteger(dataBytes) || dataBytes < DATA_BYTES_MIN || (dataBytes & (dataBytes - 1)) !== 0 || dataBytes > RING_BYTES) {
      fail(`Ring: data size ${dataBytes} must be a power of two in [${DATA_BYTES_MIN}, RING_BYTES]`);
    }
    const sab = new SharedArrayBuffer(DATA_OFFSET + dataBytes);
    const words = new Int32Array(sab);
    words[DATA_SIZE] = dataBytes;
    words[MAGIC_WORD] = MAGIC;
    return new Ring(sab);
  }

  /** The other side's view of a ring; it starts from the positions currently published. */
  static attach(sab: SharedArrayBuffer): Ring {
    const words = new Int32Array(sab);
    if (words[MAGIC_WORD] !== MAGIC || sab.byteLength !== DATA_OFFSET + words[DATA_SIZE]) {
      fail('Ring.attach: buffer is not a ring');
    }
    return new Ring(sab);
  }

  /** Published bytes not yet released by the consumer (either side may ask). */
  used(): number {
    return (Atomics.load(this.words, TAIL) - Atomics.load(this.words, HEAD)) >>> 0;
  }

  // ---- producer ----

  /**
   * Reserves room for a payload of `length` bytes and returns its offset in `bytes`, or -1 when
   * the ring is full. Nothing is visible to the consumer until commit().
   */
  reserve(length: number): number {
    const need = this.needFor(length);
    let pos = this.tailLocal & this.mask;
    const contiguous = this.dataBytes - pos;
    const total = need <= contiguous ? need : contiguous + need;
    if (!this.hasRoom(total)) return -1;
    if (need > contiguous) {
      this.u32[(DATA_OFFSET + pos) >> 2] = WRAP_MARKER;
      this.tailLocal = (this.tailLocal + contiguous) >>> 0;
      pos = 0;
    }
    this.u32[(DATA_OFFSET + pos) >> 2] = length;
    this.tailLocal = (this.tailLocal + need) >>> 0;
    return DATA_OFFSET + pos + 4;
  }

  /** Publishes every reservation so far with one store, waking the consumer only if it sleeps. */
  commit(): void {
    if (this.tailLocal === this.tailPublished) return;
    this.tailPublished = this.tailLocal;
    Atomics.store(this.words, TAIL, this.tailLocal | 0);
    if (Atomics.load(this.words, CONSUMER_SLEEPING) !== 0) Atomics.notify(this.words, TAIL);
  }

  /** Producer: bytes free now (published and reserved messages take the rest). */
  freeBytes(): number {
    this.headSeen = Atomics.load(this.words, HEAD) >>> 0;
    return this.dataBytes - ((this.tailLocal - this.headSeen) >>> 0);
  }

  /** True if reserve(length) would succeed now. */
  canReserve(length: number): boolean {
    const need = this.needFor(length);
    const contiguous = this.dataBytes - (this.tailLocal & this.mask);
    return this.hasRoom(need <= contiguous ? need : contiguous + need);
  }

  /**
   * Waits until a payload of `length` bytes fits, the timeout passes, or wake() is called.
   * Returns null when there is room already. The consumer must release() for room to appear.
   */
  waitForSpaceAsync(length: number, timeoutMs: number): Promise<void> | null {
    Atomics.store(this.words, PRODUCER_WAITING, 1);
    const head = Atomics.load(this.words, HEAD);
    if (this.canReserve(length)) {
      Atomics.store(this.words, PRODUCER_WAITING, 0);
      return null;
    }
    return this.startWaitAsync(HEAD, head, timeoutMs, PRODUCER_WAITING, this.onProducerWake);
  }

  /** As waitForSpaceAsync, blocking: only for worker threads, never the primary's event loop. */
  waitForSpaceSync(length: number, timeoutMs: number): void {
    Atomics.store(this.words, PRODUCER_WAITING, 1);
    const head = Atomics.load(this.words, HEAD);
    if (!this.canReserve(length)) Atomics.wait(this.words, HEAD, head, timeoutMs);
    Atomics.store(this.words, PRODUCER_WAITING, 0);
  }

  // ---- consumer ----

  /**
   * The offset in `bytes` of the next payload (its size in `length`), or -1 when nothing is
   * published. Payloads stay valid until release().
   */
  next(): number {
    // Two rounds at most: a wrap marker is always followed by a message of the same commit.
    for (let round = 0; round < 2; round++) {
      if (this.headLocal === this.tailSeen) {
        this.tailSeen = Atomics.load(this.words, TAIL) >>> 0;
        if (this.headLocal === this.tailSeen) return -1;
      }
      const pos = this.headLocal & this.mask;
      const length = this.u32[(DATA_OFFSET + pos) >> 2];
      if (length === WRAP_MARKER) {
        this.headLocal = (this.headLocal + this.dataBytes - pos) >>> 0;
        continue;
      }
      if (length > this.payloadBytesMax) fail(`Ring.next: corrupt length ${length} at ${pos}`);
      this.length = length;
      this.headLocal = (this.headLocal + ((length + 11) & ~7)) >>> 0;
      return DATA_OFFSET + pos + 4;
    }
    fail('Ring.next: wrap marker not followed by a message');
  }

  /** True when nothing is published beyond what this consumer has read (cheap: one atomic load). */
  isEmpty(): boolean {
    if (this.headLocal !== this.tailSeen) return false;
    this.tailSeen = Atomics.load(this.words, TAIL) >>> 0;
    return this.headLocal === this.tailSeen;
  }

  /** Returns the space of every payload read so far to the producer; call once per batch. */
  release(): void {
    if (this.headLocal === this.headPublished) return;
    this.headPublished = this.headLocal;
    Atomics.store(this.words, HEAD, this.headLocal | 0);
    if (Atomics.load(this.words, PRODUCER_WAITING) !== 0) Atomics.notify(this.words, HEAD);
  }

  /**
   * Sleeps until the producer commits, the timeout passes, or wake() is called. Returns null
   * (without sleeping) when a message is already waiting.
   */
  waitAsync(timeoutMs: number): Promise<void> | null {
    Atomics.store(this.words, CONSUMER_SLEEPING, 1);
    const tail = Atomics.load(this.words, TAIL);
    if (tail >>> 0 !== this.headLocal) {
      Atomics.store(this.words, CONSUMER_SLEEPING, 0);
      return null;
    }
    return this.startWaitAsync(TAIL, tail, timeoutMs, CONSUMER_SLEEPING, this.onConsumerWake);
  }

  /** As waitAsync, blocking: only for worker threads, never the primary's event loop. */
  waitSync(timeoutMs: number): void {
    Atomics.store(this.words, CONSUMER_SLEEPING, 1);
    const tail = Atomics.load(this.words, TAIL);
    if (tail >>> 0 === this.headLocal) Atomics.wait(this.words, TAIL, tail, timeoutMs);
    Atomics.store(this.words, CONSUMER_SLEEPING, 0);
  }

  /** Wakes any waiter on either side now (for shutdown); they return as if woken by data. */
  wake(): void {
    Atomics.notify(this.words, TAIL);
    Atomics.notify(this.words, HEAD);
  }

  // ---- third parties ----

  /** Int32 view of a ring's header words, for the static helpers below (allocate once). */
  static wordsOf(sab: SharedArrayBuffer): Int32Array {
    return new Int32Array(sab, 0, DATA_OFFSET / 4);
  }

  /** The producer's published position, as u32 (any thread may read it). */
  static publishedTail(words: Int32Array): number {
    return Atomics.load(words, TAIL) >>> 0;
  }

  /** The consumer's released position, as u32 (any thread may read it). */
  static releasedHead(words: Int32Array): number {
    return Atomics.load(words, HEAD) >>> 0;
  }

  /**
   * Wakes this ring's consumer if it sleeps, for a third thread that published work the consumer
   * reads elsewhere (a replication channel): the consumer checks that work after announcing its
   * sleep (prepareSleep), so either it sees the work or this sees the flag.
   */
  static ringDoorbell(words: Int32Array): void {
    if (Atomics.load(words, CONSUMER_SLEEPING) !== 0) Atomics.notify(words, TAIL);
  }

  /**
   * Consumer, in two steps around checking other sources of work: announces the sleep and returns
   * the tail observed, or -1 when a message is already waiting (then no sleep is due).
   */
  prepareSleep(): number {
    Atomics.store(this.words, CONSUMER_SLEEPING, 1);
    const tail = Atomics.load(this.words, TAIL);
    if (tail >>> 0 !== this.headLocal) {
      Atomics.store(this.words, CONSUMER_SLEEPING, 0);
      return -1;
    }
    return tail >>> 0;
  }

  /** Sleeps (blocking, worker threads only) unless the tail moved since prepareSleep; `sleep` false just cancels. */
  finishSleep(observedTail: number, timeoutMs: number, sleep: boolean): void {
    if (sleep && observedTail >= 0) Atomics.wait(this.words, TAIL, observedTail | 0, timeoutMs);
    Atomics.store(this.words, CONSUMER_SLEEPING, 0);
  }

  /**
   * As finishSleep, waiting without blocking: for a worker thread whose event loop serves sockets
   * (src/worker/endpoint.ts). Null when no sleep is due (the tail moved, or `observedTail` < 0).
   */
  finishSleepAsync(observedTail: number, timeoutMs: number): Promise<void> | null {
    if (observedTail < 0) {
      Atomics.store(this.words, CONSUMER_SLEEPING, 0);
      return null;
    }
    return this.startWaitAsync(TAIL, observedTail | 0, timeoutMs, CONSUMER_SLEEPING, this.onConsumerWake);
  }

  // ---- internals ----

  /** Bytes a message of `length` payload bytes occupies; an oversized payload is a caller bug. */
  private needFor(length: number): number {
    if (!(length >= 0 && length <= this.payloadBytesMax && length === (length | 0))) {
      fail(`Ring: payload of ${length} bytes exceeds ${this.payloadBytesMax}`);
    }
    return (length + 11) & ~7;
  }

  private hasRoom(total: number): boolean {
    if (((this.tailLocal - this.headSeen) >>> 0) + total <= this.dataBytes) return true;
    this.headSeen = Atomics.load(this.words, HEAD) >>> 0;
    return ((this.tailLocal - this.headSeen) >>> 0) + total <= this.dataBytes;
  }

  private startWaitAsync(word: number, observed: number, timeoutMs: number, flag: number, onWake: () => void): Promise<void> | null {
    const result = atomicsAsync.waitAsync(this.words, word, observed, timeoutMs);
    if (!result.async) {
      Atomics.store(this.words, flag, 0);
      return null;
    }
    if (this.pendingWaits++ === 0) {
      if (this.keepAlive === null) this.keepAlive = setInterval(noop, 1 << 30);
      this.keepAlive.ref();
    }
    return result.value.then(onWake);
  }

  private endWait(flag: number): void {
    Atomics.store(this.words, flag, 0);
    if (--this.pendingWaits === 0 && this.keepAlive !== null) this.keepAlive.unref();
  }
}

function noop(): void {}
