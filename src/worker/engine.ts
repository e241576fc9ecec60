// Applies one request to the partitions a worker owns and writes the response body. Every write
// follows the same steps: look up, apply policies, build the new bins, encode, store. Errors are
// result codes; an AerieError thrown anywhere below becomes that code in the response.

import { InvariantError } from '../assert';
import { OPERATE_COST_UNITS_MAX, OPERATE_COST_UNITS_PER_RECORD_BYTE, RECORD_BYTES_CEILING, VALUE_DEPTH_MAX } from '../constants';
import { AerieError, Status, statusName } from '../errors';
import { Exists, GenPolicy, Op, Ttl } from '../protocol/ops';
import { REQ_HEADER_BYTES, ReqFlag, ReqOffset, SCAN_ALL_SETS } from '../protocol/internal';
import { Reader, ValueType } from '../protocol/reader';
import { Writer } from '../protocol/writer';
import { unpackValue } from '../protocol/codec';
import { RECORD_HEADER_BYTES } from '../shm/record-store';
import { NamespaceStat, type StatsBlock, WorkerStat } from '../shm/stats';
import { checkBinsForWrite, mergeBins, selectBins } from './bins';
import { applyOps } from './operate';
import { type Namespace, nextGeneration } from './namespace';
import { RequestFields, parseBody } from '../protocol/request-body';
import type { Bins } from '../protocol/ops';
import type { ReplicationOut } from './replication';
import { hasExpired, nowVoidSec, ttlOf } from '../shm/void-time';

/** What the engine knows about the current request while it runs. */
interface Ctx {
  ns: Namespace;
  bytes: Uint8Array;
  digestOffset: number;
  setId: number;
  nowMs: number;
  nowVoid: number;
}

export class Engine {
  private readonly namespaces: Namespace[];
  private readonly stats: StatsBlock;
  private readonly reader = new Reader(new Uint8Array(0));
  /** Walks a stored record's bins (their names) without decoding them. */
  private readonly storedReader = new Reader(new Uint8Array(0));
  private readonly fields = new RequestFields();
  /** A write's new bins are encoded here and copied into the store from it: no buffer per write. */
  private readonly packed = new Writer(RECORD_BYTES_CEILING);
  private readonly ctx: Ctx;
  /** Why the current request was refused, when a code alone does not say (null: nothing to add). */
  private refusal: string | null = null;
  /** Beats the worker's heartbeat (and reports its heap): a long call is progress, not a hang. */
  private readonly beat: () => void;

  /** Sends each applied write to the partition's other holders (null: nothing is replicated). */
  private readonly repl: ReplicationOut | null;

  /** Records of the partitions this worker masters in a namespace (a truncate reports those). */
  private readonly masterRecords: (ns: Namespace) => number;

  constructor(
    namespaces: Namespace[],
    stats: StatsBlock,
    repl: ReplicationOut | null = null,
    masterRecords: (ns: Namespace) => number = (ns) => ns.store.recordCount,
    beat: () => void = () => stats.set(WorkerStat.HEARTBEAT_MS, Date.now()),
    private readonly logError: (message: string) => void = (message) => console.error(message),
  ) {
    this.beat = beat;
    this.namespaces = namespaces;
    this.stats = stats;
    this.repl = repl;
    this.masterRecords = masterRecords;
    this.ctx = { ns: namespaces[0], bytes: new Uint8Array(0), digestOffset: 0, setId: 0, nowMs: 0, nowVoid: 0 };
  }

  /** When the request being handled (or the last one) began: the drain's clock, at no extra cost. */
  get nowMs(): number {
    return this.ctx.nowMs;
  }

