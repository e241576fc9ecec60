// Proves the node logs one JSON line per event with a stable `event` name and its fields: start and
// recovery, a crash drill's fault, worker death, failover, restart, rebuild and handback, snapshot
// create/restore/delete, truncate and stop; and that a full device (ENOSPC on every write) is one
// episode in the log — a line when it begins and one with its count when it ends — not a line per write;
// a crash loop is one episode too (its failures inside the loop drop to debug, its give-ups and its
// end carry the count); and every event name is documented in docs/operations.md.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Status } from '../../src/errors';
import { LOG_EVENTS } from '../../src/log';
import { Key } from '../../src/index';
import { startTestNode, testNodeConfig } from '../helpers/node';
import { startNode } from '../../src/primary/node';
import { connect } from '../../src/client/index';
import { waitForValue } from '../helpers/wait';
import type { NodeConfig } from '../../src/config';

type Line = { time: string; level: string; thread: string; msg: string; event?: string } & Record<string, unknown>;

const readLines = (file: string): Line[] =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);

const eventsIn = (file: string, name: string) => readLines(file).filter((l) => l.event === name);

/** A node with one file namespace and its own log file; closes when the test ends. */
async function fileNode(t: Test, dir: string, logName: string, patch?: (c: NodeConfig) => void) {
  const file = path.join(dir, logName);
  const config = testNodeConfig((c) => {
    c.log = { level: 'info', file, format: 'json' };
    c.supervisor.faultInjection = true;
    c.supervisor.restartDelayMsMin = 10;
    c.namespaces[0].storage = 'file';
    c.namespaces[0].dataDir = path.join(dir, 'data');
    patch?.(c);
  });
  const node = await startNode(config);
  const client = await connect({ hosts: `127.0.0.1:${node.address.port}`, timeoutMs: 10_000 });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await client.close();
    await node.close();
  };
  t.teardown(async () => {
    await close();
    if (!t.passing()) t.comment(`the node's log (${file}):\n${fs.readFileSync(file, 'utf8').split('\n').slice(-80).join('\n')}`);
  });
  return { node, client, file, close };
}

/** Waits for a line of `event` matching `accept`, and returns it. */
async function waitEvent(file: string, name: string, accept: (l: Line) => boolean = () => true): Promise<Line> {
  const lines = await waitForValue(
    () => eventsIn(file, name),
    (ls) => ls.some(accept),
    { what: `a ${name} event in the log`, timeoutMs: 30_000, intervalMs: 50 },
  );
  return lines.find(accept)!;
}

t.test('every event is in docs/operations.md, with its fields', async (t) => {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'operations.md'), 'utf8');
  t.same(
    LOG_EVENTS.filter((name) => !doc.includes(`| \`${name}\` |`)),
    [],
    'each event has a row in the Logs section',
  );
});

t.test('faults, failover, rebuild, snapshots, truncate and recovery are events with their fields', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-events-'));
  const RECORDS = 200;
  const keys = Array.from({ length: RECORDS }, (_, i) => new Key('test', 'ev', i));
  {
    const { client, file, close } = await fileNode(t, dir, 'first.log');
    await Promise.all(keys.map((k, i) => client.put(k, { i })));
    const start = (await waitEvent(file, 'node-start')) as Line & { port: number; workers: number };
    t.same([start.level, start.thread, start.workers, typeof start.port], ['info', 'primary', 2, 'number'], 'node-start: where it listens, with what');

    // A first start copies every replica from its master (no clean stop on record): let it finish.
    await waitForValue(
      async () => (await client.info()).workers,
      (ws) => ws.every((w) => w.roles.outOfSync === 0 && w.rebuild === null),
      { what: 'every copy in sync', timeoutMs: 30_000 },
    );
    // A crash drill: the fault, the death, the failover, the restart, the rebuild and the handback.
    await client.injectFault({ worker: 1, kind: 'crash' });
    const fault = await waitEvent(file, 'fault');
    t.same([fault.worker, fault.kind, fault.level], [1, 'crash', 'warn'], 'fault: the drill, its worker and kind');
    const down = await waitEvent(file, 'worker-down', (l) => l.worker === 1);
    t.same([down.level, down.requested, typeof down.reason], ['error', false, 'string'], 'worker-down: the worker and why');
    const failover = await waitEvent(file, 'failover', (l) => l.from === 1);
    t.same([failover.namespace, failover.to, failover.partitions], ['test', 0, 2048], "failover: worker 1's masters go to worker 0");
    t.ok(typeof failover.mapVersion === 'number' && typeof failover.durationMs === 'number', 'with the map version and how long it took');
    const restart = await waitEvent(file, 'worker-restart', (l) => l.worker === 1);
    t.equal(restart.restarts, 1, 'worker-restart: its restart count');
    const rebuild = await waitEvent(file, 'rebuild', (l) => l.worker === 1);
    t.ok(
      (rebuild.partitions as number) > 0 && typeof rebuild.records === 'number' && typeof rebuild.durationMs === 'number',
      `rebuild: ${rebuild.partitions} partitions, ${rebuild.records} records copied, its duration`,
    );
    const handback = await waitEvent(file, 'handback', (l) => l.to === 1);
    t.ok(handback.from === 0 && (handback.partitions as number) > 0, 'handback: the rebuilt worker takes its partitions back');

    // Snapshots and truncate.
    const snapshot = await client.createSnapshot('test');
    const created = await waitEvent(file, 'snapshot', (l) => l.action === 'create');
    t.same([created.namespace, created.id, created.records, created.code], ['test', snapshot.id, RECORDS, 0], 'snapshot create: its id and records');
    const truncated = await client.truncate('test');
    const truncate = await waitEvent(file, 'truncate');
    t.same([truncate.namespace, truncate.set, truncate.records, truncate.code], ['test', null, truncated.deleted, 0], 'truncate: what it deleted');
    t.equal(truncate.records, RECORDS);
    await client.restoreSnapshot('test', snapshot.id);
    const restored = await waitEvent(file, 'snapshot', (l) => l.action === 'restore');
    t.same([restored.id, restored.records], [snapshot.id, RECORDS], 'snapshot restore: its records');
    t.ok(typeof restored.durationMs === 'number' && typeof restored.pauseMs === 'number');
    // The first snapshot is the namespace's base until a newer one exists.
    await client.createSnapshot('test');
    await client.deleteSnapshot('test', snapshot.id);
    const deleted = await waitEvent(file, 'snapshot', (l) => l.action === 'delete');
    t.same([deleted.level, deleted.id, deleted.code], ['info', snapshot.id, 0], 'snapshot delete');
    const refused = await client.deleteSnapshot('test', snapshot.id).catch((e: { code: number }) => e.code);
    t.equal(refused, Status.PARAMETER, 'a second delete finds nothing');
    const failed = await waitEvent(file, 'snapshot', (l) => l.action === 'delete' && l.code !== 0);
    t.same([failed.level, failed.code, failed.id], ['warn', Status.PARAMETER, snapshot.id], 'a failed snapshot step is an event with its code');
    // Written after the restore's base, so the next cold start replays them from the log.
    await Promise.all(keys.map((k, i) => client.put(k, { i, again: true })));
    await close();
    const stop = await waitEvent(file, 'node-stop');
    t.equal(typeof stop.durationMs, 'number', 'node-stop');
    for (const l of readLines(file).filter((x) => x.event !== undefined)) {
      t.ok(
        Object.values(l).every((v) => v === null || typeof v !== 'object'),
        `${l.event}: flat fields only`,
      );
    }
  }
  {
    // A cold start: each worker's recovery, with what its log held.
    const { file } = await fileNode(t, dir, 'second.log');
    const recoveries = await waitForValue(
      () => eventsIn(file, 'recovery'),
      (ls) => ls.length === 2,
      { what: 'a recovery event from each worker', timeoutMs: 30_000 },
    );
    t.same(recoveries.map((l) => l.worker).sort(), [0, 1]);
    for (const r of recoveries) {
      t.ok((r.records as number) >= RECORDS, `worker ${r.worker} recovered ${r.records} log records`);
      t.same([r.namespace, r.skippedRegions, r.adopted, typeof r.durationMs], ['test', 0, false, 'number']);
    }
  }
});

