// Proves the slice-by-8 CRC32C matches the standard test vectors (RFC 3720), a bit-at-a-time
// reference on seeded random inputs at every alignment, and can be continued across pieces.
import t from 'tap';
import { crc32c } from '../../src/storage/crc32c';
import { Random, testSeed } from '../helpers/values';

function reference(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

t.test('standard vectors', async (t) => {
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  t.equal(crc32c(new Uint8Array(0)), 0);
  t.equal(crc32c(new Uint8Array(32)), 0x8a9136aa, '32 zero bytes');
  t.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43, '32 0xff bytes');
  t.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e, '0..31');
  t.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c, '31..0');
});

t.test('matches the bitwise reference on random ranges, and continues across pieces', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const random = new Random(seed);
  for (let round = 0; round < 300; round++) {
    const bytes = random.bytes(random.below(300));
    const start = random.below(bytes.length + 1);
    const end = start + random.below(bytes.length - start + 1);
    const whole = crc32c(bytes, start, end);
    if (whole !== reference(bytes.subarray(start, end))) {
      t.fail(`range [${start}, ${end}) of ${bytes.length} (seed ${seed})`);
      return;
    }
    const cut = start + random.below(end - start + 1);
    if (crc32c(bytes, cut, end, crc32c(bytes, start, cut)) !== whole) {
      t.fail(`continued at ${cut} (seed ${seed})`);
      return;
    }
  }
  t.pass('300 random ranges');
});

t.test('rejects a range outside the buffer', async (t) => {
  t.throws(() => crc32c(new Uint8Array(4), 2, 5), RangeError);
  t.throws(() => crc32c(new Uint8Array(4), 3, 2), RangeError);
});
