// Proves a record store left in shared memory by a dead thread can be adopted intact, and that a
// store whose seqlock shows a write was under way is repaired to a consistent state.
import t from 'tap';
import { RecordStore } from '../../src/shm/record-store';
import { computeDigest } from '../../src/partition/digest';

const BLOCK_BYTES = 64 * 1024;

function fill(n: number) {
  const blocks: SharedArrayBuffer[] = [];
  let indexSab: SharedArrayBuffer | null = null;
  const store = RecordStore.create({
    memoryBytesMax: 64 * 1024 * 1024,
    blockBytes: BLOCK_BYTES,
    indexSlotsInitial: 64,
    onBlock: (i, sab) => (blocks[i] = sab),
    onIndexResize: (sab) => (indexSab = sab),
  });
  const bins = (i: number, v: number) => Buffer.from(`bins-${i}-${v}-${'x'.repeat(i % 40)}`);
  for (let i = 0; i < n; i++) {
    const d = computeDigest('s', i);
    store.write(d, 0, 1, 1, 0, i, null, 0, 0, bins(i, 1), 0, bins(i, 1).length);
  }
  for (let i = 0; i < n; i += 2) {
    const d = computeDigest('s', i);
    store.write(d, 0, 2, 1, 0, i, null, 0, 0, bins(i, 2), 0, bins(i, 2).length);
  }
  const shared = () => ({ indexSab: indexSab ?? store.index.sab, controlSab: store.controlSab, arenaStatsSab: store.arena.statsSab, blocks });
  return { store, shared, bins };
}

function adopt(shared: ReturnType<ReturnType<typeof fill>['shared']>) {
  return RecordStore.adopt({ memoryBytesMax: 64 * 1024 * 1024, blockBytes: BLOCK_BYTES, ...shared });
}

t.test('a consistent store is adopted as it is', async (t) => {
  const n = 3000;
  const { store, shared, bins } = fill(n);
  const before = store.stats();
  const { store: adopted, repair } = adopt(shared());
  t.equal(repair, null, 'no repair when the seqlock is even');
  t.same(adopted.stats(), before);
  for (let i = 0; i < n; i++) {
    const slot = adopted.lookup(computeDigest('s', i), 0);
    t.equal(Buffer.from(adopted.binsBytes(slot)).toString(), bins(i, i % 2 === 0 ? 2 : 1).toString());
  }
  // The adopter keeps writing, freeing and defragmenting.
  for (let i = 0; i < n; i++) {
    const b = bins(i, 3);
    adopted.write(computeDigest('s', i), 0, 3, 1, 0, 0, null, 0, 0, b, 0, b.length);
  }
  while (adopted.defragStep(1 << 20) > 0);
  t.equal(adopted.stats().records, n);
  t.equal(Buffer.from(adopted.binsBytes(adopted.lookup(computeDigest('s', 7), 0))).toString(), bins(7, 3).toString());
});

t.test('a store left mid-write is repaired', async (t) => {
  const n = 2000;
  const { store, shared, bins } = fill(n);
  const liveBefore = store.stats().liveBytes;
  // Simulate a death between the index's metadata update and its location update.
  const control = new Int32Array(store.controlSab);
  Atomics.add(control, 0, 1);
  const slot = store.lookup(computeDigest('s', 11), 0);
  store.index.setMeta(slot, 9, 1, 0);
  const { store: adopted, repair } = adopt(shared());
  t.ok(repair, 'repair ran');
  t.equal(repair!.checked, n);
  t.equal(repair!.fixed, 1, 'the half-updated entry takes its metadata from the record');
  t.equal(repair!.dropped, 0);
  t.equal(adopted.generation(adopted.lookup(computeDigest('s', 11), 0)), 1);
  t.equal(adopted.stats().liveBytes, liveBefore, 'live bytes recounted from the index');
  t.equal(Atomics.load(new Int32Array(adopted.controlSab), 0) & 1, 0, 'seqlock closed');
  for (let i = 0; i < n; i++) {
    const s = adopted.lookup(computeDigest('s', i), 0);
    t.equal(Buffer.from(adopted.binsBytes(s)).toString(), bins(i, i % 2 === 0 ? 2 : 1).toString());
  }
});
