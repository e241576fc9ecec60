// Proves the record store keeps records intact through replaces, removals, expiry sweeps and
// defragmentation, bounds its memory, fails cleanly at its limits, and always ends a mutation with
// an even seqlock, including under a seeded random workload checked against a Map.
import t from 'tap';
import { createHash } from 'node:crypto';
import { RecordStore, RECORD_HEADER_BYTES } from '../../src/shm/record-store';
import { IndexTable } from '../../src/shm/index-table';
import { alignBytes } from '../../src/shm/arena';
import { Status } from '../../src/errors';
import { prng, testSeed } from '../helpers/prng';

function digestOf(k: number): Uint8Array {
  return new Uint8Array(createHash('sha1').update(`key-${k}`).digest());
}

function binsOf(k: number, version: number, length: number): Uint8Array {
  const bins = new Uint8Array(length);
  for (let i = 0; i < length; i++) bins[i] = (k * 31 + version * 7 + i) & 0xff;
  return bins;
}

const BIG = 1 << 30;

function put(store: RecordStore, k: number, gen: number, bins: Uint8Array, voidTime = 0, key: Uint8Array | null = null): void {
  store.write(digestOf(k), 0, gen, 1, voidTime, 1000 + gen, key, 0, key?.length ?? 0, bins, 0, bins.length);
}

t.test('write and read back', async (t) => {
  const store = RecordStore.create({ memoryBytesMax: BIG, blockBytes: 4096 });
  const digest = digestOf(1);
  const padded = new Uint8Array(40);
  padded.set(digest, 7);
  const key = new Uint8Array([0xa3, 0x6b, 0x65, 0x79]);
  const bins = binsOf(1, 1, 100);
  const framed = new Uint8Array(120);
  framed.set(bins, 10);
  store.write(padded, 7, 5, 17, 12345, 1.7e12 + 0.5, key, 0, 4, framed, 10, 110);
  const slot = store.lookup(digest, 0);
  t.ok(slot >= 0);
  t.same([store.generation(slot), store.setId(slot), store.voidTime(slot), store.lastUpdateMs(slot)], [5, 17, 12345, 1.7e12 + 0.5]);
  t.same(store.keyBytes(slot), key);
  t.same(store.binsBytes(slot), bins);
  t.equal(store.partitionId(slot), digest[0] | ((digest[1] & 0x0f) << 8));
  const out = new Uint8Array(20);
  store.copyDigest(slot, out, 0);
  t.same(out, digest);
  // The allocation-free accessors describe the same bytes.
  const at = store.recordOffset(slot) + RECORD_HEADER_BYTES + store.keyLength(slot);
  t.same(store.recordBlock(slot).subarray(at, at + store.binsLength(slot)), bins);
  t.equal(store.stats().liveBytes, alignBytes(RECORD_HEADER_BYTES + 4 + 100));

  put(store, 2, 1, new Uint8Array(0));
  const empty = store.lookup(digestOf(2), 0);
  t.equal(store.keyBytes(empty), null);
  t.equal(store.binsBytes(empty).length, 0);
  t.equal(store.nextLive(0) >= 0, true);
  t.equal(store.lookup(digestOf(3), 0), -1);
});

t.test('replace frees the old copy; updateMeta and remove', async (t) => {
  const store = RecordStore.create({ memoryBytesMax: BIG, blockBytes: 4096 });
  put(store, 1, 1, binsOf(1, 1, 200));
  put(store, 1, 2, binsOf(1, 2, 50));
  const slot = store.lookup(digestOf(1), 0);
  t.equal(store.generation(slot), 2);
  t.same(store.binsBytes(slot), binsOf(1, 2, 50));
  t.equal(store.stats().liveBytes, alignBytes(RECORD_HEADER_BYTES + 50), 'only the new copy is live');
  t.equal(store.stats().records, 1);
  store.updateMeta(slot, 3, 777, 5e12);
  t.same([store.generation(slot), store.voidTime(slot), store.lastUpdateMs(slot), store.setId(slot)], [3, 777, 5e12, 1]);
  t.same(store.binsBytes(slot), binsOf(1, 2, 50), 'touch leaves the bins');
  store.remove(slot);
  t.equal(store.lookup(digestOf(1), 0), -1);
  t.same(store.stats().records, 0);
  t.equal(store.stats().liveBytes, 0);
});