  /**
   * Handles the request message at bytes[start, end) (`view` over the same buffer) and writes the
   * response body to out.
   * Returns the result code. Never throws for anything a client can send.
   */
  handle(bytes: Uint8Array, view: DataView, start: number, end: number, out: Writer): number {
    const op = bytes[start + ReqOffset.OP];
    const flags = bytes[start + ReqOffset.FLAGS];
    const ctx = this.ctx;
    ctx.ns = this.namespaces[bytes[start + ReqOffset.NS]];
    ctx.bytes = bytes;
    ctx.digestOffset = start + ReqOffset.DIGEST;
    ctx.setId = view.getUint16(start + ReqOffset.SET_ID, true);
    ctx.nowMs = Date.now();
    ctx.nowVoid = nowVoidSec(ctx.nowMs);
    const bodyStart = start + REQ_HEADER_BYTES;
    this.stats.add(WorkerStat.REQUESTS);
    const mark = out.length;
    this.refusal = null;
    const batch = (flags & ReqFlag.BATCH_ELEMENT) !== 0;
    let code: number;
    try {
      this.reader.reset(bytes, bodyStart, end);
      parseBody(this.reader, end, this.fields, op === Op.PUT);
      code = this.apply(op, batch, view, start, out);
    } catch (err) {
      out.truncate(mark);
      // An in-doubt error (the log failed after this write reached memory: a roll-over's sync,
      // say) is answered TIMEOUT: the write may survive, so it must never read as failed.
      code = err instanceof AerieError ? (err.inDoubt ? Status.TIMEOUT : err.code) : Status.SERVER_ERROR;
      if (!(err instanceof AerieError) || err instanceof InvariantError) this.logError(`unexpected error: ${(err as Error)?.stack ?? String(err)}`);
      else if (code === Status.SERVER_MEM) {
        // The store's own limit, met before stop-writes: INFO shows it until a write fits again.
        // (A full device refuses through refuse() before anything is applied, never by a throw.)
        ctx.ns.memoryRefused = true;
        this.refuseForMemory(ctx.ns, ctx.ns.memoryLimitMessage(err.message));
      } else if (err.message !== statusName(code)) this.refusal = err.message;
      this.count(code, false);
    }
    // A refusal says why (which limit, what was expected): the client's error carries it. A batch
    // element's answer is its own array, never a message.
    if (code !== 0 && this.refusal !== null && !batch) {
      out.truncate(mark);
      out.writeMapHeader(1);
      out.writeString('message');
      out.writeString(this.refusal);
    }
    return code;
  }

  private apply(op: number, batch: boolean, view: DataView, start: number, out: Writer): number {
    switch (op) {
      case Op.PUT:
        return this.count(this.put(out), true);
      case Op.GET:
        return this.count(batch ? this.batchGet(out, true) : this.get(out), false);
      case Op.EXISTS:
        return this.count(batch ? this.batchGet(out, false) : this.exists(out), false);
      case Op.REMOVE:
        return this.count(this.remove(), true);
      case Op.TOUCH:
        return this.count(this.touch(out), true);
      case Op.OPERATE:
        return this.count(this.operate(out), true);
      case Op.TRUNCATE:
        return this.count(this.truncate(view.getFloat64(start + ReqOffset.TRUNCATE_BEFORE_MS, true), out), true);
      default:
        return this.count(Status.PARAMETER, false);
    }
  }

  /**
   * A write refused for memory: says which limit, with the figures, and publishes the state at
   * once, so an INFO sent after the refusal shows what refused it (not the last periodic figures).
   */
  private refuseForMemory(ns: Namespace, message: string): number {
    this.refusal = message;
    ns.memoryRefusals++;
    this.stats.set(this.stats.nsSlot(ns.index, NamespaceStat.MEMORY_BYTES), ns.store.memoryBytes);
    this.stats.set(this.stats.nsSlot(ns.index, NamespaceStat.STOP_WRITES), ns.stopWritesReason());
    return Status.SERVER_MEM;
  }

  /** A refusal decided before anything was applied (a full device): its code, and why for the client. */
  private refuse(err: AerieError): number {
    this.refusal = err.message;
    return err.code;
  }

  private count(code: number, write: boolean): number {
    if (code === 0) this.stats.add(write ? WorkerStat.WRITES : WorkerStat.READS);
    else if (code === Status.KEY_NOT_FOUND) this.stats.add(WorkerStat.NOT_FOUND);
    else this.stats.add(WorkerStat.ERRORS);
    return code;
  }

  /** The live slot for the request's digest, or -1; an expired record is removed on sight. */
  private lookup(): number {
    const { ns, bytes, digestOffset, nowVoid } = this.ctx;
    const slot = ns.store.lookup(bytes, digestOffset);
    if (slot < 0) return -1;
    const voidTime = ns.store.voidTime(slot);
    if (hasExpired(voidTime, nowVoid)) {
      ns.store.remove(slot);
      this.stats.add(WorkerStat.EXPIRED);
      return -1;
    }
    return slot;
  }

  /** Generation policy against an existing record: 0 when it passes. */
  private checkGeneration(slot: number): number {
    const f = this.fields;
    if (f.genPolicy === GenPolicy.NONE || slot < 0) return 0;
    const gen = this.ctx.ns.store.generation(slot);
    if (f.genPolicy === GenPolicy.EXPECT_GEN_EQUAL && gen !== f.gen) {
      this.refusal = `generation: expected ${f.gen} (genPolicy eq), the record is at generation ${gen}`;
      return Status.GENERATION;
    }
    if (f.genPolicy === GenPolicy.EXPECT_GEN_GT && f.gen <= gen) {
      this.refusal = `generation: expected a gen above the record's ${gen} (genPolicy gt), got ${f.gen}`;
      return Status.GENERATION;
    }
    return 0;
  }

