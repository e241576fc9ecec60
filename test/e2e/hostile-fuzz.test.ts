// Proves the node stays whole under 100,000 seeded hostile frames (random bytes, and well-formed
// msgpack requests full of hostile values): every answer frame decodes fully with exactly the
// count it announces, no worker restarts, and a probe client's calls all succeed meanwhile.
import t from 'tap';
import WebSocket from 'ws';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { connect } from '../../src/index';
import { Reader } from '../../src/protocol/reader';
import { Writer } from '../../src/protocol/writer';
import { memoryNodeConfig, rssOf, startCliNode } from '../helpers/cli-node';
import type { ProbeReport } from '../helpers/probe-worker';
import { Random, randomValue, testSeed } from '../helpers/values';

const FRAMES = Number(process.env.AERIE_FUZZ_FRAMES ?? 100_000);
const CONNECTIONS = 4;
/** Messages a fuzz connection has unanswered before it waits for answers. */
const WINDOW_MESSAGES = 64;
/** Shares of frames, in thousandths, that are random bytes or a mutated valid frame (both usually close). */
const RANDOM_PER_MILLE = 5;
const MUTATED_PER_MILLE = 5;

const seed = testSeed();
t.comment(`seed ${seed} (replay with AERIE_SEED=${seed})`);
const r = new Random(seed);
const writer = new Writer(1 << 20);

const INTS = [0, 1, -1, -2, 127, 128, 255, 65535, 65536, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53) + 1, 2n ** 63n - 1n, -(2n ** 63n)];
const pick = <T>(items: readonly T[]): T => items[r.below(items.length)];

function hostileKey(): unknown {
  switch (r.below(6)) {
    case 0:
      return `k${r.below(64)}`;
    case 1:
      return pick(INTS);
    case 2:
      return r.bytes(r.below(3) === 0 ? 0 : 1 + r.below(40));
    case 3:
      return pick(['', 'x'.repeat(1025), 'ключ']);
    default:
      return randomValue(r, 1);
  }
}

function hostileBins(): unknown {
  if (r.below(6) === 0) return randomValue(r, 2);
  const bins: Record<string, unknown> = {};
  for (let i = r.below(6); i > 0; i--) bins[pick(['a', 'b', 'c', '', 'bin-name-too-long-x', `b${r.below(8)}`])] = randomValue(r, 2);
  return bins;
}

function hostileOps(): unknown {
  if (r.below(6) === 0) return randomValue(r, 2);
  return Array.from({ length: r.below(5) }, () => {
    const arity = r.below(5);
    const op: unknown[] = [pick([1, 2, 3, 4, 5, 6, 7, 20, 21, 22, 23, 24, 40, 41, 42, 43, 44, 99, -1])];
    for (let i = 1; i < arity; i++) op.push(i === 1 && r.below(4) !== 0 ? pick(['a', 'b', null]) : randomValue(r, 1));
    return op;
  });
}

/** A request body: usually a map of the fields ops take, with hostile values and stray fields. */
function hostileBody(): unknown {
  if (r.below(8) === 0) return randomValue(r, 3);
  const body: Record<string, unknown> = {};
  if (r.below(8) !== 0) body.ns = pick(['test', 'test', 'test', 'nope', '', 7]);
  if (r.below(2) === 0) body.set = pick(['fz', 'fz2', null, '', 'x'.repeat(70), 5]);
  if (r.below(5) !== 0) body.key = hostileKey();
  if (r.below(10) === 0) body.digest = r.bytes(r.below(4) === 0 ? r.below(30) : 20);
  if (r.below(2) === 0) body.bins = r.below(2) === 0 ? hostileBins() : pick([['a'], ['a', 5], [], 5, null]);
  if (r.below(3) === 0) body.ops = hostileOps();
  if (r.below(4) === 0) body.keys = Array.from({ length: r.below(6) }, () => (r.below(5) === 0 ? randomValue(r, 1) : { ns: pick(['test', 'nope']), set: pick(['fz', null]), key: hostileKey() }));
  if (r.below(8) === 0) body.ttl = pick(INTS);
  if (r.below(8) === 0) body.gen = pick(INTS);
  if (r.below(10) === 0) body.genPolicy = pick([0, 1, 2, 3, -1]);
  if (r.below(10) === 0) body.exists = pick([0, 1, 2, 3, 4, 5]);
  if (r.below(10) === 0) body.pageSize = pick(INTS);
  if (r.below(10) === 0) body.cursor = r.bytes(r.below(12));
  if (r.below(12) === 0) body.commitLevel = pick(['all', 'master', 'none', 1]);
  if (r.below(12) === 0) body.protocol = pick([1, 2, null]);
  if (r.below(12) === 0) body.maxFrameBytes = pick([65536, 1 << 20, 100, 2 ** 40, -1]);
  if (r.below(20) === 0) body[pick(['colour', 'sendKey', 'beforeMs', 'repair', 'worker', 'kind'])] = randomValue(r, 1);
  return body;
}

/**
 * An op number: mostly data ops; VERIFY (a background job) and DRAINED (it closes) rarely;
 * never SNAPSHOT, which would write snapshot files of the test's namespace.
 */
function hostileOp(): number {
  const op = r.below(20);
  if (op === 17 || ((op === 13 || op === 14) && r.below(200) !== 0)) return 12;
  return op;
}

