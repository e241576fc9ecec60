// The primary's table of requests in flight to workers. A request is a slot number that travels
// through the rings and comes back with the response; per-slot state lives in parallel arrays so
// routing a request allocates no JS object (batches and scans, which are rarer, carry one).

import { assert } from '../assert';
import { REQUEST_SLOTS_MAX } from '../constants';
import type { Answerer } from '../endpoint/session';

export const SlotKind = {
  SINGLE: 0,
  BATCH_ELEMENT: 1,
  SCAN: 2,
  BROADCAST: 3,
  /** A write its master answered, waiting for its replicas (src/replication/waits.ts). */
  REPLICATING: 4,
  /** Not in use: on the free list. */
  FREE: 255,
} as const;

/** A batch in progress: its elements arrive from several workers in any order. */
export interface BatchState {
  session: Answerer;
  clientId: number;
  remaining: number;
  /** BATCH_GET elements are [code, gen, ttl, bins]; BATCH_EXISTS elements have no bins. */
  withBins: boolean;
  elements: (Buffer | null)[];
  /** Answer bytes the session reserved for it (handed back with the answer). */
  reserved: number;
  /**
   * Bytes of the elements received, and the most the client's frame can take: past it the
   * answer cannot be sent, so later elements are dropped as they arrive (tooBig) instead of held.
   */
  bytes: number;
  bytesMax: number;
  tooBig: boolean;
}

/**
 * A write sent to every worker (TRUNCATE), answered once all have answered: ok with the summed
 * count, or the failure; in doubt when some part may have been applied and another was not.
 */
export interface BroadcastState {
  session: Answerer;
  clientId: number;
  remaining: number;
  /** Workers that answered ok, and what they deleted in all. */
  applied: number;
  deleted: number;
  /** The first failure's code and message; inDoubt once any part's outcome is unknown. */
  failedCode: number;
  failedMessage: string;
  inDoubt: boolean;
  reserved: number;
  /** What was truncated and when it was sent, for the node's log (Router.onTruncated). */
  nsIndex: number;
  setId: number;
  startedMs: number;
}

/** A scan page in progress on one worker. */
export interface ScanState {
  session: Answerer;
  clientId: number;
  workerIndex: number;
  /** The partition map's version when the scan started (from its cursor, or now). */
  mapVersion: number;
  reserved: number;
}

const INITIAL_SLOTS = 1 << 12;

export class RequestTable {
  sessions: (Answerer | null)[] = [];
  clientIds = new Uint32Array(0);
  kinds = new Uint8Array(0);
  /** Worker each slot was sent to, so a dead worker's slots can be found. */
  workers = new Uint8Array(0);
  /** Op of a single-key request (a write in flight to a dead worker is answered in doubt). */
  ops = new Uint8Array(0);
  /** Namespace and partition of a single-key request, and whether it asked for commit level master. */
  nsIndexes = new Uint8Array(0);
  partitions = new Uint16Array(0);
  commitMaster = new Uint8Array(0);
  batchIndexes = new Uint32Array(0);
  /** Answer bytes the request's session reserved (session.ts), handed back with its answer. */
  reserved = new Float64Array(0);
  extras: (BatchState | ScanState | BroadcastState | null)[] = [];
  private free = new Int32Array(0);
  private freeCount = 0;
  private capacity = 0;
  inUse = 0;

  constructor() {
    this.grow(INITIAL_SLOTS);
  }

  /** A free slot, or -1 when REQUEST_SLOTS_MAX are in flight. */
  acquire(session: Answerer, clientId: number, kind: number, worker: number): number {
    if (this.freeCount === 0) {
      if (this.capacity >= REQUEST_SLOTS_MAX) return -1;
      this.grow(Math.min(REQUEST_SLOTS_MAX, this.capacity * 2));
    }
    const slot = this.free[--this.freeCount];
    this.sessions[slot] = session;
    this.clientIds[slot] = clientId;
    this.kinds[slot] = kind;
    this.workers[slot] = worker;
    this.reserved[slot] = session.routeReserve;
    this.extras[slot] = null;
    this.inUse++;
    return slot;
  }

  release(slot: number): void {
    // A slot on the free list twice would be handed to two requests, and one client's answer
    // to another.
    assert(this.kinds[slot] !== SlotKind.FREE, 'a request slot released twice');
    this.kinds[slot] = SlotKind.FREE;
    this.sessions[slot] = null;
    this.extras[slot] = null;
    this.free[this.freeCount++] = slot;
    this.inUse--;
  }

  private grow(capacity: number): void {
    const old = this.capacity;
    const copy = <T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(capacity);
      b.set(a);
      return b;
    };
    this.clientIds = copy(this.clientIds, (n) => new Uint32Array(n));
    this.kinds = copy(this.kinds, (n) => new Uint8Array(n));
    this.kinds.fill(SlotKind.FREE, old, capacity);
    this.workers = copy(this.workers, (n) => new Uint8Array(n));
    this.ops = copy(this.ops, (n) => new Uint8Array(n));
    this.nsIndexes = copy(this.nsIndexes, (n) => new Uint8Array(n));
    this.partitions = copy(this.partitions, (n) => new Uint16Array(n));
    this.commitMaster = copy(this.commitMaster, (n) => new Uint8Array(n));
    this.batchIndexes = copy(this.batchIndexes, (n) => new Uint32Array(n));
    this.reserved = copy(this.reserved, (n) => new Float64Array(n));
    const free = new Int32Array(capacity);
    free.set(this.free.subarray(0, this.freeCount));
    // Hand out low slots first: push new ones in reverse so the next acquire takes `old`.
    for (let s = capacity - 1; s >= old; s--) free[this.freeCount++] = s;
    this.free = free;
    for (let s = old; s < capacity; s++) {
      this.sessions.push(null);
      this.extras.push(null);
    }
    this.capacity = capacity;
  }
}
