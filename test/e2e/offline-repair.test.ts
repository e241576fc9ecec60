// Proves `aerie verify --data-dir` on real files of a real node: a clean directory reports nothing;
// a byte flipped mid-log stops start-up with a hint naming recoverySkipCorrupt and the offline
// repair, the offline check names the file and offset, the repair cuts exactly that record (or, with
// a replica, rebuilds it from the other worker's copy) and prints the loss, which equals what a
// restarted node no longer serves; a torn tail and a byte flipped in a base snapshot part are
// found and repaired the same way; a second repair changes nothing; a directory a live node holds
// is refused.
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect, Key, type Client } from '../../src/client/index';
import { loadConfig, type NodeConfig } from '../../src/config';
import { startNode, type AerieNode } from '../../src/primary/node';
import { decodeAt, LogRecordView } from '../../src/storage/log-record';
import { listSegments, logDirectory, segmentFileName } from '../../src/storage/segment-files';
import { Status } from '../../src/errors';
import { prng, testSeed } from '../helpers/prng';
import { waitForValue } from '../helpers/wait';

const run = promisify(execFile);
const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');
const seed = testSeed();
t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
const random = prng(seed);
const KEYS = 400;

interface Running {
  node: AerieNode;
  client: Client;
  stop: () => Promise<void>;
}

function configFor(dataDir: string, replicationFactor: number, patch?: (c: NodeConfig) => void): NodeConfig {
  const c = loadConfig();
  c.service.port = 0;
  c.log.level = 'warn';
  c.workers.count = 2;
  c.supervisor.heartbeatTimeoutMs = 5000;
  c.namespaces.length = 1;
  Object.assign(c.namespaces[0], { storage: 'file', dataDir, replicationFactor, segmentBytes: 16 * 1024, recordBytesMax: 2048, compactionIntervalMs: 0 });
  patch?.(c);
  return c;
}

/**
 * Starts a node and waits until every replica copy is in sync: a cold start records every
 * non-master copy stale until it is rebuilt, and the offline check rightly trusts no stale copy.
 */
async function start(config: NodeConfig): Promise<Running> {
  const node = await startNode(config);
  const client = await connect({ hosts: `127.0.0.1:${node.address.port}`, timeoutMs: 10_000 });
  const outOfSync = () => (node.info().workers as { roles: { outOfSync: number } }[]).reduce((a, w) => a + w.roles.outOfSync, 0);
  await waitForValue(outOfSync, (n) => n === 0, { what: 'every replica copy in sync after the start', timeoutMs: 30_000, intervalMs: 20 });
  return {
    node,
    client,
    stop: async () => {
      await client.close();
      await node.close();
    },
  };
}

const keyOf = (i: number) => new Key('test', 'demo', i);

async function fill(client: Client, from: number, to: number, tag: string): Promise<void> {
  for (let i = from; i < to; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, to - i) }, (_, j) => client.put(keyOf(i + j), { i: i + j, tag, pad: 'p'.repeat(150) })));
  }
}

/** Keys (of 0 … KEYS-1) the node no longer serves. */
async function missingKeys(client: Client): Promise<number[]> {
  const missing: number[] = [];
  for (let i = 0; i < KEYS; i++) if (!(await client.exists(keyOf(i)))) missing.push(i);
  return missing;
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 60_000, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: unknown; stdout: string; stderr: string };
    return { code: typeof code === 'number' ? code : -1, stdout, stderr };
  }
}

interface Report {
  namespaces: { problems: { kind: string; worker: number; file: string; offset: number; lost: number; onReplica: number; superseded: number }[]; recordsLost: number }[];
}

async function offline(dataDir: string, repair: boolean): Promise<{ code: number; report: Report; stderr: string }> {
  const r = await cli(['verify', '--data-dir', dataDir, '--json', ...(repair ? ['--repair'] : [])]);
  return { code: r.code, report: r.stdout.length > 0 ? (JSON.parse(r.stdout) as Report) : { namespaces: [] }, stderr: r.stderr };
}

