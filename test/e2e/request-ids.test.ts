// Proves that every request id a client may choose (docs/protocol.md: any uint32 but the push id)
// comes back on its answer from every endpoint: the front and each worker's own, for reads and for
// writes a master worker holds until its replica has them (memory, two copies) or until the group
// commit (a file namespace). Ids past 2^31 once came back from a worker's queue negative, which
// broke the answer frame halfway and killed the worker.
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Op } from '../../src/protocol/ops';
import { Status } from '../../src/errors';
import type { NodeConfig } from '../../src/config';
import { startTestNode } from '../helpers/node';
import { rawPeer, type RawPeer } from '../helpers/raw';

const IDS = [1, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 12_345, 2 ** 32 - 2];
const KEYS = 8;

const configs: [string, (c: NodeConfig, dir: string) => void][] = [
  ['memory, two copies', (c) => (c.namespaces[0].replicationFactor = 2)],
  [
    'file, one copy',
    (c, dir) => {
      c.namespaces[0].storage = 'file';
      c.namespaces[0].dataDir = dir;
      c.namespaces[0].replicationFactor = 1;
    },
  ],
];

for (const [name, patch] of configs) {
  t.test(`request ids over the whole uint32 range come back (${name})`, async (t) => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-ids-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const { node, url } = await startTestNode(t, (c) => patch(c, path.join(dir, 'data')));
    const front = await rawPeer(url);
    const hello = (await front.waitFor(0))[2] as { map: { endpoints: string[] } };
    const peers: [string, RawPeer][] = [['front', front]];
    for (const [i, endpoint] of hello.map.endpoints.entries()) peers.push([`worker ${i}`, await rawPeer(`ws://${endpoint}`)]);
    t.teardown(() => {
      for (const [, p] of peers) p.ws.terminate();
    });
    for (const [where, peer] of peers) {
      for (const [n, id] of IDS.entries()) {
        // Keys of both workers: some served on this endpoint, the rest forwarded to their master.
        for (let k = 0; k < KEYS; k++) {
          const key = { ns: 'test', set: 'ids', key: `${where}-${n}-${k}` };
          peer.request(id, Op.PUT, { ...key, bins: { k } });
          const put = await peer.waitFor(id);
          peer.responses.length = 0;
          t.equal(put[1], Status.OK, `${where}: PUT with id ${id} answered OK under its id`);
          peer.request(id, Op.GET, key);
          const get = await peer.waitFor(id);
          peer.responses.length = 0;
          t.same([get[1], (get[2] as { bins: unknown }).bins], [Status.OK, { k }], `${where}: GET with id ${id}`);
        }
      }
      t.same(peer.malformed, [], `${where}: every answer frame decodes whole`);
    }
    const workers = node.info().workers as { restarts: number }[];
    t.same(
      workers.map((w) => w.restarts),
      workers.map(() => 0),
      'no worker died',
    );
  });
}
