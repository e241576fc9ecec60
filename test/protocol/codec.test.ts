// Proves packValue returns bytes that later calls do not disturb, and unpackValue decodes exactly
// one value from a range, strictly.

import t from 'tap';
import { RECORD_BYTES_CEILING } from '../../src/constants';
import { Status } from '../../src/errors';
import { packValue, unpackValue } from '../../src/protocol/codec';

t.test('a packed value is not overwritten by the next pack', async (t) => {
  const first = packValue({ a: 'first', n: [1, 2, 3] }) as Buffer;
  const firstHex = first.toString('hex');
  for (let i = 0; i < 1000; i++) packValue({ b: 'x'.repeat(i % 100), i });
  t.equal(first.toString('hex'), firstHex);
  t.same(unpackValue(first), { a: 'first', n: [1, 2, 3] });
});

t.test('packValue encodes integers as integers, even beyond 32 bits', async (t) => {
  t.equal(Buffer.from(packValue(2 ** 40)).toString('hex'), 'cf0000010000000000');
  t.equal(Buffer.from(packValue(5n)).toString('hex'), '05');
  t.same(unpackValue(packValue(new Map([[2 ** 40, 'k']]))), new Map([[2 ** 40, 'k']]));
});

t.test('packValue refuses non-values and oversize values', async (t) => {
  t.throws(() => packValue(undefined as never), { code: Status.PARAMETER });
  t.throws(() => packValue(Buffer.alloc(RECORD_BYTES_CEILING)), { code: Status.RECORD_TOO_BIG });
  t.same(unpackValue(packValue('still usable')), 'still usable');
});

t.test('unpackValue decodes a range and rejects leftovers and malformed bytes', async (t) => {
  const frame = Buffer.concat([Buffer.from([0xc1]), packValue([1, 'two']), Buffer.from([0xc1])]);
  t.same(unpackValue(frame, 1, frame.length - 1), [1, 'two']);
  t.throws(() => unpackValue(frame, 1), { code: Status.PARAMETER }, 'a trailing byte');
  t.throws(() => unpackValue(frame, 0, 1), { code: Status.PARAMETER }, 'a reserved byte');
  t.throws(() => unpackValue(frame, 1, 2), { code: Status.PARAMETER }, 'a truncated value');
  t.throws(() => unpackValue(packValue([[[1]]]), 0, undefined, 2), { code: Status.PARAMETER }, 'depthMax');
});
