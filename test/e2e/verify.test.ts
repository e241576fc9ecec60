// Proves the verify job (run on the piscina pool against live shared memory) passes a healthy
// store, even under concurrent writes, counts each record once and its copies apart, and reports
// a record whose stored header was corrupted.
import t from 'tap';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Key } from '../../src/index';
import { rawPeer } from '../helpers/raw';
import { startTestNode } from '../helpers/node';
import { partitionOf } from '../../src/partition/digest';
import { IndexTable } from '../../src/shm/index-table';
import { Arena } from '../../src/shm/arena';

const run = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');

interface NsReport {
  name: string;
  records: number;
  copies: number;
  checked: number;
  changing: number;
  problemCount: number;
  problems: { problem: string }[];
}

t.test('verify passes a healthy store and catches a corrupted record', async (t) => {
  const { node, client, url } = await startTestNode(t);
  await Promise.all(Array.from({ length: 2000 }, (_, i) => client.put(new Key('test', 'v', i), { i, s: 'x'.repeat(i % 50) }, undefined, { sendKey: i % 2 === 0 })));
  const peer = await rawPeer(url);
  peer.request(1, 13, { ns: 'test' });
  const healthy = (await peer.waitFor(1, 20_000))[2] as { namespaces: NsReport[] };
  // Every copy is checked: each record has two (master and replica), and is counted once.
  t.equal(healthy.namespaces[0].records, 2000, 'records count each record once');
  t.equal(healthy.namespaces[0].copies, 4000, 'copies count master and replica');
  t.equal(healthy.namespaces[0].checked, 4000);
  t.equal(healthy.namespaces[0].problemCount, 0);

  // Under concurrent writes every record is either checked or reported as changing.
  const writes = Promise.all(Array.from({ length: 2000 }, (_, i) => client.put(new Key('test', 'v', i), { i: i + 1 })));
  peer.request(2, 13, null);
  const busy = (await peer.waitFor(2, 20_000))[2] as { namespaces: NsReport[] };
  await writes;
  t.equal(busy.namespaces[0].problemCount, 0, 'no false alarms while writes go on');

  // Flip a generation byte in one stored record header, behind the worker's back.
  const target = Array.from({ length: 2000 }, (_, i) => new Key('test', 'v', i)).find((k) => partitionOf(k.digest) % 2 === 0)!;
  const w = node.workers[0];
  const index = IndexTable.attach(w.stores[0].indexSab!);
  const loc = index.location(index.find(target.digest, 0));
  const block = new Uint8Array(w.stores[0].blocks[Arena.blockIndexOf(loc)]);
  block[(loc & 0x1fffff) * 8 + 4] ^= 0xff;
  peer.request(3, 13, { ns: 'test' });
  const broken = (await peer.waitFor(3, 20_000))[2] as { namespaces: NsReport[] };
  t.ok(broken.namespaces[0].problemCount >= 1, 'the corrupted record is reported');
  t.match(broken.namespaces[0].problems[0]?.problem ?? '', /generation/);
  // The CLI says the same and exits 1.
  const port = String(new URL(url).port);
  const cli = await run(process.execPath, [CLI, 'verify', '--host', `127.0.0.1:${port}`, '--ns', 'test']).catch((e) => e);
  t.equal(cli.code, 1, 'aerie verify exits 1 when it finds a problem');
  t.match(cli.stdout, /generation/);
  t.match(cli.stdout, /problems found/);
  t.match(cli.stdout, /records +copies/, 'the table shows records and copies apart');
  peer.request(4, 13, { ns: 'nope' });
  t.equal((await peer.waitFor(4))[1], 20);
  peer.ws.close();
});
