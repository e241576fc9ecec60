// A worker's two sides of replication (docs/replication.md).
//
// Out (as master): after every write it applies, the record's new image (or a delete) goes to each
// other holder of the partition, appended to that holder's channel; the channels are committed
// once per batch, before the batch's responses, so by the time the primary sees a write's answer
// the write is already on its way. A holder that is down still gets its channel written (a
// journal it catches up from when it returns); a channel with no room is flagged overflowed and
// skipped, and its reader is copied afresh.
//
// In (as replica): every loop turn, before its own requests, the worker applies what its masters
// sent, in their order, and logs it like any write (file namespaces). It releases the channels
// only after its log's group commit: the released position is the acknowledgement the primary
// waits for before answering the client (commit level all), or the master itself for the writes
// its own endpoint served: the replica rings that master's doorbell then (src/worker/local-writes.ts).

import { AerieError } from '../errors';
import { DIGEST_BYTES, PARTITION_COUNT, REPL_DRAIN_MESSAGES_MAX } from '../constants';
import type { PartitionMap } from '../partition/map';
import { ReplKind, ReplOffset, REPL_DELETE_BYTES, replMarkerBytes } from '../replication/format';
import { SCAN_ALL_SETS } from '../protocol/internal';
import { AckWaiter, type ReplicationChannels } from '../replication/channels';
import { RECORD_HEADER_BYTES, type RecordStore } from '../shm/record-store';
import { Ring } from '../shm/ring';
import { type StatsBlock, WorkerStat } from '../shm/stats';
import type { Namespace } from './namespace';
import { CopyRound, sameVersion } from './copy-round';

/** Copies bytes without allocating a view for the short runs most records are. */
function copyInto(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
  if (end - start <= 64) {
    for (let i = start; i < end; i++) dst[at++] = src[i];
  } else {
    dst.set(src.subarray(start, end), at);
  }
}

const noWake = (_from: number): void => {};

export class ReplicationOut {
  private readonly rings: (Ring | null)[];
  private readonly doorbells: (Int32Array | null)[];
  private readonly dirty: Uint8Array;

  constructor(
    private readonly self: number,
    private readonly map: PartitionMap,
    private readonly channels: ReplicationChannels,
    peerRequestRings: (SharedArrayBuffer | null)[],
    private readonly stats: StatsBlock,
  ) {
    const n = channels.n;
    this.rings = Array.from({ length: n }, (_, to) => {
      const sab = channels.ring(self, to);
      return sab === null ? null : Ring.attach(sab);
    });
    this.doorbells = peerRequestRings.map((sab) => (sab === null ? null : Ring.wordsOf(sab)));
    this.dirty = new Uint8Array(n);
  }

  /** A peer restarted: ring its new request ring's doorbell from now on. */
  setDoorbell(to: number, sab: SharedArrayBuffer): void {
    this.doorbells[to] = Ring.wordsOf(sab);
  }

  /** The primary replaced the channel to `to` (its reader is being copied whole): use it, and clear the overflow. */
  replaceRing(to: number, sab: SharedArrayBuffer): void {
    this.rings[to] = Ring.attach(sab);
    this.channels.setOverflowed(this.self, to, false);
  }

  /** Free bytes of the channel to `to` (0 when there is none). */
  freeBytes(to: number): number {
    return this.rings[to]?.freeBytes() ?? 0;
  }

  ringBytes(to: number): number {
    return this.rings[to]?.dataBytes ?? 0;
  }

  /** Sends the record now at `slot` to every other holder of its partition. */
  put(ns: Namespace, slot: number): void {
    const copies = this.map.copies[ns.index];
    if (copies < 2) return;
    const p = ns.store.partitionId(slot);
    for (let k = 0; k < copies; k++) {
      const to = this.map.holder(ns.index, p, k);
      if (to !== this.self) this.image(to, ns.index, ns.store, slot, true);
    }
  }

