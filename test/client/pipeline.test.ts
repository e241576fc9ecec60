// Proves the request pipeline without a socket: same-turn calls share a frame, the in-flight and
// queue caps hold, ids are never reused while outstanding, timeouts and lost connections end each
// call as ok, failed or in doubt, reads are re-sent and writes never are.
import t from 'tap';
import { encodeBody } from '../../src/client/codec';
import { Pipeline, QueueCount, type Reply, type RequestSpec } from '../../src/client/pipeline';
import { REQUESTS_PER_FRAME_MAX } from '../../src/constants';
import { type AerieError, Status } from '../../src/errors';
import { Op, PUSH_ID } from '../../src/protocol/ops';
import { decodeRequests, FakeTransport, nextTurn, responseFrame } from '../helpers/frames';

function spec(overrides: Partial<RequestSpec> = {}): RequestSpec {
  return { op: Op.GET, body: encodeBody({ ns: 'test', key: 'k' }), write: false, timeoutMs: 10_000, maxRetries: 2, ...overrides };
}

function setup(limits = { maxInFlight: 100, maxQueued: 1000 }) {
  let stalled = 0;
  const pushes: Array<[number, unknown]> = [];
  const pipeline = new Pipeline({ ...limits }, { onStalled: () => stalled++, onPush: (code, body) => pushes.push([code, body]) });
  const transport = new FakeTransport();
  return { pipeline, transport, stalledCount: () => stalled, pushes };
}

/** Settles a promise into a plain outcome so tests can compare it. */
function outcome(promise: Promise<Reply>): Promise<{ ok: Reply } | { code: number; inDoubt: boolean }> {
  return promise.then(
    (ok) => ({ ok }),
    (error: AerieError) => ({ code: error.code, inDoubt: error.inDoubt }),
  );
}

t.test('calls in one turn share one frame and answers resolve them', async (t) => {
  const { pipeline, transport } = setup();
  pipeline.attach(transport);
  const a = pipeline.request(spec());
  const b = pipeline.request(spec({ op: Op.PUT, write: true }));
  t.equal(transport.frames.length, 0, 'nothing is sent before the turn ends');
  await nextTurn();
  t.equal(transport.frames.length, 1);
  const [ra, rb] = transport.requests;
  t.same([ra.op, rb.op], [Op.GET, Op.PUT]);
  t.same(ra.body, { ns: 'test', key: 'k' });
  t.not(ra.id, rb.id);
  t.equal(pipeline.inFlightCount, 2);
  pipeline.receive(
    responseFrame([
      [rb.id, Status.OK, { gen: 1, ttl: 5 }],
      [ra.id, Status.KEY_NOT_FOUND, { message: 'nope' }],
    ]),
  );
  t.same(await b, { code: 0, body: { gen: 1, ttl: 5 } });
  await t.rejects(a, { code: Status.KEY_NOT_FOUND, message: 'nope', inDoubt: false });
  t.equal(pipeline.inFlightCount, 0);
});

t.test('acceptCode resolves instead of rejecting', async (t) => {
  const { pipeline, transport } = setup();
  pipeline.attach(transport);
  const call = pipeline.request(spec({ op: Op.EXISTS, acceptCode: Status.KEY_NOT_FOUND }));
  await nextTurn();
  pipeline.receive(responseFrame([[transport.requests[0].id, Status.KEY_NOT_FOUND, null]]));
  t.same(await call, { code: Status.KEY_NOT_FOUND, body: null });
});

t.test('frames split at REQUESTS_PER_FRAME_MAX', async (t) => {
  const { pipeline, transport } = setup({ maxInFlight: 10_000, maxQueued: 10_000 });
  pipeline.attach(transport);
  const calls = Array.from({ length: REQUESTS_PER_FRAME_MAX + 10 }, () => pipeline.request(spec()));
  await nextTurn();
  t.same(
    transport.frames.map((frame) => frame.length),
    [REQUESTS_PER_FRAME_MAX, 10],
  );
  t.equal(new Set(transport.requests.map((r) => r.id)).size, calls.length, 'ids are distinct');
  pipeline.close();
  await Promise.allSettled(calls);
});

