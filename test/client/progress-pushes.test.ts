// Proves the pipeline hands a progress push to the call in flight it names, and to nothing else:
// not to another call, not to one that timed out, not to the connection's push hook; a throwing
// callback loses no answer of its frame, and a malformed progress push is an ordinary push.
import t from 'tap';
import { encodeBody } from '../../src/client/codec';
import { Pipeline, type RequestSpec } from '../../src/client/pipeline';
import type { Progress } from '../../src/client/progress';
import { Status } from '../../src/errors';
import { Op, PUSH_ID } from '../../src/protocol/ops';
import { FakeTransport, nextTurn, responseFrame } from '../helpers/frames';

function spec(overrides: Partial<RequestSpec> = {}): RequestSpec {
  return { op: Op.VERIFY, body: encodeBody({ ns: 'test', progress: true }), write: false, timeoutMs: 10_000, maxRetries: 0, ...overrides };
}

function setup() {
  const pushes: unknown[] = [];
  const pipeline = new Pipeline({ maxInFlight: 100, maxQueued: 1000 }, { onStalled: () => undefined, onPush: (_code, body) => pushes.push(body) });
  const transport = new FakeTransport();
  pipeline.attach(transport);
  return { pipeline, transport, pushes };
}

const progress = (request: number, done: number, total: number) => ({ event: 'progress', request, op: 'verify', done, total, unit: 'copies' });

t.test('a progress push reaches the call it names, and only that call', async (t) => {
  const { pipeline, transport, pushes } = setup();
  const seenA: Progress[] = [];
  const seenB: Progress[] = [];
  const a = pipeline.request(spec({ onProgress: (p) => seenA.push(p) }));
  const b = pipeline.request(spec({ onProgress: (p) => seenB.push(p) }));
  await nextTurn();
  const [ra, rb] = transport.requests;
  pipeline.receive(
    responseFrame([
      [PUSH_ID, Status.OK, progress(ra.id, 0, 10)],
      [PUSH_ID, Status.OK, progress(ra.id, 4, 10)],
      [PUSH_ID, Status.OK, progress(rb.id, 7, 7)],
      [PUSH_ID, Status.OK, progress(ra.id + rb.id + 100, 1, 1)],
      [ra.id, Status.OK, { namespaces: [] }],
    ]),
  );
  t.same(seenA, [
    { done: 0, total: 10, unit: 'copies' },
    { done: 4, total: 10, unit: 'copies' },
  ]);
  t.same(seenB, [{ done: 7, total: 7, unit: 'copies' }]);
  t.same(pushes, [], 'progress pushes are not the connection push hook');
  t.same((await a).body, { namespaces: [] });
  pipeline.receive(responseFrame([[PUSH_ID, Status.OK, progress(ra.id, 9, 10)]]));
  t.equal(seenA.length, 2, 'a push after the answer is dropped');
  pipeline.receive(responseFrame([[rb.id, Status.OK, null]]));
  await b;
});

t.test('a timed-out call hears nothing more; a throwing callback loses no answer', async (t) => {
  const { pipeline, transport } = setup();
  let late = 0;
  const expired = pipeline.request(spec({ timeoutMs: 20, onProgress: () => late++ }));
  await nextTurn();
  const [re] = transport.requests;
  await t.rejects(expired, { code: Status.TIMEOUT_CLIENT });
  pipeline.receive(responseFrame([[PUSH_ID, Status.OK, progress(re.id, 1, 2)]]));
  t.equal(late, 0, 'the id is still held, but nobody waits for its progress');

  const throwing = pipeline.request(
    spec({
      onProgress: () => {
        throw new Error('application bug');
      },
    }),
  );
  const plain = pipeline.request(spec({ op: Op.PING, body: encodeBody(null) }));
  await nextTurn();
  const [rt, rp] = transport.requests.slice(1);
  pipeline.receive(
    responseFrame([
      [PUSH_ID, Status.OK, progress(rt.id, 1, 2)],
      [rt.id, Status.OK, { namespaces: [] }],
      [rp.id, Status.OK, null],
    ]),
  );
  t.same((await throwing).body, { namespaces: [] }, 'the call resolves');
  t.equal((await plain).code, Status.OK, 'the rest of the frame is answered');
});

t.test('a malformed progress push is handed to the push hook like any unknown push', async (t) => {
  const { pipeline, transport, pushes } = setup();
  let told = 0;
  const call = pipeline.request(spec({ onProgress: () => told++ }));
  await nextTurn();
  const [rc] = transport.requests;
  const bad = [
    { event: 'progress', request: rc.id, done: -1, total: 2, unit: 'copies' },
    { event: 'progress', request: rc.id, done: 1, total: 2 },
    { event: 'progress', request: String(rc.id), done: 1, total: 2, unit: 'copies' },
  ];
  pipeline.receive(responseFrame([...bad.map((body) => [PUSH_ID, Status.OK, body] as [number, number, unknown]), [rc.id, Status.OK, null]]));
  await call;
  t.equal(told, 0);
  t.same(pushes, bad);
});