  /** Record-exists policy: 0 when the write may go ahead. */
  private checkExists(slot: number): number {
    const e = this.fields.exists;
    if (slot < 0 && (e === Exists.UPDATE_ONLY || e === Exists.REPLACE_ONLY)) return Status.KEY_NOT_FOUND;
    if (slot >= 0 && e === Exists.CREATE_ONLY) return Status.KEY_EXISTS;
    return 0;
  }

  /** The record's bins decoded, read in place in its arena block (no view made per record). */
  private storedBins(slot: number): Bins {
    const store = this.ctx.ns.store;
    const start = store.recordOffset(slot) + RECORD_HEADER_BYTES + store.keyLength(slot);
    return unpackValue(store.recordBlock(slot), start, start + store.binsLength(slot)) as Bins;
  }

  /**
   * An update that names every bin the record has replaces all their values: the merge then needs
   * only the stored names (for the bins' order, as mergeBins keeps it), not their values decoded.
   * Null when some stored bin is not named: the caller decodes and merges.
   */
  private mergeOverStored(slot: number, incoming: Bins): Bins | null {
    const store = this.ctx.ns.store;
    const start = store.recordOffset(slot) + RECORD_HEADER_BYTES + store.keyLength(slot);
    const r = this.storedReader;
    r.reset(store.recordBlock(slot), start, start + store.binsLength(slot));
    let storedCount = r.readMapHeader();
    // More bins stored than named: some stay (a partial update), so their values are needed.
    let incomingCount = 0;
    for (const _ in incoming) incomingCount++;
    if (storedCount > incomingCount) return null;
    const merged: Bins = {};
    for (; storedCount > 0; storedCount--) {
      // Bin names are strings; anything else is left to the decode, which knows every shape.
      if (r.peekType() !== ValueType.STR) return null;
      const name = r.readString();
      if (!Object.hasOwn(incoming, name)) return null;
      r.skipValue(VALUE_DEPTH_MAX);
      const value = incoming[name];
      if (value !== null && value !== undefined) merged[name] = value;
    }
    for (const name in incoming) {
      const value = incoming[name];
      if (value !== null && value !== undefined && !Object.hasOwn(merged, name)) merged[name] = value;
    }
    return merged;
  }

  /** Encodes and stores bins as the record's new version; writes {gen, ttl} to out. */
  private store(slot: number, bins: Bins, touchTtl: boolean, out: Writer | null): number {
    const { ns, bytes, digestOffset, nowMs } = this.ctx;
    const f = this.fields;
    if (ns.stopWrites()) return this.refuseForMemory(ns, ns.stopWritesMessage());
    // Refused before anything is applied: a clean failure, memory and log unchanged.
    if (ns.log !== null) {
      const refused = ns.log.writeRefusal();
      if (refused !== null) return this.refuse(refused);
    }
    const exists = slot >= 0;
    const currentVoid = exists ? ns.store.voidTime(slot) : 0;
    const voidTime = ns.voidTimeFor(touchTtl ? f.ttl : Ttl.DONT_UPDATE, currentVoid, exists, nowMs);
    if (voidTime < 0) return Status.PARAMETER;
    const gen = exists ? nextGeneration(ns.store.generation(slot)) : 1;
    let setId = this.ctx.setId;
    let key: Uint8Array | null = null;
    let keyStart = 0;
    let keyEnd = 0;
    if (f.sendKey && f.keyStart >= 0) {
      key = bytes;
      keyStart = f.keyStart;
      keyEnd = f.keyEnd;
    } else if (exists) {
      const old = ns.store.keyBytes(slot);
      if (old !== null) {
        key = Buffer.from(old); // copy: the old record's space is freed by the write
        keyEnd = key.length;
      }
      if (setId === 0) setId = ns.store.setId(slot);
    }
    const packed = this.packed;
    packed.reset();
    packed.writeValue(bins, VALUE_DEPTH_MAX);
    if (RECORD_HEADER_BYTES + (keyEnd - keyStart) + packed.length > ns.config.recordBytesMax) return Status.RECORD_TOO_BIG;
    const stored = ns.store.write(bytes, digestOffset, gen, setId, voidTime, nowMs, key, keyStart, keyEnd, packed.buffer, 0, packed.length);
    ns.memoryRefused = false;
    if (ns.log !== null || this.repl !== null) {
      if (ns.log !== null) ns.log.logPut(ns.store, stored);
      if (this.repl !== null) this.repl.put(ns, stored);
    }
    if (ns.repairWatch !== null) ns.noteWrite(bytes, digestOffset);
    if (out !== null) writeMeta(out, gen, ttlOf(voidTime, nowMs));
    return 0;
  }

