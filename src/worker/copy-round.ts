// A replica's side of one migration round (src/worker/migrate-out.ts): keep what already matches.
// BEGIN used to drop every record of the round's partitions and END found the master's records
// written afresh: a copy of every record, a tombstone and a put in the replica's log each, and the
// dropped records' dead space beside the new ones in memory until defragmentation. Every cold start
// after a crash copies every replica, so the log grew with each one and a namespace near its memory
// limit ran out ("arena: memory limit reached") and crash-looped.
//
// Now BEGIN notes the digests the replica holds in those partitions. An image of a noted digest
// confirms it; if the replica's record is the same version (generation, update time, void-time,
// set, key and bins, byte for byte), nothing is written. END removes (and logs the removal of)
// every noted record no image confirmed: the master did not send it, so it does not hold it.
// Live writes and deletes travel on the same channel in between, in order, so the replica ends with
// exactly the master's records, as before.
//
// The digests live in typed arrays sized once per round (20 bytes and a table slot or two per
// record of the round's partitions): no object per record.

import { DIGEST_BYTES } from '../constants';
import { RECORD_HEADER_BYTES, type RecordStore } from '../shm/record-store';

export class CopyRound {
  private digests: Uint8Array;
  private confirmed: Uint8Array;
  /** Open addressing over the noted digests: entry index + 1, 0 empty; at most half full. */
  private table: Int32Array;
  private mask: number;
  private count = 0;

  /** Notes the digests the store holds in the partitions marked 1 in `marks`. */
  constructor(store: RecordStore, marks: Uint8Array) {
    // Sized from the index's per-partition counts; grown should they ever fall short.
    const counts = store.index.partitionCounts;
    let expected = 0;
    for (let p = 0; p < marks.length; p++) if (marks[p] === 1) expected += counts[p];
    this.digests = new Uint8Array(0);
    this.confirmed = new Uint8Array(0);
    this.table = new Int32Array(0);
    this.mask = -1;
    this.resize(Math.max(8, expected));
    for (let slot = store.nextLive(0); slot >= 0; slot = store.nextLive(slot + 1)) {
      if (marks[store.partitionId(slot)] === 0) continue;
      if (this.count === this.confirmed.length) this.resize(this.count * 2);
      const entry = this.count++;
      store.copyDigest(slot, this.digests, entry * DIGEST_BYTES);
      this.table[this.find(this.digests, entry * DIGEST_BYTES)] = entry + 1;
    }
  }

  /** Room for `entries` digests; the table is rebuilt at twice that or more. */
  private resize(entries: number): void {
    const digests = new Uint8Array(entries * DIGEST_BYTES);
    digests.set(this.digests.subarray(0, this.count * DIGEST_BYTES));
    this.digests = digests;
    this.confirmed = new Uint8Array(entries);
    let capacity = 8;
    while (capacity < entries * 2) capacity *= 2;
    this.table = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let entry = 0; entry < this.count; entry++) this.table[this.find(this.digests, entry * DIGEST_BYTES)] = entry + 1;
  }

  get noted(): number {
    return this.count;
  }

  /** The image of this digest arrived: the record stays. */
  confirm(bytes: Uint8Array, offset: number): void {
    const entry = this.table[this.find(bytes, offset)] - 1;
    if (entry >= 0) this.confirmed[entry] = 1;
  }

  /** Calls `remove` with the slot of every noted record no image confirmed and the store still holds. */
  sweep(store: RecordStore, remove: (slot: number) => void): number {
    let removed = 0;
    for (let entry = 0; entry < this.count; entry++) {
      if (this.confirmed[entry] === 1) continue;
      const slot = store.lookup(this.digests, entry * DIGEST_BYTES);
      if (slot < 0) continue; // deleted meanwhile by a live delete
      remove(slot);
      removed++;
    }
    return removed;
  }

  /** The table position holding this digest, or the empty one where it would go. */
  private find(bytes: Uint8Array, offset: number): number {
    // Digests are uniformly random: their first four bytes hash well enough.
    let at = (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) & this.mask;
    for (;;) {
      const entry = this.table[at] - 1;
      if (entry < 0 || this.equals(entry, bytes, offset)) return at;
      at = (at + 1) & this.mask;
    }
  }

  private equals(entry: number, bytes: Uint8Array, offset: number): boolean {
    const base = entry * DIGEST_BYTES;
    for (let i = 0; i < DIGEST_BYTES; i++) if (this.digests[base + i] !== bytes[offset + i]) return false;
    return true;
  }
}

/**
 * True when the store's record at `slot` is the version an image describes: same generation,
 * void-time, set, last-update time, key bytes and bin bytes.
 */
export function sameVersion(
  store: RecordStore,
  slot: number,
  generation: number,
  voidTime: number,
  setId: number,
  lastUpdateMs: number,
  bytes: Uint8Array,
  keyStart: number,
  keyEnd: number,
  binsEnd: number,
): boolean {
  if (store.generation(slot) !== generation || store.voidTime(slot) !== voidTime || store.setId(slot) !== setId) return false;
  if (store.lastUpdateMs(slot) !== lastUpdateMs) return false;
  const keyBytes = keyEnd - keyStart;
  if (store.keyLength(slot) !== keyBytes || store.binsLength(slot) !== binsEnd - keyEnd) return false;
  // Key then bins follow each other in the record as in the image: one comparison covers both.
  const block = store.recordBlock(slot);
  const start = store.recordOffset(slot) + RECORD_HEADER_BYTES;
  for (let i = 0; i < binsEnd - keyStart; i++) if (block[start + i] !== bytes[keyStart + i]) return false;
  return true;
}