  /** Sends a delete of the digest at bytes[offset] to every other holder of partition `p`. */
  remove(nsIndex: number, p: number, bytes: Uint8Array, offset: number): void {
    const copies = this.map.copies[nsIndex];
    if (copies < 2) return;
    for (let k = 0; k < copies; k++) {
      const to = this.map.holder(nsIndex, p, k);
      if (to === this.self) continue;
      const at = this.reserve(to, REPL_DELETE_BYTES, true);
      if (at < 0) continue;
      const ring = this.rings[to]!;
      ring.bytes[at + ReplOffset.KIND] = ReplKind.DELETE;
      ring.bytes[at + ReplOffset.NS] = nsIndex;
      copyInto(bytes, offset, offset + DIGEST_BYTES, ring.bytes, at + ReplOffset.DIGEST);
    }
  }

  /**
   * Appends the image of the record at `slot` to `to`'s channel. Returns false when the channel
   * has no room: a live write then flags the channel overflowed; a migration waits and retries.
   */
  image(to: number, nsIndex: number, store: RecordStore, slot: number, live: boolean): boolean {
    const keyBytes = store.keyLength(slot);
    const binsBytes = store.binsLength(slot);
    const at = this.reserve(to, ReplOffset.PAYLOAD + keyBytes + binsBytes, live);
    if (at < 0) return false;
    const ring = this.rings[to]!;
    const b = ring.bytes;
    const v = ring.view;
    b[at + ReplOffset.KIND] = ReplKind.PUT;
    b[at + ReplOffset.NS] = nsIndex;
    v.setUint16(at + ReplOffset.SET_ID, store.setId(slot), true);
    v.setUint32(at + ReplOffset.VOID_TIME, store.voidTime(slot), true);
    v.setFloat64(at + ReplOffset.LAST_UPDATE_MS, store.lastUpdateMs(slot), true);
    v.setUint16(at + ReplOffset.GENERATION, store.generation(slot), true);
    store.copyDigest(slot, b, at + ReplOffset.DIGEST);
    v.setUint32(at + ReplOffset.KEY_BYTES, keyBytes, true);
    v.setUint32(at + ReplOffset.BINS_BYTES, binsBytes, true);
    const start = store.recordOffset(slot) + RECORD_HEADER_BYTES;
    copyInto(store.recordBlock(slot), start, start + keyBytes + binsBytes, b, at + ReplOffset.PAYLOAD);
    return true;
  }

  /** Appends a BEGIN or END of a migration round; false when the channel has no room. */
  marker(to: number, kind: number, nsIndex: number, partitions: number[]): boolean {
    const at = this.reserve(to, replMarkerBytes(partitions.length), false);
    if (at < 0) return false;
    const ring = this.rings[to]!;
    ring.bytes[at + ReplOffset.KIND] = kind;
    ring.bytes[at + ReplOffset.NS] = nsIndex;
    ring.view.setUint16(at + ReplOffset.COUNT, partitions.length, true);
    for (let i = 0; i < partitions.length; i++) ring.view.setUint16(at + ReplOffset.PARTITIONS + 2 * i, partitions[i], true);
    return true;
  }

  private reserve(to: number, length: number, live: boolean): number {
    const ring = this.rings[to];
    if (ring === null || this.channels.overflowed(this.self, to)) return -1;
    const at = ring.reserve(length);
    if (at < 0) {
      if (live) {
        // The replica is down (its journal is full) or far behind: it will be copied whole.
        this.channels.setOverflowed(this.self, to, true);
        this.stats.add(WorkerStat.REPL_OVERFLOWS);
      }
      return -1;
    }
    this.dirty[to] = 1;
    this.stats.add(WorkerStat.REPL_SENT);
    return at;
  }

  /** Wakes worker `to` if it sleeps: a replica tells its master it released (AckWaiter.MASTER). */
  wake(to: number): void {
    const bell = this.doorbells[to];
    if (bell !== null) Ring.ringDoorbell(bell);
  }

  /** Publishes this batch's messages and wakes each replica that sleeps. */
  commit(): void {
    for (let to = 0; to < this.dirty.length; to++) {
      if (this.dirty[to] === 0) continue;
      this.dirty[to] = 0;
      this.rings[to]!.commit();
      const bell = this.doorbells[to];
      if (bell !== null) Ring.ringDoorbell(bell);
    }
  }
}

