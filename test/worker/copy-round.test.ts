// Proves a replica's copy round over a real record store: it notes the records of the round's
// partitions only, keeps what an image confirms, removes at the end what none did, tells the
// master's version from another byte for byte, and notes every record even when the index's
// per-partition counts fall short.
import t from 'tap';
import { createHash } from 'node:crypto';
import { RecordStore } from '../../src/shm/record-store';
import { PARTITION_COUNT } from '../../src/constants';
import { CopyRound, sameVersion } from '../../src/worker/copy-round';

const digestOf = (k: number) => createHash('sha1').update(`k${k}`).digest();
const partitionOf = (d: Uint8Array) => d[0] | ((d[1] & 0x0f) << 8);
const bins = (k: number) => new Uint8Array([0x81, 0xa1, 0x76, k & 0x7f]);

function storeWith(count: number): RecordStore {
  const store = RecordStore.create({ memoryBytesMax: 64 * 1024 * 1024, blockBytes: 64 * 1024 });
  for (let k = 0; k < count; k++) {
    const b = bins(k);
    store.write(digestOf(k), 0, 1, 0, 0, 1000 + k, null, 0, 0, b, 0, b.length);
  }
  return store;
}

/** Marks the partitions of the even-numbered records' digests. */
function marksFor(count: number): Uint8Array {
  const marks = new Uint8Array(PARTITION_COUNT);
  for (let k = 0; k < count; k += 2) marks[partitionOf(digestOf(k))] = 1;
  return marks;
}

t.test('keeps confirmed records, removes the rest of the round, leaves other partitions alone', async (t) => {
  const count = 2000;
  const store = storeWith(count);
  const marks = marksFor(count);
  const inRound = Array.from({ length: count }, (_, k) => k).filter((k) => marks[partitionOf(digestOf(k))] === 1);
  const round = new CopyRound(store, marks);
  t.equal(round.noted, inRound.length, 'every record of the round noted');
  const confirmed = new Set(inRound.filter((k) => k % 3 !== 0));
  for (const k of confirmed) round.confirm(digestOf(k), 0);
  round.confirm(digestOf(count + 1), 0); // a digest it never held: nothing happens
  const removed: number[] = [];
  t.equal(
    round.sweep(store, (slot) => {
      removed.push(slot);
      store.remove(slot);
    }),
    inRound.length - confirmed.size,
    'what no image confirmed is removed',
  );
  for (let k = 0; k < count; k++) {
    const kept = marks[partitionOf(digestOf(k))] === 0 || confirmed.has(k);
    if (store.lookup(digestOf(k), 0) >= 0 !== kept) t.fail(`record ${k}: ${kept ? 'lost' : 'left'}`);
  }
  t.equal(store.recordCount, count - removed.length);
});

t.test('notes every record when the per-partition counts fall short', async (t) => {
  const store = storeWith(500);
  const marks = new Uint8Array(PARTITION_COUNT).fill(1);
  store.index.partitionCounts.fill(0);
  const round = new CopyRound(store, marks);
  t.equal(round.noted, 500, 'grown past its first size');
  for (let k = 0; k < 500; k += 2) round.confirm(digestOf(k), 0);
  t.equal(
    round.sweep(store, (slot) => store.remove(slot)),
    250,
  );
});

t.test('sameVersion compares generation, times, set and bytes', async (t) => {
  const store = storeWith(1);
  const slot = store.lookup(digestOf(0), 0);
  const b = bins(0);
  const image = new Uint8Array([0, ...b]); // no key: key and bins start at 1
  t.ok(sameVersion(store, slot, 1, 0, 0, 1000, image, 1, 1, image.length), 'the same version');
  t.notOk(sameVersion(store, slot, 2, 0, 0, 1000, image, 1, 1, image.length), 'another generation');
  t.notOk(sameVersion(store, slot, 1, 0, 0, 1001, image, 1, 1, image.length), 'another update time');
  t.notOk(sameVersion(store, slot, 1, 5, 0, 1000, image, 1, 1, image.length), 'another void-time');
  t.notOk(sameVersion(store, slot, 1, 0, 3, 1000, image, 1, 1, image.length), 'another set');
  const other = image.slice();
  other[other.length - 1] ^= 1;
  t.notOk(sameVersion(store, slot, 1, 0, 0, 1000, other, 1, 1, other.length), 'another bin byte');
  t.notOk(sameVersion(store, slot, 1, 0, 0, 1000, image, 0, 1, image.length), 'a key it does not store');
});
