// Proves a worker endpoint's split batch (src/worker/batch-collector.ts) sends each part to the
// primary as a well-formed {keys: [...]} batch and puts the answers back in the client's key
// order, whichever way each element goes: forwarded with the keys of other owners, read here, or
// queued here and then forwarded alone because its partition moved first (forwardElement). That
// last path once sized its buffer from the wrong index and threw, killing the worker, whenever
// the element was not the batch's first (found by batch-split.test.ts's crash loop: a handback
// under queued file-namespace reads).
import t from 'tap';
import { pack, unpack } from 'msgpackr';
import type { Session } from '../../src/endpoint/session';
import { Op } from '../../src/protocol/ops';
import { BatchCollector } from '../../src/worker/batch-collector';

interface Part {
  id: number;
  op: number;
  keys: unknown[];
}

function collector(count: number) {
  const parts: Part[] = [];
  const answers: { id: number; code?: number; elements?: unknown[]; message?: string }[] = [];
  const session = {
    answerFrameBytesMax: 1 << 20,
    respondBatch: (id: number, elements: Buffer[]) => answers.push({ id, elements: elements.map((e) => unpack(e)) }),
    respondAnswer: (id: number, code: number, value: { message?: string }) => answers.push({ id, code, message: value.message }),
  } as unknown as Session;
  const c = new BatchCollector(session, 77, Op.BATCH_GET, count, 0, (_c, id, op, body, start, end) => {
    parts.push({ id, op, ...(unpack(body.subarray(start, end)) as { keys: unknown[] }) });
  });
  return { c, parts, answers };
}

const keyMap = (key: number) => pack({ ns: 'test', set: 's', key });
const record = (key: number) => ({ gen: 1, ttl: -1, bins: { key } });

t.test('a queued element forwarded alone, at any position, goes as a batch of its one key', async (t) => {
  const count = 4;
  const { c, parts, answers } = collector(count);
  // Elements 0 and 2 belong to other workers: one part with both keys (starts/ends by element).
  const frame = Buffer.concat([0, 1, 2, 3].map(keyMap));
  const starts = new Int32Array(count);
  const ends = new Int32Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    starts[i] = at;
    at += keyMap(i).length;
    ends[i] = at;
  }
  c.forwardKeys([0, 2], frame, starts, ends);
  // Element 3 was queued here, and its partition moved before the loop read it.
  const alone = Buffer.concat([Buffer.from('junk'), keyMap(3)]);
  c.forwardElement(3, alone, 4, alone.length);
  // Element 1 is read here.
  const one = pack(record(1));
  c.element(1, 0, one, 0, one.length);

  t.same(
    parts.map((p) => [p.op, p.keys]),
    [
      [Op.BATCH_GET, [unpack(keyMap(0)), unpack(keyMap(2))]],
      [Op.BATCH_GET, [unpack(keyMap(3))]],
    ],
    'two parts, each a well-formed batch of its keys',
  );
  t.same(answers, [], 'nothing answered while parts are out');
  // The primary answers the parts, last one first.
  const second = pack({ records: [record(3)] });
  c.respondRaw(parts[1].id, 0, second, 0, second.length, 0);
  const first = pack({ records: [record(0), null] });
  c.respondRaw(parts[0].id, 0, first, 0, first.length, 0);
  t.same(answers, [{ id: 77, elements: [record(0), record(1), null, record(3)] }], 'one answer, in the client key order');
});

t.test('a part the primary refuses fails the whole batch with its code', async (t) => {
  const { c, parts, answers } = collector(2);
  const key = keyMap(1);
  c.forwardElement(1, key, 0, key.length);
  c.respondAnswer(parts[0].id, 18, { message: 'overloaded' }, 0);
  const zero = pack(record(0));
  c.element(0, 0, zero, 0, zero.length);
  t.same(answers, [{ id: 77, code: 18, message: 'overloaded' }], 'failed once, nothing sent after');
});