/** The records of one segment file: offset, span and digest, walked by the record format. */
function recordsOf(file: string): { offset: number; span: number; keyBytes: number; binsBytes: number; digest: string }[] {
  const bytes = fs.readFileSync(file);
  const view = new LogRecordView();
  const out: { offset: number; span: number; keyBytes: number; binsBytes: number; digest: string }[] = [];
  for (let at = 0; at < bytes.length; ) {
    decodeAt(bytes, at, bytes.length, view);
    if (view.status !== 'ok') break;
    out.push({ offset: at, span: view.spanBytes, keyBytes: view.keyEnd - view.keyStart, binsBytes: view.binsEnd - view.binsStart, digest: Buffer.from(view.digestCopy()).toString('hex') });
    at += view.spanBytes;
  }
  return out;
}

/** Flips one bin byte of a seeded record in a segment that is not the last; returns where. */
function flipMidLog(directory: string): { file: string; offset: number; key: number } {
  const segments = listSegments(directory);
  if (segments.length < 2) throw new Error(`${directory}: ${segments.length} segments, the test needs two or more`);
  const file = path.join(directory, segmentFileName(segments[Math.floor(random() * (segments.length - 1))]));
  return flipIn(file);
}

/** Flips one bin byte of a seeded record of `file` (among those whose key `accept`s). */
function flipIn(file: string, accept: (key: number) => boolean = () => true): { file: string; offset: number; key: number } {
  const keyByDigest = new Map(Array.from({ length: KEYS }, (_, i) => [Buffer.from(keyOf(i).digest).toString('hex'), i]));
  const records = recordsOf(file).filter((r) => accept(keyByDigest.get(r.digest)!));
  const r = records[Math.floor(random() * records.length)];
  const bytes = fs.readFileSync(file);
  bytes[r.offset + 72 + r.keyBytes + Math.floor(random() * r.binsBytes)] ^= 1 << Math.floor(random() * 8);
  fs.writeFileSync(file, bytes);
  return { file, offset: r.offset, key: keyByDigest.get(r.digest)! };
}

/** A data directory a node (replicationFactor `rf`) wrote every test key to, then stopped. */
async function filledDataDir(rf: number): Promise<{ dataDir: string; config: NodeConfig }> {
  const dataDir = newDataDir();
  const config = configFor(dataDir, rf);
  const n = await start(config);
  await fill(n.client, 0, KEYS, 'a');
  await n.stop();
  return { dataDir, config };
}

function newDataDir(): string {
  const dir = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-offline-')), 'data');
  t.teardown(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));
  return dir;
}

t.test("a clean directory reports nothing; a live node's directory is refused", async (t) => {
  const dataDir = newDataDir();
  const n = await start(configFor(dataDir, 1));
  await fill(n.client, 0, 100, 'a');
  const refused = await cli(['verify', '--data-dir', dataDir]);
  t.equal(refused.code, 1, 'refused while the node runs');
  t.match(refused.stderr, `error ${Status.FAIL_FORBIDDEN} `, 'FAIL_FORBIDDEN');
  await n.stop();
  const clean = await offline(dataDir, false);
  t.equal(clean.code, 0);
  t.same(
    clean.report.namespaces.map((ns) => ns.problems.length),
    [0],
  );
  const repaired = await offline(dataDir, true);
  t.equal(repaired.code, 0, 'repair of a clean directory is a no-op');
});

