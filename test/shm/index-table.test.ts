// Proves the off-heap digest index finds, updates and removes entries correctly through collisions,
// tombstones, growth and same-size rehashes, and matches a JS Map under a seeded random workload.
import t from 'tap';
import { IndexTable } from '../../src/shm/index-table';
import { Status } from '../../src/errors';
import { prng, testSeed } from '../helpers/prng';

/** A digest whose word w2 (the home-slot word) and w1 are chosen, so tests can force collisions. */
function digestWith(w1: number, w2: number, w0 = 0x12345): Uint8Array {
  const d = new Uint8Array(20);
  const view = new DataView(d.buffer);
  view.setUint32(0, w0, true);
  view.setUint32(4, w1, true);
  view.setUint32(8, w2, true);
  view.setUint32(12, 0xdeadbeef, true);
  view.setUint32(16, w1 ^ 0x5555, true);
  return d;
}

t.test('insert, find, update, remove', async (t) => {
  const table = IndexTable.create(16);
  const d = digestWith(1, 7, 0xabc);
  t.equal(table.find(d, 0), -1);
  const slot = table.insert(d, 0, 3, 42, 1000, 0xfedcba98);
  t.equal(slot, 7, 'home slot comes from word w2');
  t.equal(table.find(d, 0), slot);
  t.equal(table.generation(slot), 3);
  t.equal(table.setId(slot), 42);
  t.equal(table.voidTime(slot), 1000);
  t.equal(table.location(slot), 0xfedcba98);
  t.equal(table.partitionId(slot), 0xabc);
  t.ok(table.isLive(slot));
  table.setMeta(slot, 65535, 4095, 0xffffffff);
  table.setLocation(slot, 5);
  t.same([table.generation(slot), table.setId(slot), table.voidTime(slot), table.location(slot)], [65535, 4095, 0xffffffff, 5]);
  const out = new Uint8Array(24);
  table.copyDigest(slot, out, 2);
  t.same(out.subarray(2, 22), d);
  t.equal(table.liveCount, 1);
  table.remove(slot);
  t.equal(table.find(d, 0), -1);
  t.equal(table.liveCount, 0);
  t.equal(table.tombstoneCount, 0, 'a removal before an empty slot leaves no tombstone');
  t.throws(() => table.remove(slot), 'removing a dead slot is an invariant violation');
});

t.test('digest read at an offset inside a larger buffer', async (t) => {
  const table = IndexTable.create(16);
  const buf = new Uint8Array(64);
  buf.set(digestWith(9, 9), 13);
  const slot = table.insert(buf, 13, 1, 0, 0, 1);
  t.equal(table.find(digestWith(9, 9), 0), slot);
  t.throws(() => table.insert(buf, 13, 1, 0, 0, 1), 'inserting a present digest is asserted');
});

t.test('colliding digests, tombstones and their reuse', async (t) => {
  const table = IndexTable.create(32);
  const digests = Array.from({ length: 10 }, (_, i) => digestWith(i, 5));
  digests.forEach((d, i) => t.equal(table.insert(d, 0, i + 1, 0, 0, i), 5 + i, `collision ${i} probes linearly`));
  table.remove(5 + 3);
  t.equal(table.tombstoneCount, 1);
  for (let i = 0; i < 10; i++) t.equal(table.find(digests[i], 0), i === 3 ? -1 : 5 + i, `find ${i} past the tombstone`);
  t.equal(table.insert(digests[3], 0, 9, 0, 0, 99), 8, 'the first tombstone of the chain is reused');
  t.equal(table.tombstoneCount, 0);
  // Removing the chain from its end empties the trailing tombstones too.
  for (let i = 4; i >= 0; i--) table.remove(5 + i);
  t.equal(table.tombstoneCount, 5);
  for (let i = 9; i >= 5; i--) table.remove(5 + i);
  t.equal(table.tombstoneCount, 0, 'removing the tail of a chain clears the tombstones before it');
  t.equal(table.liveCount, 0);
  t.equal(table.nextLive(0), -1);
});

t.test('probing wraps around the end of the table', async (t) => {
  const table = IndexTable.create(8);
  const a = digestWith(1, 7);
  const b = digestWith(2, 7);
  t.equal(table.insert(a, 0, 1, 0, 0, 1), 7);
  t.equal(table.insert(b, 0, 1, 0, 0, 2), 0);
  t.equal(table.find(b, 0), 0);
  t.equal(table.nextLive(1), 7);
});

t.test('growth keeps every entry and reports the new buffer', async (t) => {
  const seen: SharedArrayBuffer[] = [];
  const table = IndexTable.create(8, { onResize: (sab) => seen.push(sab) });
  const first = table.sab;
  const reader = IndexTable.attach(first);
  for (let i = 0; i < 1000; i++) table.insert(digestWith(i, i * 2654435761), 0, (i % 65535) + 1, i % 4096, i, i * 3);
  t.equal(table.capacity, 2048);
  t.equal(table.resizeEpoch, seen.length);
  t.equal(seen[seen.length - 1], table.sab);
  t.ok(reader.retired, 'a reader of the old buffer can tell it was replaced');
  t.notOk(table.retired);
  for (let i = 0; i < 1000; i++) {
    const slot = table.find(digestWith(i, i * 2654435761), 0);
    if (slot < 0 || table.location(slot) !== i * 3 || table.setId(slot) !== i % 4096 || table.voidTime(slot) !== i) {
      t.fail(`entry ${i} lost or changed by growth`);
      return;
    }
  }
  t.equal(table.memoryBytes, IndexTable.bytesFor(2048));
});