t.test('a full device is one episode in the log, not a line per refused write', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-enospc-'));
  // One copy: worker 1's writes meet its full device alone (no replica to wait for).
  const { client, file } = await fileNode(t, dir, 'node.log', (c) => {
    c.namespaces[0].replicationFactor = 1;
  });
  await client.injectFault({ worker: 1, kind: 'disk-full' });
  const WRITES = 300;
  let refusedByDisk = 0;
  for (let round = 0; round < 3; round++) {
    const outcomes = await Promise.allSettled(Array.from({ length: WRITES / 3 }, (_, i) => client.put(new Key('test', 'full', round * 1000 + i), { i })));
    refusedByDisk += outcomes.filter((o) => o.status === 'rejected' && (o.reason as { code: number }).code === Status.SERVER_MEM).length;
  }
  t.ok(refusedByDisk >= 50, `${refusedByDisk} writes refused with SERVER_MEM while the device was full`);
  const full = await waitEvent(file, 'disk-state', (l) => l.state === 'full');
  t.same([full.worker, full.namespace, full.errno, full.code, full.level], [1, 'test', 'ENOSPC', Status.SERVER_MEM, 'error'], 'the episode begins: the worker, ENOSPC, the code');
  await client.injectFault({ worker: 1, kind: 'disk-ok' });
  const over = await waitEvent(file, 'disk-state', (l) => l.state === 'ok');
  t.ok((over.count as number) >= refusedByDisk, `it ends with the count of refused requests (${over.count})`);
  t.equal(typeof over.durationMs, 'number', 'and how long it lasted');
  const fromWorker1 = readLines(file).filter((l) => l.thread === 'worker 1');
  t.same(
    fromWorker1.map((l) => `${l.event}:${l.state}`),
    ['disk-state:full', 'disk-state:ok'],
    'worker 1 logged the episode twice, whatever the number of writes',
  );
});

t.test('a crash loop is logged as an episode with its count', async (t) => {
  const { node, client } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
    c.supervisor.restartDelayMsMin = 10;
    c.supervisor.crashLoopMax = 1;
    c.supervisor.crashLoopWindowMs = 3000;
    c.supervisor.giveUpRetryMs = 100;
    c.supervisor.checkIntervalMs = 50;
    c.namespaces[0].replicationFactor = 1;
  });
  const file = node.config.log.file!;
  await client.injectFault({ worker: 1, kind: 'crash' });
  const first = await waitEvent(file, 'worker-given-up');
  t.same([first.worker, first.count, first.giveUps, first.retryMs], [1, 1, 1, 100], 'the first give-up opens the episode');
  await waitEvent(file, 'worker-restart', (l) => l.restarts === 1);
  await client.injectFault({ worker: 1, kind: 'crash' });
  const second = await waitEvent(file, 'worker-given-up', (l) => l.giveUps === 2);
  t.same([second.count, second.retryMs], [2, 200], 'the next one counts both failures');
  const end = await waitEvent(file, 'crash-loop-end');
  t.same([end.worker, end.count, end.giveUps], [1, 2, 2], 'once it stayed up a window, the episode ends with its count');
  t.equal(eventsIn(file, 'worker-down').length, 1, 'the failure inside the loop is not a line of its own at level info');
});
