// Proves no acknowledged write is lost and no read lies while workers are crashed, exited, hung
// and stalled over and over under concurrent load, with two copies of every partition (each
// failure promotes replicas, each restart rebuilds from them), and that the copies end identical.
// Seeded (AERIE_SEED=… replays the fault schedule): a register workload (generation-checked puts,
// reads that must never go back in time), a counter workload (every final count lies between
// acknowledged and attempted increments) and a set workload (every acknowledged create-only
// insert is present). It runs with clients that send every call through the front, and again,
// shorter, with clients that route by partition to the workers' own endpoints (whose connections
// die with their worker).
import t from 'tap';
import type { Test } from 'tap';
import { connect, Key, ops, status, type Client, type Routing } from '../../src/index';
import { sleep, startTestNode, waitStable } from '../helpers/node';
import { prng, testSeed } from '../helpers/prng';
import { compareCopies, waitInSync } from '../helpers/replicas';
import { waitFor } from '../helpers/wait';

const DURATION_MS = Number(process.env.CHAOS_MS ?? 8000);
/** The partition-routed run: half as long, so the second run adds little to the suite. */
const DURATION_MS_ROUTED = Number(process.env.CHAOS_ROUTED_MS ?? DURATION_MS / 2);
const REGISTERS = 120;
const COUNTERS = 8;
const KINDS = ['crash', 'exit', 'hang', 'stall'] as const;

type Outcome = 'ok' | 'doubt' | 'failed';
const outcomeOf = (e: unknown): Outcome => ((e as { inDoubt?: boolean }).inDoubt ? 'doubt' : 'failed');

t.test('chaos: faults under load lose nothing acknowledged (front clients)', (t) => chaos(t, 'front', DURATION_MS));
t.test('chaos: faults under load lose nothing acknowledged (partition-routed clients)', (t) => chaos(t, 'partition', DURATION_MS_ROUTED));

