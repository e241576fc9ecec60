// Proves the CLI's text output: values with bigints, bytes and Maps, strict JSON for --json,
// aligned tables, sizes, durations and the one-line error form.
import t from 'tap';
import { formatBytes, formatDurationMs, formatError, formatTable, formatTtl, formatValue, toJson } from '../../src/cli/format';
import { AerieError, Status } from '../../src/errors';

t.test('values', async (t) => {
  t.equal(
    formatValue({ a: 1, big: 2n ** 62n, b: Buffer.from([1, 255]), m: new Map([[1, 'x']]), l: [], o: {} }, -1),
    '{"a": 1, "big": 4611686018427387904, "b": <bytes 01ff>, "m": {1: "x"}, "l": [], "o": {}}',
  );
  t.equal(formatValue({ a: [1, null] }), '{\n  "a": [\n    1,\n    null\n  ]\n}');
  t.equal(formatValue('s"q'), '"s\\"q"');
  t.equal(formatValue(NaN), '"NaN"');
  t.equal(formatValue(undefined), 'null');
});

t.test('strict JSON', async (t) => {
  const json = toJson({ big: 2n ** 62n, b: Buffer.from('hi'), m: new Map<unknown, unknown>([[1, { x: [true] }]]), n: Infinity, e: [] });
  t.same(JSON.parse(json), { big: 2 ** 62, b: '6869', m: { 1: { x: [true] } }, n: null, e: [] });
  t.match(json, /"big": 4611686018427387904\b/, 'bigint digits kept exactly');
});

t.test('tables', async (t) => {
  t.equal(
    formatTable(
      ['NAME', 'N'],
      [
        ['a', 1],
        ['long-name', 100],
      ],
    ),
    'NAME         N\na            1\nlong-name  100',
  );
  t.equal(formatTable(['X', 'Y'], [['-', 'y']], ['left', 'right']), 'X  Y\n-  y');
  t.equal(formatTable(['ONLY'], []), 'ONLY');
});

t.test('sizes, durations, ttl', async (t) => {
  t.equal(formatBytes(512), '512 B');
  t.equal(formatBytes(1536), '1.5 KiB');
  t.equal(formatBytes(4 * 1024 ** 3), '4.0 GiB');
  t.equal(formatBytes('x'), '-');
  t.equal(formatDurationMs(250), '250ms');
  t.equal(formatDurationMs(61_000), '1m 1s');
  t.equal(formatDurationMs(3_723_000), '1h 2m 3s');
  t.equal(formatDurationMs(90_000_000), '1d 1h 0m');
  t.equal(formatDurationMs(-1), '-');
  t.equal(formatTtl(-1), 'never');
  t.equal(formatTtl(30), '30s');
  t.equal(formatTtl(undefined), '-');
});

t.test('errors', async (t) => {
  t.equal(formatError(new AerieError(Status.KEY_NOT_FOUND)), 'error 2 KEY_NOT_FOUND');
  t.equal(formatError(new AerieError(Status.PARAMETER, 'bad bin')), 'error 4 PARAMETER: bad bin');
  t.equal(formatError(new AerieError(Status.TIMEOUT_CLIENT, 'late', true)), 'error -9 TIMEOUT_CLIENT: late (in doubt: the write may have been applied)');
  t.equal(formatError(new Error('plain')), 'error -1 CLIENT_ERROR: plain');
  t.equal(formatError('text'), 'error -1 CLIENT_ERROR: text');
});
