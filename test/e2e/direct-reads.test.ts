// Proves GET and EXISTS answered by the primary from shared memory (service.directReads): they
// (and batch elements) are counted in INFO, see every acknowledged write, never see a record half written while writes
// race them, honour expiry, fall back to the worker for bin selection, and are never used for a
// file namespace (a read there must wait for the group commit). Direct reads are the front's: the
// client sends every call there (routing 'front'), as a client that does not route does.
import t from 'tap';
import type { Test } from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect, Key, status } from '../../src/index';
import type { Client } from '../../src/client/index';
import { sleep, startTestNode } from '../helpers/node';

/** A client of the node's front only: direct reads are the front's. */
async function frontClient(t: Test, url: string): Promise<Client> {
  const client = await connect({ hosts: new URL(url).host, timeoutMs: 10_000, routing: 'front' });
  t.teardown(() => client.close());
  return client;
}

const directReads = async (client: Client) => ((await client.info()).workers as { directReads: number }[]).reduce((a, w) => a + w.directReads, 0);

t.test('memory namespace reads come from shared memory and stay consistent under writes', async (t) => {
  const client = await frontClient(t, (await startTestNode(t)).url);
  const keys = Array.from({ length: 50 }, (_, i) => new Key('test', 'd', i));
  await Promise.all(keys.map((k) => client.put(k, { a: 0, b: 0, s: '' })));
  const before = await directReads(client);
  t.same((await client.get(keys[0])).bins, { a: 0, b: 0, s: '' });
  t.equal((await client.exists(keys[1]))?.gen, 1);
  await t.rejects(client.get(new Key('test', 'd', 'absent')), { code: status.KEY_NOT_FOUND });
  t.equal(await directReads(client), before + 3, 'answered by the primary');
  t.same((await client.get(keys[0], ['a'])).bins, { a: 0 }, 'bin selection still works (through the worker)');
  const batchBefore = await directReads(client);
  const batch = await client.batchGet([keys[0], new Key('test', 'd', 'absent'), keys[1]]);
  t.same(
    batch.map((r) => r?.bins ?? null),
    [{ a: 0, b: 0, s: '' }, null, { a: 0, b: 0, s: '' }],
    'a batch, with a missing key',
  );
  t.same(
    (await client.batchExists([keys[2], new Key('test', 'd', 'absent')])).map((r) => r?.gen ?? null),
    [1, null],
  );
  t.equal(await directReads(client), batchBefore + 5, 'batch elements answered by the primary too');
  t.same((await client.batchGet([keys[3]], ['b']))[0]?.bins, { b: 0 }, 'a batch selecting bins goes through the workers');

  // Writers keep a + b = 0 and grow s; readers must never see a record mixing two versions, and
  // never an older version than one acknowledged before the read was sent.
  const acked = new Array<number>(keys.length).fill(0);
  let running = true;
  const problems: string[] = [];
  const writers = Array.from({ length: 8 }, (_, w) =>
    (async () => {
      for (let n = 1; running; n++) {
        const i = (w + n * 8) % keys.length;
        const v = acked[i] + 1;
        await client.put(keys[i], { a: v, b: -v, s: 'x'.repeat(v % 300) });
        if (v > acked[i]) acked[i] = v;
      }
    })(),
  );
  const readers = Array.from({ length: 8 }, (_, r) =>
    (async () => {
      for (let n = 0; running; n++) {
        const i = (r + n) % keys.length;
        const floor = acked[i];
        const got = (await client.get(keys[i])).bins as { a: number; b: number; s: string };
        if (got.a + got.b !== 0 || got.s.length !== got.a % 300) problems.push(`key ${i}: torn ${JSON.stringify(got).slice(0, 80)}`);
        if (got.a < floor) problems.push(`key ${i}: read ${got.a} after ${floor} was acknowledged`);
      }
    })(),
  );
  await sleep(1500);
  running = false;
  await Promise.all([...writers, ...readers]);
  t.same(problems.slice(0, 5), [], 'no torn or stale read');
  t.ok(acked.reduce((a, b) => a + b, 0) > 100, 'writes went on meanwhile');

  await client.put(keys[2], { v: 1 }, { ttl: 1 });
  await sleep(2100); // the clock past the void-time (TTL 1 s rounds up to at most 2 s) is the condition itself
  await t.rejects(client.get(keys[2]), { code: status.KEY_NOT_FOUND }, 'an expired record is invisible at once');
});

t.test('file namespace reads always go through the worker', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-direct-')), 'data');
  const { url } = await startTestNode(t, (c) => {
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = dataDir;
  });
  const client = await frontClient(t, url);
  const k = new Key('test', 'f', 1);
  await client.put(k, { v: 1 });
  t.same((await client.get(k)).bins, { v: 1 });
  t.equal(await directReads(client), 0, 'none answered from memory');
});

t.test('directReads off: every read through the worker', async (t) => {
  const client = await frontClient(t, (await startTestNode(t, (c) => (c.service.directReads = false))).url);
  const k = new Key('test', 'o', 1);
  await client.put(k, { v: 1 });
  t.same((await client.get(k)).bins, { v: 1 });
  t.equal(await directReads(client), 0);
});
