// Child process of web-bytes.test.ts: removes Node's Buffer (and process.getBuiltinModule) before
// loading the codec, so src/bytes.ts takes the path browsers and Deno take, then encodes the
// values the parent sends, decodes its own output again, and computes digests. Prints one JSON
// line: {usesNodeBuffer, encoded: hex[], roundTrips: boolean[], invalidUtf8Code, digests: hex[]}.
Reflect.deleteProperty(globalThis, 'Buffer');
(process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined;

/* eslint-disable @typescript-eslint/no-require-imports -- loaded only after Buffer is gone */
const bytes = require('../../../src/bytes') as typeof import('../../../src/bytes');
const { Writer } = require('../../../src/protocol/writer') as typeof import('../../../src/protocol/writer');
const { Reader } = require('../../../src/protocol/reader') as typeof import('../../../src/protocol/reader');
const { computeDigestInto } = require('../../../src/partition/digest') as typeof import('../../../src/partition/digest');
const { isDeepStrictEqual } = require('node:util') as typeof import('node:util');
const { samples, digestInputs } = require('./web-samples') as typeof import('./web-samples');

const writer = new Writer(1 << 20, 16);
const encoded: string[] = [];
const roundTrips: boolean[] = [];
for (const value of samples()) {
  writer.reset();
  writer.writeValue(value);
  const copy = writer.copy();
  encoded.push(bytes.toHex(copy));
  const back = new Reader(copy).readValue();
  roundTrips.push(isDeepStrictEqual(back, value) || (value instanceof Uint8Array && isDeepStrictEqual(new Uint8Array(back as Uint8Array), value)));
}
let invalidUtf8Code: number | null = null;
try {
  new Reader(Uint8Array.from([0xa2, 0xc3, 0x28])).readValue(); // a 2-byte string that is not UTF-8
} catch (error) {
  invalidUtf8Code = (error as { code?: number }).code ?? null;
}
const digests = digestInputs().map(([set, key]) => {
  const out = new Uint8Array(20);
  computeDigestInto(set, key, out, 0);
  return bytes.toHex(out);
});
process.stdout.write(`${JSON.stringify({ usesNodeBuffer: bytes.usesNodeBuffer, encoded, roundTrips, invalidUtf8Code, digests })}\n`);