t.test('defragmentation keeps memory bounded under repeated updates', async (t) => {
  const blockBytes = 4096;
  const store = RecordStore.create({ memoryBytesMax: BIG, blockBytes });
  const keys = 200;
  const rand = prng(7);
  let moved = 0;
  for (let version = 0; version < 50; version++) {
    for (let i = 0; i < keys; i++) {
      const k = Math.floor(rand() * keys);
      put(store, k, (version % 65535) + 1, binsOf(k, version, 100));
      moved += store.defragStep(512);
    }
  }
  const stats = store.stats();
  const live = stats.liveBytes;
  t.ok(moved > 0, 'defragmentation moved records');
  t.ok(stats.arenaBytes <= 2 * live + 4 * blockBytes, `arena ${stats.arenaBytes} bytes for ${live} live bytes`);
  // Memory in use counts the index and the blocks not free; free blocks are taken first.
  t.equal(stats.memoryBytes, stats.indexBytes + store.arena.bytesInUse);
  t.ok(store.arena.bytesInUse <= stats.arenaBytes && stats.arenaBytes - store.arena.bytesInUse === store.arena.blocksFree * blockBytes, 'the free blocks are what the footprint holds beyond use');
  for (let slot = store.nextLive(0); slot >= 0; slot = store.nextLive(slot + 1)) {
    if (store.binsBytes(slot).length !== 100) t.fail('a record was damaged by defragmentation');
  }
});

t.test('expiry sweep removes only records whose void-time has passed', async (t) => {
  const store = RecordStore.create({ memoryBytesMax: BIG, blockBytes: 4096, indexSlotsInitial: 64 });
  for (let k = 0; k < 40; k++) put(store, k, 1, binsOf(k, 0, 10), k % 4 === 0 ? 0 : 100 + k);
  let cursor = 0;
  let rounds = 0;
  do {
    cursor = store.sweepExpired(120, cursor, 16);
    rounds++;
  } while (cursor !== 0);
  t.equal(rounds, Math.ceil(store.index.capacity / 16), 'the cursor walks the table once, then wraps');
  t.equal(store.expiredCount, 15, 'void-times 101..120 not divisible by 4');
  for (let k = 0; k < 40; k++) {
    const expired = k % 4 !== 0 && 100 + k <= 120;
    t.equal(store.lookup(digestOf(k), 0) >= 0, !expired, `record ${k}`);
  }
  t.equal(store.sweepExpired(0, 1 << 20, 8), 8, 'a cursor past the end restarts at 0');
});

t.test('a record larger than a block is RECORD_TOO_BIG', async (t) => {
  const store = RecordStore.create({ memoryBytesMax: BIG, blockBytes: 1024 });
  t.throws(() => put(store, 1, 1, new Uint8Array(1024 - RECORD_HEADER_BYTES + 1)), { code: Status.RECORD_TOO_BIG });
  put(store, 1, 1, new Uint8Array(1024 - RECORD_HEADER_BYTES));
  t.equal(store.stats().records, 1, 'exactly one block is fine');
  t.equal(store.writeEpoch % 2, 0);
});

t.test('SERVER_MEM leaves the store intact', async (t) => {
  const blockBytes = 1024;
  const memoryBytesMax = IndexTable.bytesFor(64) + 2 * blockBytes;
  const store = RecordStore.create({ memoryBytesMax, blockBytes, indexSlotsInitial: 64 });
  let written = 0;
  let error: unknown = null;
  try {
    for (; written < 100; written++) put(store, written, 1, binsOf(written, 1, 200));
  } catch (err) {
    error = err;
  }
  t.match(error, { code: Status.SERVER_MEM }, 'arena exhaustion');
  const before = store.stats();
  t.throws(() => put(store, 0, 2, binsOf(0, 2, 200)), { code: Status.SERVER_MEM }, 'a replace fails too');
  t.same(store.stats(), before);
  t.equal(store.writeEpoch % 2, 0, 'the seqlock is even after a failed write');
  for (let k = 0; k < written; k++) {
    const slot = store.lookup(digestOf(k), 0);
    t.ok(slot >= 0 && store.generation(slot) === 1, `record ${k} unchanged`);
  }

  const small = RecordStore.create({ memoryBytesMax: BIG, blockBytes, indexSlotsInitial: 8, indexSlotsMax: 8 });
  for (let k = 0; k < 6; k++) put(small, k, 1, binsOf(k, 1, 8));
  const beforeSmall = small.stats();
  t.throws(() => put(small, 6, 1, binsOf(6, 1, 8)), { code: Status.SERVER_MEM }, 'index exhaustion');
  t.same(small.stats(), beforeSmall, 'no arena space leaked by the failed insert');
  put(small, 5, 2, binsOf(5, 2, 8));
  t.equal(small.generation(small.lookup(digestOf(5), 0)), 2, 'replacing still works at the index limit');
});

