// Proves verify-and-repair through a real node: records damaged in shared memory behind the
// workers' backs (a header field, the bins, the header's digest) are found by verify and, in a
// file namespace, rewritten from their newest durable version — the base snapshot or the log —
// so reads return the acknowledged values again, a second verify is clean and a restart agrees.
// A memory namespace's damage is reported as unrepairable and left alone.
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Key } from '../../src/index';
import type { AerieNode } from '../../src/primary/node';
import type { NodeConfig } from '../../src/config';
import { partitionOf } from '../../src/partition/digest';
import { IndexTable } from '../../src/shm/index-table';
import { Arena } from '../../src/shm/arena';
import { startTestNode } from '../helpers/node';

const run = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');

interface NsReport {
  problemCount: number;
  problems: { problem: string }[];
  repair?: { repaired: number; removed: number; skipped: number; unrepairable: number; notAttempted: number; outcomes: { outcome: string; detail: string }[] };
}

/** The bytes of `key`'s stored record, in its worker's arena block (the test's scalpel). */
function recordBytes(node: AerieNode, key: Key): { block: Uint8Array; offset: number } {
  const w = node.workers[partitionOf(key.digest) % node.workers.length];
  const index = IndexTable.attach(w.stores[0].indexSab!);
  const loc = index.location(index.find(key.digest, 0));
  return { block: new Uint8Array(w.stores[0].blocks[Arena.blockIndexOf(loc)]), offset: (loc & 0x1fffff) * 8 };
}

/** Three kinds of damage: a header generation, the bins' msgpack, the header's digest. */
function damage(node: AerieNode, keys: Key[]): void {
  const [a, b, c] = keys.map((k) => recordBytes(node, k));
  a.block[a.offset + 4] ^= 0xff;
  const binsAt = b.offset + 48 + new DataView(b.block.buffer).getUint32(b.offset + 40, true);
  b.block[binsAt] = 0xc1; // a byte msgpack never uses
  c.block[c.offset + 8] ^= 0x5a;
}

const fileNs = (dataDir: string) => (c: NodeConfig) => {
  c.namespaces[0].storage = 'file';
  c.namespaces[0].dataDir = dataDir;
};

t.test('a file namespace repairs damaged records from its log and base snapshot', async (t) => {
  const dataDir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-repair-')), 'data');
  const keys = Array.from({ length: 400 }, (_, i) => new Key('test', i % 2 === 0 ? 'even' : 'odd', i));
  {
    const { node, client, url } = await startTestNode(t, fileNs(dataDir));
    await Promise.all(keys.slice(0, 200).map((k, i) => client.put(k, { i, s: 'x'.repeat(i % 40) }, undefined, { sendKey: i % 3 === 0 })));
    await client.createSnapshot('test'); // the first 200 live in the base snapshot from here on
    await Promise.all(keys.slice(200).map((k, i) => client.put(k, { i: i + 200, s: 'y' })));
    await client.put(keys[5], { i: 5, s: 'updated' }); // newest version in the log, after the base

    damage(node, [keys[5], keys[10], keys[250]]);
    const found = ((await client.verify('test')) as { namespaces: NsReport[] }).namespaces[0];
    t.equal(found.problemCount, 3, 'verify finds all three');
    const repaired = ((await client.repair('test')) as { namespaces: NsReport[] }).namespaces[0];
    t.equal(repaired.repair?.repaired, 3, JSON.stringify(repaired.repair?.outcomes));
    t.equal(repaired.repair?.skipped, 0);
    const again = ((await client.verify('test')) as { namespaces: NsReport[] }).namespaces[0];
    t.equal(again.problemCount, 0, 'a second verify is clean');
    t.same((await client.get(keys[5])).bins, { i: 5, s: 'updated' }, 'the newest version, from the log');
    t.same((await client.get(keys[10])).bins, { i: 10, s: 'x'.repeat(10) }, 'from the base snapshot');
    t.same((await client.get(keys[250])).bins, { i: 250, s: 'y' }, 'a record whose header digest was damaged');
    t.equal((await client.get(keys[10])).gen, 1, 'its generation as acknowledged');

    // The CLI repairs too, and exits 0 once everything found was repaired.
    damage(node, [keys[20], keys[30], keys[260]]);
    const port = String(new URL(url).port);
    const cli = await run(process.execPath, [CLI, 'verify', '--repair', '--host', `127.0.0.1:${port}`, '--ns', 'test']).catch((e) => e);
    t.equal(cli.code ?? 0, 0, cli.stdout);
    t.match(cli.stdout, /repair: 3 repaired, 0 removed, 0 skipped, 0 unrepairable/);
    await client.close();
    await node.close();
  }
  {
    const { client } = await startTestNode(t, fileNs(dataDir));
    const got = await client.batchGet(keys);
    t.equal(got.filter((r) => r !== null).length, 400, 'a restart finds every record');
    t.same(got[5]?.bins, { i: 5, s: 'updated' });
  }
});

t.test('a memory namespace reports damage it cannot repair', async (t) => {
  const { node, client } = await startTestNode(t);
  const keys = Array.from({ length: 100 }, (_, i) => new Key('test', 'm', i));
  await Promise.all(keys.map((k, i) => client.put(k, { i })));
  damage(node, keys.slice(0, 3));
  const report = ((await client.repair('test')) as { namespaces: NsReport[] }).namespaces[0];
  t.equal(report.problemCount, 3);
  t.equal(report.repair?.unrepairable, 3, 'no durable copy to repair from');
  t.equal(report.repair?.repaired, 0);
  t.equal(((await client.verify('test')) as { namespaces: NsReport[] }).namespaces[0].problemCount, 3, 'left as it was');
});