/** One frame and the number of messages it holds (each answered once unless the node closes). */
function nextFrame(): { bytes: Buffer; messages: number } {
  const roll = r.below(1000);
  if (roll < RANDOM_PER_MILLE) return { bytes: r.bytes(r.below(64)), messages: 0 };
  const count = 1 + r.below(4);
  writer.reset();
  writer.writeArrayHeader(count);
  for (let i = 0; i < count; i++) {
    writer.writeArrayHeader(3);
    writer.writeUint(1 + r.below(1_000_000));
    writer.writeUint(hostileOp());
    writer.writeValue(hostileBody());
  }
  const bytes = writer.copy() as Buffer;
  if (roll < RANDOM_PER_MILLE + MUTATED_PER_MILLE) {
    for (let e = 1 + r.below(3); e > 0; e--) bytes[r.below(bytes.length)] = r.below(256);
  }
  return { bytes, messages: count };
}

interface FuzzStats {
  frames: number;
  answerFrames: number;
  answers: number;
  malformed: string[];
  closes: Map<number, number>;
}

/** One fuzz connection: HELLO, then frames until `quota` are sent, reconnecting after a close. */
async function fuzzConnection(url: string, quota: () => boolean, stats: FuzzStats): Promise<void> {
  while (quota()) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let answered = 0;
    let sent = 0;
    let wake: (() => void) | null = null;
    let closed = false;
    ws.on('error', () => {});
    ws.on('message', (data: Buffer) => {
      const reader = new Reader(data);
      let held = 0;
      let announced = -1;
      try {
        announced = reader.readArrayHeader();
        for (; held < announced; held++) reader.readValue();
        if (!reader.atEnd()) throw new Error('trailing bytes');
      } catch (err) {
        stats.malformed.push(`${(err as Error).message}: announced ${announced}, held ${held}: ${data.subarray(0, 48).toString('hex')}`);
      }
      stats.answerFrames++;
      stats.answers += held;
      answered += held;
      wake?.();
    });
    const opened = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('close', () => resolve(false));
    });
    ws.on('close', (code: number) => {
      closed = true;
      stats.closes.set(code, (stats.closes.get(code) ?? 0) + 1);
      wake?.();
    });
    if (!opened) continue;
    ws.send(pack1([0, 1, { protocol: 1 }]));
    sent++;
    while (!closed && quota()) {
      const frame = nextFrame();
      stats.frames++;
      ws.send(frame.bytes);
      sent += frame.messages;
      while (!closed && sent - answered > WINDOW_MESSAGES) await new Promise<void>((resolve) => (wake = resolve));
    }
    // Let the last answers in, then close (a closed connection's answers are not waited for).
    while (!closed && sent > answered) await new Promise<void>((resolve) => (wake = resolve));
    if (!closed) ws.terminate();
  }
}

function pack1(message: unknown[]): Buffer {
  const w = new Writer(256);
  w.writeArrayHeader(1);
  w.writeValue(message);
  return w.copy() as Buffer;
}

t.test(`${FRAMES} hostile frames: answers well-formed, node whole, probe served`, async (t) => {
  // The node runs in a process of its own, so its RSS and the probe's latency are the node's.
  const { child, host } = await startCliNode(memoryNodeConfig('fuzz', ['test', 'probe']));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const url = `ws://${host}`;
  const client = await connect({ hosts: host, timeoutMs: 10_000 });
  t.teardown(() => client.close());
  await client.ping();
  const idleRss = rssOf(child.pid!);
  // The probe runs in a thread of its own, so the fuzzer's work here does not count in its latency.
  const probe = new Worker(path.join(__dirname, '..', 'helpers', 'probe-worker.js'), { workerData: { host, ns: 'probe' } });
  t.teardown(() => probe.terminate());
  const report = new Promise<ProbeReport>((resolve, reject) => {
    probe.on('message', (m: unknown) => {
      if (m !== 'ready') resolve(m as ProbeReport);
    });
    probe.once('error', reject);
  });
  await new Promise<void>((resolve) => probe.once('message', () => resolve()));

  const stats: FuzzStats = { frames: 0, answerFrames: 0, answers: 0, malformed: [], closes: new Map() };
  const startedMs = Date.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, () => fuzzConnection(url, () => stats.frames < FRAMES, stats)));
  const elapsedMs = Date.now() - startedMs;
  probe.postMessage('stop');
  const { calls: probeCalls, failures: probeFailures, latenciesMs } = await report;

  latenciesMs.sort((a, b) => a - b);
  const p50 = latenciesMs[Math.floor(latenciesMs.length * 0.5)] ?? 0;
  const p99 = latenciesMs[Math.floor(latenciesMs.length * 0.99)] ?? 0;
  const max = latenciesMs[latenciesMs.length - 1] ?? 0;
  t.comment(`${stats.frames} frames in ${elapsedMs} ms; ${stats.answerFrames} answer frames, ${stats.answers} answers; closes ${JSON.stringify([...stats.closes])}`);
  t.comment(
    `probe: ${probeCalls} calls, put+get+ping p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms; node RSS ${(idleRss / 2 ** 20).toFixed(0)} MiB before, ${(rssOf(child.pid!) / 2 ** 20).toFixed(0)} MiB after`,
  );
  t.ok(stats.frames >= FRAMES, `${stats.frames} frames sent`);
  t.same(stats.malformed.slice(0, 5), [], 'every answer frame decodes with exactly its announced count');
  t.same(probeFailures.slice(0, 5), [], 'every probe call succeeded');
  t.ok(probeCalls > 0, 'the probe ran');
  const info = (await client.info()) as { workers: { restarts: number; state: string }[] };
  t.same(
    info.workers.map((w) => [w.state, w.restarts]),
    info.workers.map(() => ['up', 0]),
    'no worker restarted',
  );
  await client.ping();
});