t.test('the in-flight cap holds calls back until answers free slots', async (t) => {
  const { pipeline, transport } = setup({ maxInFlight: 2, maxQueued: 10 });
  pipeline.attach(transport);
  const calls = [1, 2, 3, 4, 5].map(() => pipeline.request(spec()));
  await nextTurn();
  t.equal(transport.requests.length, 2);
  t.equal(pipeline.queueLength, 3);
  const [first, second] = transport.requests;
  pipeline.receive(
    responseFrame([
      [first.id, 0, null],
      [second.id, 0, null],
    ]),
  );
  t.equal(transport.requests.length, 4, 'an answer frame flushes the queue at once');
  t.equal(pipeline.inFlightCount, 2);
  for (const request of transport.requests.slice(2)) pipeline.receive(responseFrame([[request.id, 0, null]]));
  pipeline.receive(responseFrame([[transport.requests[4].id, 0, null]]));
  t.equal((await Promise.all(calls)).length, 5);
});

t.test('a full queue fails new calls with CLIENT_QUEUE_FULL', async (t) => {
  const { pipeline } = setup({ maxInFlight: 1, maxQueued: 2 });
  const a = pipeline.request(spec());
  const b = pipeline.request(spec());
  await t.rejects(pipeline.request(spec()), { code: Status.CLIENT_QUEUE_FULL, inDoubt: false });
  pipeline.close();
  t.same(await Promise.all([outcome(a), outcome(b)]), [
    { code: Status.SERVER_NOT_AVAILABLE, inDoubt: false },
    { code: Status.SERVER_NOT_AVAILABLE, inDoubt: false },
  ]);
  await t.rejects(pipeline.request(spec()), { code: Status.SERVER_NOT_AVAILABLE }, 'closed pipelines take nothing');
});

t.test('timeouts: reads fail, sent writes are in doubt, unsent calls are not', async (t) => {
  const { pipeline, transport } = setup({ maxInFlight: 2, maxQueued: 10 });
  pipeline.attach(transport);
  const read = outcome(pipeline.request(spec({ timeoutMs: 20 })));
  const write = outcome(pipeline.request(spec({ op: Op.PUT, write: true, timeoutMs: 20 })));
  const queuedWrite = outcome(pipeline.request(spec({ op: Op.PUT, write: true, timeoutMs: 20 })));
  t.same(await read, { code: Status.TIMEOUT_CLIENT, inDoubt: false });
  t.same(await write, { code: Status.TIMEOUT_CLIENT, inDoubt: true });
  t.same(await queuedWrite, { code: Status.TIMEOUT_CLIENT, inDoubt: false }, 'never sent: not in doubt');
  t.equal(transport.requests.length, 2);
  t.equal(pipeline.inFlightCount, 2, 'timed-out ids stay taken until answered');
  const later = pipeline.request(spec());
  await nextTurn();
  t.equal(transport.requests.length, 2, 'the server still holds them, so nothing more is sent');
  pipeline.receive(responseFrame([[transport.requests[0].id, 0, null]]));
  t.equal(transport.requests.length, 3, 'a late answer frees its slot');
  pipeline.receive(responseFrame([[transport.requests[2].id, 0, 'late is fine']]));
  t.same(await later, { code: 0, body: 'late is fine' });
});

t.test('a queued call that times out while disconnected had no server', async (t) => {
  const { pipeline } = setup();
  t.same(await outcome(pipeline.request(spec({ timeoutMs: 10 }))), { code: Status.SERVER_NOT_AVAILABLE, inDoubt: false });
});