async function chaos(t: Test, routing: Routing, durationMs: number): Promise<void> {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const rand = prng(seed);
  const {
    client: helperClient,
    url,
    node,
  } = await startTestNode(t, (c) => {
    c.workers.count = 3;
    c.supervisor.faultInjection = true;
    c.supervisor.heartbeatTimeoutMs = 250;
    c.supervisor.crashLoopMax = 1000;
  });
  // The front run's admin client uses the front too, so that run sees no worker-endpoint
  // connection at all, as before clients routed by partition.
  let admin = helperClient;
  if (routing === 'front') {
    await helperClient.close();
    admin = await connect({ hosts: new URL(url).host, timeoutMs: 10_000, routing });
    t.teardown(() => admin.close());
  }
  const clients: Client[] = [];
  for (let i = 0; i < 3; i++) clients.push(await connect({ hosts: new URL(url).host, timeoutMs: 4000, routing }));
  t.teardown(() => Promise.all(clients.map((c) => c.close())));
  let running = true;
  const problems: string[] = [];

  // Registers: each key has one writer, writing values v1, v2, … in order with a generation check.
  const written = new Map<number, { value: number; outcome: Outcome }[]>();
  const writer = async (c: Client, keys: number[]) => {
    const gens = new Map<number, number>();
    let seq = 0;
    while (running) {
      const k = keys[Math.floor(rand() * keys.length)];
      const value = ++seq * 1000 + k;
      const log = written.get(k) ?? [];
      written.set(k, log);
      const entry = { value, outcome: 'failed' as Outcome };
      log.push(entry);
      try {
        const gen = gens.get(k);
        const w = await c.put(new Key('test', 'reg', k), { v: value }, gen === undefined ? undefined : { gen }, { genPolicy: gen === undefined ? 'none' : 'eq' });
        entry.outcome = 'ok';
        gens.set(k, w.gen);
      } catch (e) {
        entry.outcome = outcomeOf(e);
        gens.delete(k); // unknown now: the next write of this key goes without a check
        await sleep(1);
      }
    }
  };
  // Readers: a value read must have been written (ok or in doubt), and never older than one seen.
  const observed: [number, number][] = [];
  const reader = async (c: Client) => {
    const seen = new Map<number, number>();
    while (running) {
      const k = Math.floor(rand() * REGISTERS);
      try {
        const v = (await c.get(new Key('test', 'reg', k))).bins.v as number;
        observed.push([k, v]); // judged once every write has an outcome
        if (v < (seen.get(k) ?? 0)) problems.push(`register ${k}: read ${v} after ${seen.get(k)}: went back in time`);
        seen.set(k, Math.max(v, seen.get(k) ?? 0));
      } catch (e) {
        const code = (e as { code: number }).code;
        if (code !== status.KEY_NOT_FOUND && code !== status.PARTITION_UNAVAILABLE && code !== status.TIMEOUT_CLIENT && code !== status.MAX_RETRIES_EXCEEDED) {
          problems.push(`read failed with ${code}`);
        }
        await sleep(1);
      }
    }
  };
  // Counters: increments by 1.
  const counted = Array.from({ length: COUNTERS }, () => ({ ok: 0, doubt: 0 }));
  const counter = async (c: Client) => {
    while (running) {
      const k = Math.floor(rand() * COUNTERS);
      try {
        await c.operate(new Key('test', 'cnt', k), [ops.incr('n', 1)]);
        counted[k].ok++;
      } catch (e) {
        if (outcomeOf(e) === 'doubt') counted[k].doubt++;
        await sleep(1);
      }
    }
  };
  // Set: create-only inserts of unique keys.
  const inserted = new Map<string, Outcome>();
  const inserter = async (c: Client, name: string) => {
    for (let n = 0; running; n++) {
      const id = `${name}-${n}`;
      try {
        await c.put(new Key('test', 'set', id), { id }, undefined, { exists: 'create-only' });
        inserted.set(id, 'ok');
      } catch (e) {
        inserted.set(id, outcomeOf(e));
        await sleep(1);
      }
    }
  };

  const loops: Promise<void>[] = [];
  const keysOf = (w: number) => Array.from({ length: REGISTERS }, (_, k) => k).filter((k) => k % 6 === w);
  for (let w = 0; w < 6; w++) loops.push(writer(clients[w % 3], keysOf(w)));
  for (let r = 0; r < 4; r++) loops.push(reader(clients[r % 3]));
  for (let i = 0; i < 4; i++) loops.push(counter(clients[i % 3]));
  for (let i = 0; i < 3; i++) loops.push(inserter(clients[i], `c${i}`));

  // The fault schedule.
  // At least FAULTS_MIN land: on a loaded machine a fault meets a worker still down from the last
  // one more often, so the schedule runs past DURATION_MS (up to a minute more) until they have.
  const FAULTS_MIN = 5;
  let faults = 0;
  const end = Date.now() + durationMs;
  const endAtLatest = end + 60_000;
  while ((Date.now() < end || faults < FAULTS_MIN) && Date.now() < endAtLatest) {
    await sleep(150 + Math.floor(rand() * 400));
    const worker = Math.floor(rand() * 3);
    const kind = KINDS[Math.floor(rand() * KINDS.length)];
    try {
      await admin.injectFault({ worker, kind });
      faults++;
    } catch {
      // the worker was already down: try another next time
    }
  }
  // On a loaded machine the faults may leave little done in durationMs: the traffic goes on,
  // without new faults, until enough was acknowledged for the checks below to mean something.
  const insertsOk = () => [...inserted.values()].filter((o) => o === 'ok').length;
  const incrementsOk = () => counted.reduce((a, c) => a + c.ok, 0);
  for (const until = Date.now() + 20_000; (insertsOk() <= 100 || incrementsOk() <= 100) && Date.now() < until; ) await sleep(100);
  running = false;
  await Promise.all(loops);
  // Every worker back, and none restarting, before the final reads.
  await waitStable(admin, 600);
  t.ok(faults >= FAULTS_MIN, `${faults} faults injected`);
  // Every worker rebuilt, and each partition's two copies identical.
  t.ok(await waitInSync(admin), 'every copy back in sync');
  const copies = compareCopies(node);
  t.same(copies.problems.slice(0, 10), [], `master and replica copies identical (${copies.records} records)`);
  if (routing === 'partition') {
    // Routed clients end on the node's current map, connected to every worker's endpoint again.
    const probe = await connect({ hosts: new URL(url).host });
    const latest = probe.routes.mapVersion;
    await probe.close();
    await waitFor(
      async () => {
        await Promise.all(clients.map((c) => c.ping()));
        return clients.every((c) => c.routes.mapVersion === latest && c.routes.endpoints.length === 3 && c.routes.endpoints.every((e) => e.connected));
      },
      { what: `every routed client on map version ${latest} and connected to every worker endpoint` },
    );
    t.pass('routed clients are back on the current masters');
  }

  // Final state against the history.
  const regs = await admin.batchGet(Array.from({ length: REGISTERS }, (_, k) => new Key('test', 'reg', k)));
  for (let k = 0; k < REGISTERS; k++) {
    const log = written.get(k) ?? [];
    const lastOk = log.map((e) => e.outcome).lastIndexOf('ok');
    const allowed = new Set(log.filter((e, i) => i === lastOk || (i > lastOk && e.outcome === 'doubt')).map((e) => e.value));
    const v = (regs[k]?.bins.v as number | undefined) ?? null;
    if (v === null ? lastOk >= 0 : !allowed.has(v)) problems.push(`register ${k}: final ${v}, history ${JSON.stringify(log.slice(Math.max(0, lastOk - 1)))}`);
  }
  for (const [k, v] of observed) {
    const entry = written.get(k)?.find((e) => e.value === v);
    if (entry === undefined || entry.outcome === 'failed') problems.push(`register ${k}: read ${v}, never written (or refused)`);
  }
  const cnts = await admin.batchGet(Array.from({ length: COUNTERS }, (_, k) => new Key('test', 'cnt', k)));
  for (let k = 0; k < COUNTERS; k++) {
    const n = (cnts[k]?.bins.n as number | undefined) ?? 0;
    if (n < counted[k].ok || n > counted[k].ok + counted[k].doubt) problems.push(`counter ${k}: ${n} outside [${counted[k].ok}, ${counted[k].ok + counted[k].doubt}]`);
  }
  const ids = [...inserted.keys()];
  const present = await admin.batchGet(ids.map((id) => new Key('test', 'set', id)));
  ids.forEach((id, i) => {
    const o = inserted.get(id);
    if (o === 'ok' && present[i] === null) problems.push(`insert ${id} acknowledged but missing`);
    if (o === 'failed' && present[i] !== null) problems.push(`insert ${id} refused but present`);
  });
  const report = (await admin.verify()) as { namespaces: { problemCount: number }[] };
  t.equal(report.namespaces[0].problemCount, 0, 'verify finds the stores sound');
  const acked = insertsOk();
  const increments = incrementsOk();
  t.ok(acked > 100 && increments > 100, `work was done: ${acked} inserts, ${increments} increments acknowledged`);
  t.same(problems.slice(0, 10), [], `no anomalies (seed ${seed})`);
}
