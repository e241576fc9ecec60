// Proves every record-model limit answers with its Aerospike code through a real node, and that a
// namespace past stop-writes refuses writes but keeps serving reads and deletes.
import t from 'tap';
import { Key, status } from '../../src/index';
import { rawPeer } from '../helpers/raw';
import { startTestNode } from '../helpers/node';
import { waitFor } from '../helpers/wait';

t.test('record-model limits', async (t) => {
  const { client, url } = await startTestNode(t, (c) => {
    c.namespaces[0].recordBytesMax = 64 * 1024;
  });
  await t.rejects(client.put(new Key('test', 's', 'big'), { v: Buffer.alloc(70 * 1024) }), { code: status.RECORD_TOO_BIG });
  await client.put(new Key('test', 's', 'fits'), { v: Buffer.alloc(60 * 1024) });
  await t.rejects(client.put(new Key('nope', 's', 1), { v: 1 }), { code: status.INVALID_NAMESPACE });
  await t.rejects(client.get(new Key('nope', 's', 1)), { code: status.INVALID_NAMESPACE });

  // The SDK refuses these itself; the node must refuse them too.
  const raw = await rawPeer(url);
  raw.request(1, 2, { ns: 'test', set: 's', key: 'k', bins: { 'sixteen-bytes-xx': 1 } });
  t.equal((await raw.waitFor(1))[1], status.BIN_NAME_TOO_LONG);
  raw.request(2, 2, { ns: 'test', set: 'x'.repeat(64), key: 'k', bins: { a: 1 } });
  t.equal((await raw.waitFor(2))[1], status.PARAMETER, 'set name over 63 bytes');
  raw.request(3, 2, { ns: 'test', set: 's', key: '', bins: { a: 1 } });
  t.equal((await raw.waitFor(3))[1], status.PARAMETER, 'empty key');
  raw.request(4, 2, { ns: 'test', set: 's', key: 1.5, bins: { a: 1 } });
  t.equal((await raw.waitFor(4))[1], status.PARAMETER, 'float key');
  raw.request(5, 2, { ns: 'test', set: 's', key: 'k', bins: {} });
  t.equal((await raw.waitFor(5))[1], status.PARAMETER, 'no bins');
  raw.request(6, 2, { ns: 'test', set: 's', key: 'k', bins: { a: 1 }, ttl: 'soon' });
  t.equal((await raw.waitFor(6))[1], status.PARAMETER, 'ttl of the wrong type');
  raw.request(7, 2, { ns: 'test', set: 's', key: 'k', bins: { a: 1 }, polcy: 1 });
  t.equal((await raw.waitFor(7))[1], status.PARAMETER, 'misspelt field');
  raw.request(8, 3, { ns: 'test', set: 's', digest: Buffer.alloc(19) });
  t.equal((await raw.waitFor(8))[1], status.PARAMETER, 'short digest');
  raw.request(9, 3, { ns: 'test', set: 's' });
  t.equal((await raw.waitFor(9))[1], status.PARAMETER, 'no key');
  raw.request(10, 3, { ns: 'test', set: 's', key: 'k', digest: Buffer.alloc(20) });
  t.equal((await raw.waitFor(10))[1], status.PARAMETER, 'key and digest disagree');
  raw.ws.close();
});

t.test('stop-writes refuses writes, serves reads and deletes', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.namespaces[0].memoryBytesMax = 64 * 1024 * 1024;
    c.namespaces[0].stopWritesPct = 50;
  });
  const value = Buffer.alloc(8000, 1);
  let written = 0;
  let refused = 0;
  for (let i = 0; i < 10_000 && refused === 0; i++) {
    try {
      await client.put(new Key('test', 'fill', i), { v: value });
      written++;
    } catch (err) {
      t.equal((err as { code: number }).code, status.SERVER_MEM);
      refused++;
    }
  }
  t.ok(written > 100, `wrote ${written} before stop-writes`);
  t.equal(refused, 1);
  t.same((await client.get(new Key('test', 'fill', 0))).bins.v, value, 'reads still work');
  await client.remove(new Key('test', 'fill', 0));
  t.equal(await client.exists(new Key('test', 'fill', 0)), null, 'deletes still work');
  // INFO's namespace figures are published by the workers every few tens of milliseconds.
  const stopWrites = async () => ((await client.info()).namespaces as { stopWrites: boolean }[])[0].stopWrites;
  t.equal(await waitFor(stopWrites, { what: 'INFO to report stop-writes', timeoutMs: 10_000, intervalMs: 20 }), true, 'info reports stop-writes');
});