t.test('half the slots held by timed-out requests reports a stall', async (t) => {
  const { pipeline, transport, stalledCount } = setup({ maxInFlight: 4, maxQueued: 10 });
  pipeline.attach(transport);
  const calls = [1, 2].map(() => outcome(pipeline.request(spec({ timeoutMs: 10 }))));
  await Promise.all(calls);
  t.equal(stalledCount(), 1);
  pipeline.detach();
  t.equal(pipeline.inFlightCount, 0, 'a lost connection frees every id');
});

t.test('a lost connection: writes in doubt, reads re-sent first, queued calls kept', async (t) => {
  const { pipeline, transport } = setup({ maxInFlight: 2, maxQueued: 10 });
  pipeline.attach(transport);
  const read = pipeline.request(spec({ body: encodeBody('read') }));
  const write = outcome(pipeline.request(spec({ op: Op.PUT, write: true })));
  const queued = pipeline.request(spec({ body: encodeBody('queued') }));
  await nextTurn();
  t.equal(transport.requests.length, 2);
  pipeline.detach();
  t.same(await write, { code: Status.CONNECTION_CLOSED, inDoubt: true });
  t.equal(pipeline.queueLength, 2);
  const next = new FakeTransport();
  pipeline.attach(next);
  await nextTurn();
  t.same(
    next.requests.map((r) => r.body),
    ['read', 'queued'],
    'the re-sent read goes before the queued call',
  );
  t.equal(next.requests[0].op, Op.GET);
  pipeline.receive(responseFrame([[next.requests[0].id, 0, 'r']]));
  pipeline.receive(responseFrame([[next.requests[1].id, 0, 'q']]));
  t.same((await read).body, 'r');
  t.same((await queued).body, 'q');
});

t.test('reads give up after maxRetries re-sends', async (t) => {
  const { pipeline } = setup();
  const read = outcome(pipeline.request(spec({ maxRetries: 1 })));
  for (let connection = 0; connection < 2; connection++) {
    pipeline.attach(new FakeTransport());
    await nextTurn();
    t.equal(pipeline.inFlightCount, 1, `sent on connection ${connection}`);
    pipeline.detach();
  }
  t.same(await read, { code: Status.MAX_RETRIES_EXCEEDED, inDoubt: false });
});

t.test('close: sent calls end CONNECTION_CLOSED (writes in doubt), queued ones SERVER_NOT_AVAILABLE', async (t) => {
  const { pipeline, transport } = setup({ maxInFlight: 2, maxQueued: 10 });
  pipeline.attach(transport);
  const calls = [outcome(pipeline.request(spec())), outcome(pipeline.request(spec({ op: Op.PUT, write: true }))), outcome(pipeline.request(spec({ op: Op.PUT, write: true })))];
  await nextTurn();
  pipeline.close();
  t.same(await Promise.all(calls), [
    { code: Status.CONNECTION_CLOSED, inDoubt: false },
    { code: Status.CONNECTION_CLOSED, inDoubt: true },
    { code: Status.SERVER_NOT_AVAILABLE, inDoubt: false },
  ]);
});

t.test('answers for unknown ids are ignored', async (t) => {
  const { pipeline, transport } = setup();
  pipeline.attach(transport);
  const call = pipeline.request(spec());
  await nextTurn();
  pipeline.receive(responseFrame([[999_999, 0, 'stray']]));
  pipeline.receive(responseFrame([[transport.requests[0].id, 0, 'mine']]));
  t.same((await call).body, 'mine');
});

t.test('malformed frames throw so the connection can be dropped', async (t) => {
  const { pipeline } = setup();
  t.throws(() => pipeline.receive(Buffer.from([0xc1])), { code: Status.PARAMETER });
});

