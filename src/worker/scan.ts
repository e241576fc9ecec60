// One page of a scan on one worker: walk the index from a slot cursor, keep the live records of
// the partitions this worker masters (and of the wanted set), stop at a record count, a byte
// budget or a bound on slots examined, and say where the next page starts. A slot cursor means
// something only on the index it was made on: a rehash moves records across it (some would be
// missed), and a restore or a restarted thread brings another index. So every page names its
// index, and a page asked for on another one is refused (SCAN_ABORT) rather than answered wrong.

import { DIGEST_BYTES } from '../constants';
import { SCAN_ALL_SETS, SCAN_DONE } from '../protocol/internal';
import type { Writer } from '../protocol/writer';
import type { PartitionMap } from '../partition/map';
import type { SetRegistry } from '../shm/set-registry';
import { selectBins } from './bins';
import { unpackValue } from '../protocol/codec';
import type { Namespace } from './namespace';
import { ttlOf } from '../shm/void-time';
import type { Bins } from '../protocol/ops';
import { Status } from '../errors';

/** Slots examined per page at most, so a sparse index cannot make one page take long. */
const SCAN_SLOTS_PER_PAGE_MAX = 1 << 18;

export interface ScanPage {
  ns: Namespace;
  sets: SetRegistry;
  map: PartitionMap;
  workerIndex: number;
  setId: number;
  startSlot: number;
  /** The index the cursor was made on (0: this worker's first page, any index). */
  indexId: number;
  recordsMax: number;
  bytesMax: number;
  binNames: string[] | null;
  nowVoid: number;
  nowMs: number;
}

const digest = Buffer.alloc(DIGEST_BYTES);
const placeholder = new Uint8Array(4);

/**
 * Ids of the index buffers this thread scanned. They start at a random point so that a thread
 * started after another (a restart) is unlikely to reuse the id a client's cursor holds.
 */
const indexIds = new WeakMap<SharedArrayBuffer, number>();
let lastIndexId = (Math.random() * 0xffffffff) >>> 0;

function indexIdOf(sab: SharedArrayBuffer): number {
  let id = indexIds.get(sab);
  if (id === undefined) {
    lastIndexId = (lastIndexId + 1) >>> 0 || 1;
    id = lastIndexId;
    indexIds.set(sab, id);
  }
  return id;
}

/**
 * Writes u32 nextSlot, u32 indexId, then an array of [digest, set|nil, key|nil, gen, ttl, bins]
 * records, and returns 0; or writes nothing and returns SCAN_ABORT when the cursor was made on
 * another index.
 */
export function scanPage(p: ScanPage, out: Writer): number {
  const store = p.ns.store;
  const indexId = indexIdOf(store.index.sab);
  if (p.indexId !== 0 && p.indexId !== indexId) return Status.SCAN_ABORT;
  const nextAt = out.length;
  out.writeRaw(placeholder, 0, 4); // patched below
  out.writeRaw(placeholder, 0, 4);
  out.patchUint32LE(nextAt + 4, indexId);
  const arrayAt = out.beginArray32();
  const bytesStart = out.length;
  let count = 0;
  let slot = p.startSlot;
  const slotLimit = p.startSlot + SCAN_SLOTS_PER_PAGE_MAX;
  let next = SCAN_DONE;
  while (true) {
    slot = store.nextLive(slot);
    if (slot < 0) break;
    if (count >= p.recordsMax || out.length - bytesStart >= p.bytesMax || slot >= slotLimit) {
      next = slot;
      break;
    }
    const voidTime = store.voidTime(slot);
    const setId = store.setId(slot);
    const wanted = (voidTime === 0 || voidTime > p.nowVoid) && (p.setId === SCAN_ALL_SETS || p.setId === setId) && p.map.master(p.ns.index, store.partitionId(slot)) === p.workerIndex;
    if (wanted) {
      writeRecord(p, slot, setId, voidTime, out);
      count++;
    }
    slot++;
  }
  out.patchArray32(arrayAt, count);
  out.patchUint32LE(nextAt, next >>> 0);
  return 0;
}

function writeRecord(p: ScanPage, slot: number, setId: number, voidTime: number, out: Writer): void {
  const store = p.ns.store;
  out.writeArrayHeader(6);
  store.copyDigest(slot, digest, 0);
  out.writeBin(digest);
  if (setId === 0) out.writeNil();
  else out.writeString(p.sets.nameOf(setId));
  const key = store.keyBytes(slot);
  if (key === null) out.writeNil();
  else out.writeRaw(key, 0, key.length);
  out.writeUint(store.generation(slot));
  out.writeInt(ttlOf(voidTime, p.nowMs));
  const bins = store.binsBytes(slot);
  if (p.binNames === null) out.writeRaw(bins, 0, bins.length);
  else out.writeValue(selectBins(unpackValue(bins, 0, bins.length) as Bins, p.binNames));
}