t.test('seeded random workload matches a Map, with defrag and sweeps interleaved', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const rand = prng(seed);
  const resizes: SharedArrayBuffer[] = [];
  const store = RecordStore.create({ memoryBytesMax: BIG, blockBytes: 2048, indexSlotsInitial: 8, onIndexResize: (sab) => resizes.push(sab) });
  type Entry = { gen: number; set: number; voidTime: number; key: Uint8Array | null; bins: Uint8Array };
  const model = new Map<number, Entry>();
  const keySpace = 400;
  let now = 1000;
  let cursor = 0;
  let lastEpoch = store.writeEpoch;
  const fail = (what: string) => {
    t.fail(`seed ${seed}: ${what}`);
    return false;
  };
  const verify = (): boolean => {
    let liveBytes = 0;
    for (let k = 0; k < keySpace; k++) {
      const want = model.get(k);
      const slot = store.lookup(digestOf(k), 0);
      if (want === undefined) {
        if (slot >= 0) return fail(`key ${k} present but removed in the model`);
        continue;
      }
      if (slot < 0) return fail(`key ${k} missing`);
      if (store.generation(slot) !== want.gen || store.setId(slot) !== want.set || store.voidTime(slot) !== want.voidTime) return fail(`key ${k} metadata`);
      if (Buffer.compare(store.binsBytes(slot), want.bins) !== 0) return fail(`key ${k} bins`);
      const key = store.keyBytes(slot);
      if ((key === null) !== (want.key === null) || (key !== null && Buffer.compare(key, want.key!) !== 0)) return fail(`key ${k} user key`);
      liveBytes += alignBytes(RECORD_HEADER_BYTES + (want.key?.length ?? 0) + want.bins.length);
    }
    if (store.stats().records !== model.size) return fail(`count ${store.stats().records} != ${model.size}`);
    if (store.stats().liveBytes !== liveBytes) return fail(`live bytes ${store.stats().liveBytes} != ${liveBytes}`);
    return true;
  };
  for (let step = 0; step < 20_000; step++) {
    const k = Math.floor(rand() * keySpace);
    const op = rand();
    if (op < 0.55) {
      const length = rand() < 0.05 ? Math.floor(rand() * 1500) : Math.floor(rand() * 200);
      const entry: Entry = {
        gen: 1 + Math.floor(rand() * 65535),
        set: Math.floor(rand() * 4096),
        voidTime: rand() < 0.5 ? 0 : now + Math.floor(rand() * 50),
        key: rand() < 0.5 ? null : binsOf(k, 99, 1 + Math.floor(rand() * 20)),
        bins: binsOf(k, step, length),
      };
      store.write(digestOf(k), 0, entry.gen, entry.set, entry.voidTime, step, entry.key, 0, entry.key?.length ?? 0, entry.bins, 0, length);
      model.set(k, entry);
    } else if (op < 0.7) {
      const slot = store.lookup(digestOf(k), 0);
      if (slot >= 0) {
        store.remove(slot);
        model.delete(k);
      }
    } else if (op < 0.8) {
      const slot = store.lookup(digestOf(k), 0);
      const entry = model.get(k);
      if (slot >= 0 && entry !== undefined) {
        entry.gen = (entry.gen % 65535) + 1;
        entry.voidTime = now + 100;
        store.updateMeta(slot, entry.gen, entry.voidTime, step);
      }
    } else if (op < 0.95) {
      store.defragStep(Math.floor(rand() * 1024));
    } else {
      now += Math.floor(rand() * 5);
      cursor = store.sweepExpired(now, cursor, 1 + Math.floor(rand() * 64));
      for (const [key, entry] of model) {
        if (entry.voidTime !== 0 && entry.voidTime <= now && store.lookup(digestOf(key), 0) < 0) model.delete(key);
      }
    }
    const epoch = store.writeEpoch;
    if (epoch % 2 !== 0 || epoch < lastEpoch) {
      fail(`seqlock ${epoch} after step ${step}`);
      return;
    }
    lastEpoch = epoch;
    if (step % 1000 === 999 && !verify()) return;
  }
  t.ok(verify(), `seed ${seed}: final state matches`);
  t.equal(store.resizeEpoch, resizes.length, 'every index resize was reported');
  t.ok(store.expiredCount > 0, `seed ${seed}: some records expired`);
});