  private put(out: Writer): number {
    const f = this.fields;
    const code = checkBinsForWrite(f.bins);
    if (code !== 0) return code;
    const slot = this.lookup();
    const policy = this.checkExists(slot) || this.checkGeneration(slot);
    if (policy !== 0) return policy;
    const replace = f.exists === Exists.REPLACE || f.exists === Exists.REPLACE_ONLY || f.exists === Exists.CREATE_ONLY;
    const incoming = f.bins as Bins;
    const bins = slot >= 0 && !replace ? (this.mergeOverStored(slot, incoming) ?? mergeBins(this.storedBins(slot), incoming, false)) : mergeBins(null, incoming, replace);
    if (!hasBins(bins)) {
      // Every bin removed: the record goes, as in Aerospike.
      if (slot >= 0) {
        const code = this.removeSlot(slot);
        if (code !== 0) return code;
      }
      writeMeta(out, 0, 0);
      return 0;
    }
    return this.store(slot, bins, true, out);
  }

  private get(out: Writer): number {
    const slot = this.lookup();
    if (slot < 0) return Status.KEY_NOT_FOUND;
    const { ns, nowMs } = this.ctx;
    out.writeMapHeader(3);
    out.writeString('gen');
    out.writeUint(ns.store.generation(slot));
    out.writeString('ttl');
    out.writeInt(ttlOf(ns.store.voidTime(slot), nowMs));
    out.writeString('bins');
    this.writeBins(slot, out);
    return 0;
  }

  /** The record's bins, raw when all are wanted (no decode), else the selected ones. */
  private writeBins(slot: number, out: Writer): void {
    const names = this.fields.binNames;
    if (names === null) {
      const store = this.ctx.ns.store;
      const start = store.recordOffset(slot) + RECORD_HEADER_BYTES + store.keyLength(slot);
      out.writeRaw(store.recordBlock(slot), start, start + store.binsLength(slot));
    } else {
      out.writeValue(selectBins(this.storedBins(slot), names));
    }
  }

  private exists(out: Writer): number {
    const slot = this.lookup();
    if (slot < 0) return Status.KEY_NOT_FOUND;
    const { ns, nowMs } = this.ctx;
    writeMeta(out, ns.store.generation(slot), ttlOf(ns.store.voidTime(slot), nowMs));
    return 0;
  }

  /** A batch element: [code, gen, ttl, bins] for GET or [code, gen, ttl] for EXISTS. */
  private batchGet(out: Writer, withBins: boolean): number {
    const slot = this.lookup();
    const { ns, nowMs } = this.ctx;
    out.writeArrayHeader(withBins ? 4 : 3);
    if (slot < 0) {
      out.writeInt(Status.KEY_NOT_FOUND);
      out.writeUint(0);
      out.writeInt(0);
      if (withBins) out.writeNil();
      return Status.KEY_NOT_FOUND;
    }
    out.writeInt(0);
    out.writeUint(ns.store.generation(slot));
    out.writeInt(ttlOf(ns.store.voidTime(slot), nowMs));
    if (withBins) this.writeBins(slot, out);
    return 0;
  }

  private remove(): number {
    const slot = this.lookup();
    if (slot < 0) return Status.KEY_NOT_FOUND;
    const code = this.checkGeneration(slot);
    if (code !== 0) return code;
    return this.removeSlot(slot);
  }

  /** Deletes a record (logged first for a file namespace). */
  private removeSlot(slot: number): number {
    const ns = this.ctx.ns;
    if (ns.log !== null) {
      // A tombstone may still go into the disk's reserve; not into a full or failed log.
      const refused = ns.log.deleteRefusal();
      if (refused !== null) return this.refuse(refused);
      ns.log.logDelete(ns.store, slot);
    }
    const partitionId = ns.store.partitionId(slot);
    ns.store.remove(slot);
    if (this.repl !== null) this.repl.remove(ns.index, partitionId, this.ctx.bytes, this.ctx.digestOffset);
    if (ns.repairWatch !== null) ns.noteWrite(this.ctx.bytes, this.ctx.digestOffset);
    this.stats.add(WorkerStat.DELETES);
    return 0;
  }

