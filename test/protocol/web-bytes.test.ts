// Proves the msgpack Writer, Reader and the digest give the same bytes and values without Node's
// Buffer (the path browsers, Deno and edge runtimes take through src/bytes.ts) as with it.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Status } from '../../src/errors';
import { computeDigest } from '../../src/partition/digest';
import { Writer } from '../../src/protocol/writer';
import { digestInputs, samples } from './helpers/web-samples';

t.test('without Buffer the codec and digests match the Buffer path byte for byte', async (t) => {
  const output = execFileSync(process.execPath, [path.join(__dirname, 'helpers', 'web-codec.js')], { encoding: 'utf8', timeout: 60_000 });
  const web = JSON.parse(output) as { usesNodeBuffer: boolean; encoded: string[]; roundTrips: boolean[]; invalidUtf8Code: number | null; digests: string[] };
  t.equal(web.usesNodeBuffer, false, 'the child really ran without Buffer');
  const writer = new Writer(1 << 20, 16);
  const expected = samples().map((value) => {
    writer.reset();
    writer.writeValue(value);
    return Buffer.from(writer.bytes()).toString('hex');
  });
  t.same(web.encoded, expected, 'every sample encodes to the same bytes');
  t.same(
    web.roundTrips,
    expected.map(() => true),
    'every sample decodes back to itself',
  );
  t.equal(web.invalidUtf8Code, Status.PARAMETER, 'invalid UTF-8 is refused');
  t.same(
    web.digests,
    digestInputs().map(([set, key]) => computeDigest(set, key).toString('hex')),
    'digests match',
  );
});
