// Proves that a request that kills the worker applying it (here a bin-selecting GET that decodes
// a record too big for the worker's heap) is quarantined: sent again, it is refused with
// FAIL_FORBIDDEN and its connection closed, instead of killing the next worker, while other
// clients are served.
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key, status } from '../../src/index';
import { connect } from '../../src/client/index';
import type { NodeConfig } from '../../src/config';
import { startTestNode } from '../helpers/node';

/** Empty lists take 1 byte each stored, and far more once decoded: a record a small heap cannot read. */
const ELEMENTS = 7_000_000;

t.test('a request that killed its worker is refused when sent again', async (t) => {
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
  // Written by a node whose workers have room to decode it, through the master worker's own
  // endpoint (the SDK routes by partition): the worker walks the 7-million-element frame on its
  // own thread, beating its heartbeat as it goes (src/protocol/walk-beat.ts).
  const writer = await startTestNode(t, fileNamespace(1024));
  await writer.client.put(k, { l: Array.from({ length: ELEMENTS }, () => []) }, undefined, { timeoutMs: 60_000 });
  await writer.client.close();
  await writer.node.close();

  const { url, node } = await startTestNode(t, fileNamespace(64));
  const probe = await connect({ hosts: new URL(url).host, timeoutMs: 10_000 });
  t.teardown(() => probe.close());
  const victim = node.workers.find((w) => w.index === (k.digest[0] & 1))!;
  // Through the front, where the request is applied from the worker's ring: a request that kills
  // a worker while its own endpoint serves it is not quarantined (src/worker/local-requests.ts).
  const front = await connect({ hosts: new URL(url).host, routing: 'front', timeoutMs: 10_000 });
  t.teardown(() => front.close());
  // The first GET kills the worker (its heap cannot hold the decoded record); the SDK retries a
  // read that met a dead worker, and that second send is refused.
  await t.rejects(front.get(k, ['l'], { timeoutMs: 30_000 }), { code: status.FAIL_FORBIDDEN });
  t.equal(victim.restarts, 1, 'the worker died once, not again');
  t.match(victim.lastFailure ?? '', /memory/);
  // Other clients, and other keys, are served.
  const other = new Key('test', 'q', 'small');
  await probe.put(other, { v: 1 });
  t.same((await probe.get(other, ['v'])).bins, { v: 1 });
  t.same((await probe.get(k)).gen, 1, 'the record itself is intact (a GET of all bins copies it without decoding)');
  t.equal(victim.restarts, 1);
});