t.test('a byte flipped mid-log: start-up stops with the hint, the repair cuts one record and says so', async (t) => {
  const { dataDir, config } = await filledDataDir(1);
  const worker = Math.floor(random() * 2);
  const flipped = flipMidLog(logDirectory(dataDir, 'test', worker));
  t.comment(`flipped ${flipped.file} offset ${flipped.offset} (key ${flipped.key})`);

  const refusal = await startNode(config).then(
    () => null,
    (e: { code: number; message: string }) => e,
  );
  t.equal(refusal?.code, Status.SERVER_ERROR, 'the node refuses to start');
  t.match(refusal?.message, 'recoverySkipCorrupt', 'the hint names the config key');
  t.match(refusal?.message, 'verify --data-dir', 'and the offline repair');

  const found = await offline(dataDir, false);
  t.equal(found.code, 1);
  const problems = found.report.namespaces[0].problems;
  t.same(
    problems.map((p) => [p.kind, p.worker, p.file, p.offset, p.lost]),
    [['corrupt', worker, flipped.file, flipped.offset, 1]],
  );

  const repaired = await offline(dataDir, true);
  t.equal(repaired.code, 0, 'repaired');
  t.equal(repaired.report.namespaces[0].recordsLost, 1, 'one record lost, counted');
  const again = await offline(dataDir, true);
  t.equal(again.code, 0);
  t.same(again.report.namespaces[0].problems, [], 'a second repair finds nothing');

  const n = await start(config); // recoverySkipCorrupt stays false
  t.same(await missingKeys(n.client), [flipped.key], 'every record but the cut one is served');
  await n.stop();
});

t.test("with a replica, the damaged record is rebuilt from the other worker's copy: nothing lost", async (t) => {
  const { dataDir, config } = await filledDataDir(2);
  const flipped = flipMidLog(logDirectory(dataDir, 'test', Math.floor(random() * 2)));
  const repaired = await offline(dataDir, true);
  t.equal(repaired.code, 0);
  const p = repaired.report.namespaces[0].problems[0];
  t.same([p.kind, p.file, p.offset, p.onReplica, p.lost], ['corrupt', flipped.file, flipped.offset, 1, 0]);
  t.equal(repaired.report.namespaces[0].recordsLost, 0);
  const n = await start(config);
  t.same(await missingKeys(n.client), [], 'every record is served');
  await n.stop();
});

t.test('a torn tail is reported as such and cut', async (t) => {
  const { dataDir, config } = await filledDataDir(1);
  const directory = logDirectory(dataDir, 'test', 0);
  const segments = listSegments(directory);
  const last = path.join(directory, segmentFileName(segments[segments.length - 1]));
  const size = fs.statSync(last).size;
  const first = recordsOf(last)[0];
  // Half of a record appended, as a crash mid-write leaves it.
  fs.appendFileSync(last, fs.readFileSync(last).subarray(first.offset, first.offset + Math.floor(first.span / 2)));
  const found = await offline(dataDir, false);
  t.same(
    found.report.namespaces[0].problems.map((p) => [p.kind, p.file, p.offset]),
    [['torn-tail', last, size]],
  );
  const repaired = await offline(dataDir, true);
  t.equal(repaired.code, 0);
  t.equal(fs.statSync(last).size, size, 'cut back to the last whole record');
  const n = await start(config);
  t.same(await missingKeys(n.client), []);
  await n.stop();
});

t.test('a byte flipped in the base snapshot: skipped with recoverySkipCorrupt, or cut by the repair', async (t) => {
  const dataDir = newDataDir();
  const config = configFor(dataDir, 1);
  let n = await start(config);
  await fill(n.client, 0, KEYS, 'a');
  const id = (await n.client.createSnapshot('test')) as { id: string };
  await fill(n.client, 0, 20, 'b'); // written again after the base: their damage there costs nothing
  await n.stop();
  const part = path.join(dataDir, 'test', 'snapshots', String(id.id), `worker-0${Math.floor(random() * 2)}`);
  const flipped = flipIn(path.join(part, segmentFileName(listSegments(part)[0])));
  const lostExpected = flipped.key < 20 ? 0 : 1;
  t.comment(`flipped ${flipped.file} offset ${flipped.offset} (key ${flipped.key})`);

  const refusal = await startNode(config).then(
    () => null,
    (e: { code: number }) => e,
  );
  t.equal(refusal?.code, Status.SERVER_ERROR, 'start-up stops');

  // recoverySkipCorrupt: the node starts without the damaged region (on a copy of the files).
  const copy = `${dataDir}-copy`;
  fs.cpSync(dataDir, copy, { recursive: true });
  n = await start(configFor(copy, 1, (c) => (c.namespaces[0].recoverySkipCorrupt = true)));
  t.equal((await missingKeys(n.client)).length, lostExpected, 'recoverySkipCorrupt skips the damaged region');
  await n.stop();

  const found = await offline(dataDir, false);
  t.same(
    found.report.namespaces[0].problems.map((p) => [p.kind, p.file, p.offset, p.lost]),
    [['snapshot-part', flipped.file, flipped.offset, lostExpected]],
  );
  const repaired = await offline(dataDir, true);
  t.equal(repaired.code, 0);
  t.equal(repaired.report.namespaces[0].recordsLost, lostExpected, 'the loss is counted');
  n = await start(config);
  t.same(await missingKeys(n.client), lostExpected === 0 ? [] : [flipped.key], 'every other record is served');
  await n.stop();
});

