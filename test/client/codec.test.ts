// Proves request frames decode with the server's Reader to exactly [id, op, body] messages and
// that response frames decode to the values the server encoded, int64 and Maps included.
import t from 'tap';
import { decodeResponses, encodeBody, encodeFrame, FrameBuilder, FRAME_BYTES_TARGET } from '../../src/client/codec';
import { REQUESTS_PER_FRAME_MAX } from '../../src/constants';
import { Status } from '../../src/errors';
import { Op } from '../../src/protocol/ops';
import { decodeRequests, responseFrame } from '../helpers/frames';

t.test('request frames', async (t) => {
  const body = { ns: 'test', set: 'demo', key: 2n ** 62n, bins: { a: 1, b: 'x', c: [1.5, null], d: new Map([[1, 'one']]) } };
  const frame = encodeFrame([
    [1, Op.PUT, body],
    [2, Op.PING, null],
  ]);
  t.same(decodeRequests(frame), [
    { id: 1, op: Op.PUT, body },
    { id: 2, op: Op.PING, body: null },
  ]);
  t.same(decodeRequests(encodeFrame([])), []);
});

t.test('bodies that msgpack cannot carry fail with PARAMETER', async (t) => {
  for (const bad of [{ a: undefined }, { a: () => 1 }, { a: Symbol('s') }, { a: new Date() }, { a: 2n ** 64n }, { a: new Set() }]) {
    t.throws(() => encodeBody(bad), { code: Status.PARAMETER });
  }
  const deep: unknown[] = [];
  let at = deep;
  for (let depth = 0; depth < 100; depth++) at.push((at = []));
  t.throws(() => encodeBody({ bins: { deep } }), { code: Status.PARAMETER }, 'nesting is bounded');
});

t.test('the frame builder splits at the request and byte caps', async (t) => {
  const builder = new FrameBuilder();
  const small = encodeBody({ ns: 'test' });
  t.equal(builder.isFullFor(small.length), false, 'an empty frame takes anything');
  for (let id = 1; id <= REQUESTS_PER_FRAME_MAX; id++) builder.add(id, Op.GET, small);
  t.equal(builder.isFullFor(small.length), true);
  const frame = builder.finish();
  t.equal(decodeRequests(frame).length, REQUESTS_PER_FRAME_MAX);
  t.equal(builder.count, 0, 'finish starts a new frame');
  builder.add(1, Op.PUT, encodeBody({ blob: Buffer.alloc(FRAME_BYTES_TARGET - 100) }));
  t.equal(builder.isFullFor(200), true, 'past the byte target');
  t.equal(builder.isFullFor(10), false);
});

t.test('response frames', async (t) => {
  const answers: unknown[] = [];
  const frame = responseFrame([
    [7, Status.OK, { gen: 1, ttl: -1, bins: { big: 2n ** 60n, m: new Map([[5, 'five']]), b: Buffer.from('hi') } }],
    [8, Status.KEY_NOT_FOUND, { message: 'not here' }],
    [4294967295, Status.OK, null],
  ]);
  t.equal(
    decodeResponses(frame, (id, code, body) => answers.push([id, code, body])),
    3,
  );
  t.same(answers, [
    [7, 0, { gen: 1, ttl: -1, bins: { big: 2n ** 60n, m: new Map([[5, 'five']]), b: Buffer.from('hi') } }],
    [8, 2, { message: 'not here' }],
    [4294967295, 0, null],
  ]);
  t.type((answers[0] as [number, number, { bins: { big: unknown } }])[2].bins.big, 'bigint');
});

t.test('malformed response frames fail with PARAMETER', async (t) => {
  const ok = responseFrame([[1, 0, null]]);
  const bad = [
    Buffer.from([0x81, 0xa1, 0x61, 0x01]), // a map, not an array
    Buffer.from([0x91, 0x92, 0x01, 0x00]), // a message of two items
    Buffer.from([0x91, 0x93, 0xff, 0x00, 0xc0]), // negative id
    Buffer.from([0x91, 0x93, 0x01, 0xcf, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0xc0]), // code beyond a number
    Buffer.concat([ok, Buffer.from([0x00])]), // trailing bytes
    ok.subarray(0, ok.length - 1), // truncated
    Buffer.from([0x91, 0x93, 0x01, 0x00, 0xc1]), // reserved byte
  ];
  for (const frame of bad) t.throws(() => decodeResponses(frame, () => {}), { code: Status.PARAMETER }, frame.toString('hex'));
});