export class ReplicationIn {
  private readonly rings: (Ring | null)[];
  private readonly consumed: Uint8Array;
  private readonly marks = new Uint8Array(PARTITION_COUNT);
  /** [ns]: the migration round under way into this worker (src/worker/copy-round.ts). */
  private readonly rounds: (CopyRound | null)[];
  /** Migration rounds received complete, records copied in. */
  roundsEnded = 0;

  constructor(
    private readonly self: number,
    private readonly namespaces: Namespace[],
    private readonly channels: ReplicationChannels,
    private readonly stats: StatsBlock,
  ) {
    this.rings = Array.from({ length: channels.n }, (_, from) => {
      const sab = channels.ring(from, self);
      return sab === null ? null : Ring.attach(sab);
    });
    this.consumed = new Uint8Array(channels.n);
    this.rounds = namespaces.map(() => null);
  }

  /** The primary replaced the channel from `from`: read the new one. */
  replaceRing(from: number, sab: SharedArrayBuffer): void {
    this.rings[from] = Ring.attach(sab);
  }

  /** True when no channel has anything unread. */
  isEmpty(): boolean {
    for (const ring of this.rings) if (ring !== null && !ring.isEmpty()) return false;
    return true;
  }

  /** Applies what the masters sent, up to REPL_DRAIN_MESSAGES_MAX per channel. Returns how many. */
  drain(): number {
    let applied = 0;
    for (let from = 0; from < this.rings.length; from++) {
      const ring = this.rings[from];
      if (ring === null) continue;
      let count = 0;
      while (count < REPL_DRAIN_MESSAGES_MAX) {
        // A log that cannot write (device full, or failed) takes nothing more: the masters' writes
        // wait in the channel, unacknowledged, instead of this thread failing (docs/storage.md).
        if (this.logBlocked()) break;
        const at = ring.next();
        if (at < 0) break;
        this.apply(ring, at);
        count++;
      }
      if (count > 0) this.consumed[from] = 1;
      applied += count;
    }
    if (applied > 0) this.stats.add(WorkerStat.REPL_APPLIED, applied);
    return applied;
  }

  private logBlocked(): boolean {
    for (const ns of this.namespaces) if (ns.log?.blocked) return true;
    return false;
  }

  /**
   * Acknowledges everything applied so far (call after the log's group commit). Returns true when
   * the primary holds writes for a channel released now, so it must be told (an ACK response); a
   * master worker holding writes of its own is woken through `wakeMaster`.
   */
  release(wakeMaster: (from: number) => void = noWake): boolean {
    let tell = false;
    for (let from = 0; from < this.rings.length; from++) {
      if (this.consumed[from] === 0) continue;
      this.consumed[from] = 0;
      this.rings[from]!.release();
      // After the release's store (channels.ts): a primary that looked before it asked first.
      if (this.channels.ackWanted(from, this.self, AckWaiter.PRIMARY)) tell = true;
      if (this.channels.ackWanted(from, this.self, AckWaiter.MASTER)) wakeMaster(from);
    }
    return tell;
  }

  /**
   * During a round: confirms the image's digest, and true when the replica already holds that
   * very version. It is then left in place; it is logged again only if this store may hold what
   * its log does not (memory adopted from a thread that died with log records still buffered).
   */
  private keptAsIs(ns: Namespace, b: Uint8Array, v: DataView, at: number, keyEnd: number, binsEnd: number): boolean {
    const round = this.rounds[ns.index];
    if (round === null) return false;
    const store = ns.store;
    round.confirm(b, at + ReplOffset.DIGEST);
    const slot = store.lookup(b, at + ReplOffset.DIGEST);
    if (slot < 0) return false;
    const same = sameVersion(
      store,
      slot,
      v.getUint16(at + ReplOffset.GENERATION, true),
      v.getUint32(at + ReplOffset.VOID_TIME, true),
      v.getUint16(at + ReplOffset.SET_ID, true),
      v.getFloat64(at + ReplOffset.LAST_UPDATE_MS, true),
      b,
      at + ReplOffset.PAYLOAD,
      keyEnd,
      binsEnd,
    );
    if (!same) return false;
    if (ns.log !== null && !ns.storeMatchesLog) ns.log.logPut(store, slot);
    return true;
  }