t.test('tombstone-heavy tables rehash at the same capacity', async (t) => {
  const table = IndexTable.create(64);
  // A sliding window of consecutive home slots: each removed entry's successor is occupied, so
  // removals leave tombstones behind the window until a rehash clears them.
  const live: number[] = [];
  for (let i = 0; i < 400; i++) {
    table.insert(digestWith(i, i), 0, 1, 0, 0, i);
    live.push(i);
    if (live.length > 8) {
      const j = live.shift()!;
      table.remove(table.find(digestWith(j, j), 0));
    }
  }
  t.equal(table.capacity, 64, 'few live entries: no growth');
  t.ok(table.resizeEpoch > 0, 'tombstones were cleared by rehashing');
  t.ok(table.liveCount + table.tombstoneCount <= 64 * 0.75);
  for (const i of live) t.ok(table.find(digestWith(i, i), 0) >= 0, `live ${i} found`);
});

t.test('attach from another IndexTable sees the same data', async (t) => {
  const table = IndexTable.create(16);
  const d = digestWith(77, 3);
  table.insert(d, 0, 2, 1, 100, 1234);
  const other = IndexTable.attach(table.sab);
  const slot = other.find(d, 0);
  t.equal(other.location(slot), 1234);
  table.setLocation(slot, 999);
  t.equal(other.location(slot), 999, 'writes are visible through the shared buffer');
  t.equal(other.liveCount, 1);
  t.throws(() => IndexTable.attach(new SharedArrayBuffer(64 + 32 * 16)), 'a buffer without the header is refused');
});

t.test('the size limit answers SERVER_MEM and leaves the table usable', async (t) => {
  const table = IndexTable.create(8, { slotsMax: 16 });
  for (let i = 0; i < 12; i++) table.insert(digestWith(i, i), 0, 1, 0, 0, i);
  t.equal(table.capacity, 16);
  t.throws(() => table.insert(digestWith(100, 100), 0, 1, 0, 0, 100), { code: Status.SERVER_MEM });
  t.equal(table.liveCount, 12);
  for (let i = 0; i < 12; i++) t.ok(table.find(digestWith(i, i), 0) >= 0);
  table.remove(table.find(digestWith(0, 0), 0));
  t.ok(table.insert(digestWith(100, 100), 0, 1, 0, 0, 100) >= 0, 'room again after a removal');

  const capped = IndexTable.create(8, { memoryBytesMax: IndexTable.bytesFor(8) });
  for (let i = 0; i < 6; i++) capped.insert(digestWith(i, i), 0, 1, 0, 0, i);
  t.throws(() => capped.insert(digestWith(6, 6), 0, 1, 0, 0, 6), { code: Status.SERVER_MEM });
  t.throws(() => IndexTable.create(12), 'capacity must be a power of two');
  t.throws(() => table.setMeta(0, 70000, 0, 0), 'generation wider than 16 bits is refused');
});

t.test('seeded random operations match a Map', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const rand = prng(seed);
  const table = IndexTable.create(8);
  const model = new Map<number, { gen: number; set: number; loc: number }>();
  const keySpace = 3000;
  // Few distinct home words make long collision chains likely.
  const digestOf = (k: number) => digestWith(k, (k * 7) % 61, k);
  for (let step = 0; step < 60_000; step++) {
    const k = Math.floor(rand() * keySpace);
    const d = digestOf(k);
    const slot = table.find(d, 0);
    const want = model.get(k);
    if (slot >= 0 !== (want !== undefined) || (want !== undefined && (table.generation(slot) !== want.gen || table.setId(slot) !== want.set || table.location(slot) !== want.loc))) {
      t.fail(`seed ${seed}: step ${step} key ${k} differs from the model`);
      return;
    }
    const op = rand();
    if (slot < 0) {
      const entry = { gen: 1 + Math.floor(rand() * 65535), set: Math.floor(rand() * 4096), loc: Math.floor(rand() * 0xffffffff) };
      table.insert(d, 0, entry.gen, entry.set, 0, entry.loc);
      model.set(k, entry);
    } else if (op < 0.5) {
      table.remove(slot);
      model.delete(k);
    } else {
      const entry = { gen: 1 + Math.floor(rand() * 65535), set: Math.floor(rand() * 4096), loc: Math.floor(rand() * 0xffffffff) };
      table.setMeta(slot, entry.gen, entry.set, 0);
      table.setLocation(slot, entry.loc);
      model.set(k, entry);
    }
  }
  let liveSeen = 0;
  for (let slot = table.nextLive(0); slot >= 0; slot = table.nextLive(slot + 1)) liveSeen++;
  t.equal(liveSeen, model.size, `seed ${seed}: nextLive visits every entry`);
  t.equal(table.liveCount, model.size, `seed ${seed}: live count`);
});

t.test('a long rehash reports progress, so a worker keeps its heartbeat', async (t) => {
  let busy = 0;
  let resizes = 0;
  const table = IndexTable.create(1024, { onBusy: () => busy++, onResize: () => resizes++ });
  const rand = prng(7);
  const n = 300_000;
  for (let i = 0; i < n; i++) table.insert(digestWith(Math.floor(rand() * 0xffffffff), Math.floor(rand() * 0xffffffff), i), 0, 1, 0, 0, i);
  t.equal(table.liveCount, n);
  t.ok(resizes >= 8, `${resizes} rehashes`);
  // Rehashes walk 1024 + 2048 + … + 262144 old slots: one call per 65536 of them, at least.
  t.ok(busy >= 4, `onBusy called ${busy} times`);
});
