// Proves the liveness judge gives each verdict against a real record store — the store's own
// version kept, a version the store replaced dropped, any record of a digest the store no longer
// holds a removal, markers kept — and keeps whatever it cannot trust: a store mid-mutation (odd
// seqlock), a block it was not told about, an index buffer the worker replaced (which also marks
// the judge stale), memory that disagrees with itself, a "replacing" version older than the record.
import t from 'tap';
import { LivenessJudge } from '../../src/jobs/compaction-liveness';
import { RecordStore } from '../../src/shm/record-store';
import { type LogRecordInput, LogRecordKind, type LogRecordKindCode, LogRecordView, decodeAt, encodeInto } from '../../src/storage/log-record';
import { digestOf, nowVoid } from './helpers/log-harness';

const bins = Buffer.from('bins');

function recordView(key: number, kind: LogRecordKindCode, generation: number, lastUpdateMs: number, voidTime = 0): LogRecordView {
  const input: LogRecordInput = {
    kind,
    partitionId: 0,
    setId: 1,
    digest: kind === LogRecordKind.TRUNCATE ? new Uint8Array(20) : digestOf(key),
    digestOffset: 0,
    generation,
    voidTime,
    lastUpdateMs,
    key: null,
    keyStart: 0,
    keyEnd: 0,
    bins: kind === LogRecordKind.PUT ? bins : null,
    binsStart: 0,
    binsEnd: kind === LogRecordKind.PUT ? bins.length : 0,
  };
  const buf = new Uint8Array(256);
  encodeInto(buf, 0, input, 1, 0);
  return decodeAt(buf, 0, buf.length, new LogRecordView());
}

function storeWith(keys: Array<[key: number, generation: number, lastUpdateMs: number]>): RecordStore {
  const store = RecordStore.create({ memoryBytesMax: 1 << 24, blockBytes: 1 << 16 });
  for (const [key, generation, lastUpdateMs] of keys) store.write(digestOf(key), 0, generation, 1, 0, lastUpdateMs, null, 0, 0, bins, 0, bins.length);
  return store;
}

const memoryOf = (store: RecordStore) => ({ indexSab: store.index.sab, controlSab: store.controlSab, blocks: store.arena.blocks() });

t.test('each rule', async (t) => {
  const judge = new LivenessJudge(
    memoryOf(
      storeWith([
        [1, 5, 1000],
        [2, 6, 2000],
      ]),
    ),
  );
  const P = LogRecordKind.PUT;
  const D = LogRecordKind.TOMBSTONE;
  t.equal(judge.judge(recordView(1, P, 5, 1000)), 'keep', "the store's version");
  t.equal(judge.judge(recordView(1, P, 4, 900)), 'drop', 'an older version');
  t.equal(judge.judge(recordView(1, P, 5, 999)), 'drop', 'same generation, earlier time: another version');
  t.equal(judge.judge(recordView(2, D, 3, 1500)), 'drop', 'a tombstone before the digest was written again');
  t.equal(judge.judge(recordView(3, P, 1, 100)), 'removal', "a removed digest's put");
  t.equal(judge.judge(recordView(3, D, 1, 200)), 'removal', "a removed digest's tombstone");
  t.equal(judge.judge(recordView(3, P, 1, 100, nowVoid() - 10)), 'removal', 'an expired put of a removed digest');
  t.equal(judge.judge(recordView(0, LogRecordKind.TRUNCATE, 0, 5000)), 'keep', 'a truncate marker');
  t.equal(judge.stale, false);
});

t.test('what cannot be read consistently is kept', async (t) => {
  const store = storeWith([[1, 5, 1000]]);
  const view = recordView(1, LogRecordKind.PUT, 4, 900);
  const judge = new LivenessJudge(memoryOf(store));
  t.equal(judge.judge(view), 'drop', 'readable, the older version is dropped');
  t.equal(judge.judge(recordView(1, LogRecordKind.PUT, 4, 1100)), 'keep', 'a replacing version older than the record');
  const seqlock = new Int32Array(store.controlSab);
  Atomics.add(seqlock, 0, 1); // the worker is inside a mutation
  t.equal(judge.judge(view), 'keep', 'odd seqlock');
  Atomics.add(seqlock, 0, 1);
  t.equal(new LivenessJudge({ ...memoryOf(store), blocks: [] }).judge(view), 'keep', 'a block not yet reported');
  const slot = store.lookup(digestOf(1), 0);
  const header = store.recordBlock(slot);
  header[store.recordOffset(slot) + 4] ^= 1; // the arena header's generation no longer matches the index
  t.equal(judge.judge(view), 'keep', 'memory that disagrees with itself');
  header[store.recordOffset(slot) + 4] ^= 1;
  t.equal(judge.judge(view), 'drop');
  for (let k = 10; k < 20_000; k++) store.write(digestOf(k), 0, 1, 1, 0, 1, null, 0, 0, bins, 0, bins.length); // rehashes
  t.equal(judge.judge(view), 'keep', 'a retired index');
  t.equal(judge.stale, true);
});