t.test('ids wrap around uint32, skip 0 and never reuse one in flight', async (t) => {
  const { pipeline, transport } = setup({ maxInFlight: 8, maxQueued: 100 });
  (pipeline as unknown as { lastId: number }).lastId = 0xffff_fffd;
  pipeline.attach(transport);
  const held = pipeline.request(spec()); // takes 0xfffffffe and stays in flight
  await nextTurn();
  const heldId = transport.requests[0].id;
  t.equal(heldId, 0xffff_fffe);
  const seen: number[] = [];
  for (let round = 0; round < 20; round++) {
    const call = pipeline.request(spec());
    await nextTurn();
    const { id } = transport.requests.at(-1)!;
    seen.push(id);
    pipeline.receive(responseFrame([[id, 0, null]]));
    await call;
    // Force the counter back near the held id so the allocator must step over it.
    if (round === 10) (pipeline as unknown as { lastId: number }).lastId = heldId - 1;
  }
  t.equal(seen[0], 1, 'wraps past PUSH_ID and 0, which the server and HELLO own');
  t.notOk(seen.includes(0));
  t.notOk(seen.includes(PUSH_ID));
  t.notOk(seen.includes(heldId), 'the id still in flight is skipped');
  pipeline.receive(responseFrame([[heldId, 0, 'held']]));
  t.same((await held).body, 'held');
});

t.test('server pushes go to the hook, not to a call', async (t) => {
  const { pipeline, transport, pushes } = setup();
  pipeline.attach(transport);
  const call = pipeline.request(spec());
  await nextTurn();
  pipeline.receive(
    responseFrame([
      [PUSH_ID, 0, { event: 'goaway', reason: 'bye' }],
      [transport.requests[0].id, 0, 'answer'],
    ]),
  );
  t.same(pushes, [[0, { event: 'goaway', reason: 'bye' }]]);
  t.same((await call).body, 'answer');
});

t.test('drain: nothing new is sent, answers in flight still arrive, DRAINED is asked for', async (t) => {
  const { pipeline, transport } = setup({ maxInFlight: 1, maxQueued: 10 });
  pipeline.attach(transport);
  const write = pipeline.request(spec({ op: Op.PUT, write: true }));
  const queued = pipeline.request(spec({ body: encodeBody('queued') }));
  await nextTurn();
  const drained = decodeRequests(pipeline.drain());
  t.equal(drained.length, 1);
  t.equal(drained[0].op, Op.DRAINED);
  t.equal(drained[0].body, null);
  t.not(drained[0].id, transport.requests[0].id);
  pipeline.receive(responseFrame([[transport.requests[0].id, 0, { gen: 1, ttl: -1 }]]));
  await nextTurn();
  t.same((await write).body, { gen: 1, ttl: -1 }, 'answered on the draining connection, not in doubt');
  t.equal(transport.requests.length, 1, 'the queued call waits for the next connection');
  pipeline.receive(responseFrame([[drained[0].id, 0, null]]));
  t.equal(pipeline.inFlightCount, 0);
  pipeline.detach();
  const next = new FakeTransport();
  pipeline.attach(next);
  await nextTurn();
  t.same(
    next.requests.map((r) => r.body),
    ['queued'],
  );
  pipeline.receive(responseFrame([[next.requests[0].id, 0, 'q']]));
  t.same((await queued).body, 'q');
});

t.test('reads a draining node refused are sent again on the next connection; writes fail definitely', async (t) => {
  const { pipeline, transport } = setup();
  pipeline.attach(transport);
  const calls = ['w1', 'w2', 'r3'].map((body, i) => outcome(pipeline.request(spec({ body: encodeBody(body), write: i < 2, op: i < 2 ? Op.PUT : Op.GET, maxRetries: i < 2 ? 0 : 2 }))));
  await nextTurn();
  const [w1, w2, r3] = transport.requests;
  pipeline.receive(responseFrame([[w1.id, Status.PARTITION_UNAVAILABLE, { message: 'not draining yet' }]]));
  pipeline.drain();
  pipeline.receive(
    responseFrame([
      [w2.id, Status.PARTITION_UNAVAILABLE, null],
      [r3.id, Status.PARTITION_UNAVAILABLE, null],
    ]),
  );
  pipeline.detach();
  const next = new FakeTransport();
  pipeline.attach(next);
  await nextTurn();
  t.same(
    next.requests.map((r) => r.body),
    ['r3'],
    'only the refused read goes again',
  );
  pipeline.receive(responseFrame([[next.requests[0].id, 0, 'read']]));
  t.same(
    await Promise.all(calls),
    [{ code: Status.PARTITION_UNAVAILABLE, inDoubt: false }, { code: Status.PARTITION_UNAVAILABLE, inDoubt: false }, { ok: { code: 0, body: 'read' } }],
    'refused writes fail definitely (never in doubt, never retried)',
  );
});