  /**
   * Deletes the set's records (setId SCAN_ALL_SETS: every set) last updated at or before
   * `beforeMs`, logging one marker first for a file namespace; writes {deleted}.
   */
  private truncate(beforeMs: number, out: Writer): number {
    const { ns, setId } = this.ctx;
    if (ns.log !== null) {
      const refused = ns.log.deleteRefusal();
      if (refused !== null) return this.refuse(refused);
      ns.log.logTruncate(setId, beforeMs);
    }
    // Every worker truncates every copy it holds; each reports only its masters' records, so the
    // node's sum counts each record once.
    ns.truncateCutoffs.set(setId, Math.max(ns.truncateCutoffs.get(setId) ?? -1, beforeMs));
    const mastersBefore = this.masterRecords(ns);
    const deleted = ns.store.truncate(setId === SCAN_ALL_SETS ? -1 : setId, beforeMs);
    if (ns.repairWatch !== null) ns.repairWatchOverflow = true;
    this.stats.add(WorkerStat.DELETES, deleted);
    out.writeMapHeader(1);
    out.writeString('deleted');
    out.writeUint(mastersBefore - this.masterRecords(ns));
    return 0;
  }

  private touch(out: Writer): number {
    const slot = this.lookup();
    if (slot < 0) return Status.KEY_NOT_FOUND;
    const code = this.checkGeneration(slot);
    if (code !== 0) return code;
    return this.touchSlot(slot, out);
  }

  private touchSlot(slot: number, out: Writer | null): number {
    const { ns, nowMs } = this.ctx;
    if (ns.stopWrites()) return this.refuseForMemory(ns, ns.stopWritesMessage());
    if (ns.log !== null) {
      const refused = ns.log.writeRefusal();
      if (refused !== null) return this.refuse(refused);
    }
    const voidTime = ns.voidTimeFor(this.fields.ttl, ns.store.voidTime(slot), true, nowMs);
    if (voidTime < 0) return Status.PARAMETER;
    const gen = nextGeneration(ns.store.generation(slot));
    ns.store.updateMeta(slot, gen, voidTime, nowMs);
    if (ns.log !== null) ns.log.logPut(ns.store, slot);
    if (this.repl !== null) this.repl.put(ns, slot);
    if (ns.repairWatch !== null) ns.noteWrite(this.ctx.bytes, this.ctx.digestOffset);
    if (out !== null) writeMeta(out, gen, ttlOf(voidTime, nowMs));
    return 0;
  }

  private operate(out: Writer): number {
    const slot = this.lookup();
    const existing = slot >= 0 ? this.storedBins(slot) : null;
    const recordBytes = slot >= 0 ? this.ctx.ns.store.binsLength(slot) : 0;
    const res = applyOps(existing, this.fields.ops, this.beat, OPERATE_COST_UNITS_MAX + OPERATE_COST_UNITS_PER_RECORD_BYTE * recordBytes);
    if (res.code !== 0) return res.code;
    const { ns, nowMs } = this.ctx;
    if (res.write || res.deleteRecord || res.touch) {
      const policy = this.checkExists(slot) || this.checkGeneration(slot);
      if (policy !== 0) return policy;
    }
    let gen = slot >= 0 ? ns.store.generation(slot) : 0;
    let ttl = slot >= 0 ? ttlOf(ns.store.voidTime(slot), nowMs) : 0;
    if (res.deleteRecord) {
      if (slot >= 0) {
        const code = this.removeSlot(slot);
        if (code !== 0) return code;
      }
      gen = 0;
      ttl = 0;
    } else if (res.write) {
      const code = this.store(slot, res.bins, true, null);
      if (code !== 0) return code;
      const slotAfter = this.lookup();
      gen = ns.store.generation(slotAfter);
      ttl = ttlOf(ns.store.voidTime(slotAfter), nowMs);
    } else if (res.touch) {
      const code = this.touchSlot(slot, null);
      if (code !== 0) return code;
      gen = ns.store.generation(slot);
      ttl = ttlOf(ns.store.voidTime(slot), nowMs);
    }
    out.writeMapHeader(3);
    out.writeString('gen');
    out.writeUint(gen);
    out.writeString('ttl');
    out.writeInt(ttl);
    out.writeString('results');
    out.writeArrayHeader(res.results.length);
    for (const r of res.results) out.writeValue(r as never);
    // The encoding was paid for in the budget; it may have been the longest part of the call.
    this.beat();
    return 0;
  }
}

/** Whether any bin is left (no array of names made, unlike Object.keys). */
function hasBins(bins: Bins): boolean {
  for (const _ in bins) return true;
  return false;
}

function writeMeta(out: Writer, gen: number, ttl: number): void {
  out.writeMapHeader(2);
  out.writeString('gen');
  out.writeUint(gen);
  out.writeString('ttl');
  out.writeInt(ttl);
}