/** Puts, snapshots and a byte flipped in the newest (base) snapshot's part of a seeded worker. */
async function damagedBaseOverOlder(restoreBetween: boolean): Promise<{ dataDir: string; config: NodeConfig; flipped: { file: string; key: number }; older: string }> {
  const dataDir = newDataDir();
  // Segments large enough that no snapshot releases any: the log since the older one stays.
  const config = configFor(dataDir, 1, (c) => (c.namespaces[0].segmentBytes = 1024 * 1024));
  const n = await start(config);
  await fill(n.client, 0, KEYS, 'a');
  const older = (await n.client.createSnapshot('test')) as { id: string };
  await fill(n.client, 0, 50, 'b');
  if (restoreBetween) await n.client.restoreSnapshot('test', String(older.id)); // keys 0-49 back to 'a'
  await fill(n.client, 50, 60, 'c');
  const base = (await n.client.createSnapshot('test')) as { id: string };
  await fill(n.client, 60, 70, 'd');
  await n.stop();
  const part = path.join(dataDir, 'test', 'snapshots', String(base.id), `worker-0${Math.floor(random() * 2)}`);
  // Not a key written again after the base: its damage would cost nothing either way.
  const flipped = flipIn(path.join(part, segmentFileName(listSegments(part)[0])), (key) => key < 60 || key >= 70);
  return { dataDir, config, flipped, older: String(older.id) };
}

async function valuesOf(client: Client): Promise<string[]> {
  const tags: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const record = await client.get(keyOf(i)).catch((e: { code: number }) => {
      if (e.code === Status.KEY_NOT_FOUND) return null;
      throw e;
    });
    tags.push(record === null ? 'missing' : String(record.bins.tag));
  }
  return tags;
}

// Without a restore between them the older snapshot and the log reproduce the damaged base, and
// the repair falls back to it, losing nothing. With one, replaying across it would differ from the
// base (the restore brought keys 0-49 back to 'a'): the fallback is refused and the damage is cut.
for (const restoreBetween of [false, true]) {
  const name = restoreBetween
    ? 'a restore between the older snapshot and the damaged base: no fallback, the damage is cut'
    : 'a damaged base whose older snapshot and log reproduce it: the repair falls back, nothing lost';
  t.test(name, async (t) => {
    const { dataDir, config, flipped, older } = await damagedBaseOverOlder(restoreBetween);
    const repaired = await offline(dataDir, true);
    t.equal(repaired.code, 0);
    const ns = repaired.report.namespaces[0] as Report['namespaces'][0] & { fallback: string | null };
    t.equal(ns.fallback, restoreBetween ? null : older, 'the older snapshot becomes the base only when it reproduces it');
    t.equal(ns.recordsLost, restoreBetween ? 1 : 0, 'the loss is counted');
    const base = JSON.parse(fs.readFileSync(path.join(dataDir, 'test', 'base.json'), 'utf8')) as { snapshot: string };
    t.equal(base.snapshot === older, !restoreBetween);
    const n = await start(config);
    const tagOf = (i: number) => (i < 50 ? (restoreBetween ? 'a' : 'b') : i < 60 ? 'c' : i < 70 ? 'd' : 'a');
    const expected = Array.from({ length: KEYS }, (_, i) => (restoreBetween && i === flipped.key ? 'missing' : tagOf(i)));
    t.same(await valuesOf(n.client), expected, 'every record at its latest value, less what was cut');
    await n.stop();
  });
}