  private apply(ring: Ring, at: number): void {
    const b = ring.bytes;
    const v = ring.view;
    const ns = this.namespaces[b[at + ReplOffset.NS]];
    if (ns === undefined) throw new Error(`replication: unknown namespace index ${b[at + ReplOffset.NS]}`);
    const store = ns.store;
    const digestAt = at + ReplOffset.DIGEST;
    switch (b[at + ReplOffset.KIND]) {
      case ReplKind.PUT: {
        if (ns.truncateCutoffs.size > 0) {
          // Its master truncated it already, or will: this replica may have truncated first.
          const cut = Math.max(ns.truncateCutoffs.get(v.getUint16(at + ReplOffset.SET_ID, true)) ?? -1, ns.truncateCutoffs.get(SCAN_ALL_SETS) ?? -1);
          if (v.getFloat64(at + ReplOffset.LAST_UPDATE_MS, true) <= cut) return;
        }
        const keyEnd = at + ReplOffset.PAYLOAD + v.getUint32(at + ReplOffset.KEY_BYTES, true);
        const binsEnd = keyEnd + v.getUint32(at + ReplOffset.BINS_BYTES, true);
        if (ns.log !== null && ns.log.checkWritable() !== 0) throw new Error(`replication: the log of namespace ${ns.config.name} failed; this replica cannot keep up`);
        if (this.keptAsIs(ns, b, v, at, keyEnd, binsEnd)) return;
        try {
          store.write(
            b,
            digestAt,
            v.getUint16(at + ReplOffset.GENERATION, true),
            v.getUint16(at + ReplOffset.SET_ID, true),
            v.getUint32(at + ReplOffset.VOID_TIME, true),
            v.getFloat64(at + ReplOffset.LAST_UPDATE_MS, true),
            keyEnd > at + ReplOffset.PAYLOAD ? b : null,
            at + ReplOffset.PAYLOAD,
            keyEnd,
            b,
            keyEnd,
            binsEnd,
          );
        } catch (err) {
          // A replica that cannot store what its master stored is no copy: fail, be restarted
          // and copied afresh (the supervisor gives up on a slot that keeps failing).
          if (err instanceof AerieError) throw new Error(`replication: namespace ${ns.config.name}: cannot store a replicated record: ${err.message}`);
          throw err;
        }
        if (ns.log !== null) ns.log.logPut(store, store.lookup(b, digestAt));
        if (ns.repairWatch !== null) ns.noteWrite(b, digestAt);
        return;
      }
      case ReplKind.DELETE: {
        const slot = store.lookup(b, digestAt);
        if (slot < 0) return;
        if (ns.log !== null) ns.log.logDelete(store, slot);
        store.remove(slot);
        if (ns.repairWatch !== null) ns.noteWrite(b, digestAt);
        return;
      }
      case ReplKind.BEGIN: {
        // What this worker holds of the partitions may be stale or diverged: drop it, the master
        // sends every record next, and live writes follow in order on the same channel.
        // Noted, not dropped: END removes what the master did not send (src/worker/copy-round.ts).
        const count = v.getUint16(at + ReplOffset.COUNT, true);
        const marks = this.marks;
        marks.fill(0);
        for (let i = 0; i < count; i++) marks[v.getUint16(at + ReplOffset.PARTITIONS + 2 * i, true)] = 1;
        // A round left unfinished (its source died) stays out of sync and is begun again later.
        this.rounds[ns.index] = new CopyRound(store, marks);
        if (ns.repairWatch !== null) ns.repairWatchOverflow = true;
        return;
      }
      case ReplKind.END: {
        const round = this.rounds[ns.index];
        this.rounds[ns.index] = null;
        round?.sweep(store, (slot) => {
          if (ns.log !== null) ns.log.logDelete(store, slot);
          store.remove(slot);
        });
        this.roundsEnded++;
        return;
      }
      default:
        throw new Error(`replication: unknown message kind ${b[at + ReplOffset.KIND]}`);
    }
  }
}