t.test("handOver: a lost connection's unsent calls and waiting reads move to another pipeline; writes sent on it stay in doubt", async (t) => {
  const queued = new QueueCount();
  const hooks = { onStalled: () => undefined, onPush: () => undefined };
  const lane = new Pipeline({ maxInFlight: 2, maxQueued: 4 }, hooks, queued);
  const front = new Pipeline({ maxInFlight: 100, maxQueued: 4 }, hooks, queued);
  const laneTransport = new FakeTransport();
  lane.attach(laneTransport);
  const sentRead = lane.request(spec({ body: encodeBody('sent read') }));
  const refusedRead = lane.request(spec({ body: encodeBody('refused read') }));
  await nextTurn();
  const [, refused] = laneTransport.requests;
  // The node answered 11: the read waits out a short delay before it is sent again.
  lane.receive(responseFrame([[refused.id, Status.PARTITION_UNAVAILABLE, null]]));
  const sentWrite = outcome(lane.request(spec({ op: Op.PUT, write: true, body: encodeBody('sent write') })));
  await nextTurn();
  const unsent = lane.request(spec({ body: encodeBody('unsent') }));
  const unsentWrite = lane.request(spec({ op: Op.PUT, write: true, body: encodeBody('unsent write') }));
  t.equal(queued.value, 2, 'the shared count holds what the lane queued');
  lane.detach();
  t.same(await sentWrite, { code: Status.CONNECTION_CLOSED, inDoubt: true }, 'a write sent on the lost connection is in doubt');
  lane.handOver(front);
  t.equal(lane.queueLength, 0, 'nothing left on the lost connection');
  t.equal(queued.value, front.queueLength, 'the shared count follows the calls');
  const frontTransport = new FakeTransport();
  front.attach(frontTransport);
  await nextTurn();
  const bodies = frontTransport.requests.map((r) => r.body);
  t.same(bodies.slice().sort(), ['refused read', 'sent read', 'unsent', 'unsent write'].sort(), 'each moved call sent once on the front, the sent write not again');
  front.receive(responseFrame(frontTransport.requests.map((r) => [r.id, 0, r.body] as const)));
  t.same(await Promise.all([sentRead, refusedRead, unsent, unsentWrite].map(async (p) => (await p).body)), ['sent read', 'refused read', 'unsent', 'unsent write']);
  t.equal(queued.value, 0);
});

t.test('one QueueCount bounds the queues of every pipeline sharing it', async (t) => {
  const queued = new QueueCount();
  const hooks = { onStalled: () => undefined, onPush: () => undefined };
  const a = new Pipeline({ maxInFlight: 1, maxQueued: 2 }, hooks, queued);
  const b = new Pipeline({ maxInFlight: 1, maxQueued: 2 }, hooks, queued);
  void a.request(spec()).catch(() => undefined);
  void b.request(spec()).catch(() => undefined);
  t.same(await outcome(b.request(spec())), { code: Status.CLIENT_QUEUE_FULL, inDoubt: false }, 'two queued over both pipelines: full');
  a.close();
  b.close();
  t.equal(queued.value, 0, 'closing releases the count');
});
