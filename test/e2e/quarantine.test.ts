// Proves that a request that kills the worker applying it (here a bin-selecting GET that decodes
// a record too big for the worker's heap) is quarantined: sent again, it is refused with
// FAIL_FORBIDDEN and its connection closed, instead of killing the next worker, while other
// clients are served. Both ways a worker applies a request: from its ring (sent through the
// front) and on its own endpoint (a partition-routed client; the worker's queue, as a file
// namespace's reads wait for the group commit there).
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key, status } from '../../src/index';
import { connect, type ClientOptions } from '../../src/client/index';
import type { NodeConfig } from '../../src/config';
import { startTestNode } from '../helpers/node';

/** Empty lists take 1 byte each stored, and far more once decoded: a record a small heap cannot read. */
const ELEMENTS = 7_000_000;

const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-quarantine-')), 'data');
t.teardown(() => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));
const fileNamespace = (heapMbMax: number) => (c: NodeConfig) => {
  c.namespaces[0].storage = 'file';
  c.namespaces[0].dataDir = dataDir;
  c.namespaces[0].recordBytesMax = 8 * 1024 * 1024;
  c.namespaces[0].replicationFactor = 1;
  c.workers.heapMbMax = heapMbMax;
};
const k = new Key('test', 'q', 'huge');

t.before(async () => {
  // Written by a node whose workers have room to decode it, through the master worker's own
  // endpoint (the SDK routes by partition): the worker walks the 7-million-element frame on its
  // own thread, beating its heartbeat as it goes (src/protocol/walk-beat.ts).
  await t.test('the poison record is written', async (t) => {
    const writer = await startTestNode(t, fileNamespace(1024));
    await writer.client.put(k, { l: Array.from({ length: ELEMENTS }, () => []) }, undefined, { timeoutMs: 60_000 });
    await writer.client.close();
    await writer.node.close();
  });
});

for (const routing of ['front', 'partition'] as ClientOptions['routing'][]) {
  t.test(`a request that killed its worker is refused when sent again (${routing}-routed)`, async (t) => {
    const { url, node } = await startTestNode(t, fileNamespace(64));
    const probe = await connect({ hosts: new URL(url).host, timeoutMs: 10_000 });
    t.teardown(() => probe.close());
    const victim = node.workers.find((w) => w.index === (k.digest[0] & 1))!;
    const client = await connect({ hosts: new URL(url).host, routing, timeoutMs: 10_000 });
    t.teardown(() => client.close());
    // The first GET kills the worker (its heap cannot hold the decoded record); the SDK sends a
    // read again when its worker died under it (an answer PARTITION_UNAVAILABLE on the front, a
    // lost connection on the worker's endpoint), and that second send is refused.
    await t.rejects(client.get(k, ['l'], { timeoutMs: 30_000 }), { code: status.FAIL_FORBIDDEN });
    t.equal(victim.restarts, 1, 'the worker died once, not again');
    t.match(victim.lastFailure ?? '', /memory/);
    t.equal(node.info().quarantinedRequests, 1, 'one request is quarantined (INFO)');
    // Refused again wherever it is sent, before anything is applied.
    for (const again of ['front', 'partition'] as ClientOptions['routing'][]) {
      const c = await connect({ hosts: new URL(url).host, routing: again, timeoutMs: 10_000 });
      await t.rejects(c.get(k, ['l'], { timeoutMs: 30_000 }), { code: status.FAIL_FORBIDDEN }, `refused sent again ${again}-routed`);
      await c.close();
    }
    t.equal(victim.restarts, 1);
    // Other clients, and other keys, are served.
    const other = new Key('test', 'q', 'small');
    await probe.put(other, { v: 1 });
    t.same((await probe.get(other, ['v'])).bins, { v: 1 });
    t.same((await probe.get(k)).gen, 1, 'the record itself is intact (a GET of all bins copies it without decoding)');
    t.equal(victim.restarts, 1);
  });
}
