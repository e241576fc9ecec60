#!/usr/bin/env node
// The JavaScript a worker endpoint runs per request, measured alone in one process: a Session
// decodes a frame, LocalRequests reads the routing fields and computes the digest, the Engine
// applies the request to a memory namespace with one copy (the path answered at once), the answer
// goes into the session's frame, and the turn's flush hands the frame to sendBinary, whose socket
// here only counts the bytes. No kernel, no ws frame parsing, no other thread: what is left is the
// code between socket and data, so an A/B of a change to it is not drowned in the noise of the
// socket path on a shared machine (native-bench/profile.js measures the whole node).
//
//   npx tsc -p . && node native-bench/endpoint-path.js [--root DIR] [--requests 200000] [--rounds 6]
//
// 100,000 keys prefilled, then 50/50 GET/PUT of random keys, 100-byte values, one request per
// frame and one flush per request (unpipelined). Prints the CPU per request of each round
// (process.cpuUsage) and the mean of all rounds but the first two (warm-up). `--root` names
// another checkout (built) to measure, for an A/B with the same script.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');

const { values } = parseArgs({
  options: {
    root: { type: 'string', default: path.join(__dirname, '..') },
    requests: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '6' },
  },
});
const ROOT = path.resolve(values.root);
const REQUESTS = Number(values.requests);
const ROUNDS = Number(values.rounds);
const WARMUP_ROUNDS = 2;
const KEYS = 100_000;
const FRAMES = 4096;
const VALUE_BYTES = 100;
const Op = { HELLO: 1, PUT: 2, GET: 3 };

const load = (p) => require(path.join(ROOT, 'dist', 'src', p));
const { parseConfig } = load('config');
const { storeLimits } = load('shm/store-limits');
const { RecordStore } = load('shm/record-store');
const { Namespace } = load('worker/namespace');
const { StatsBlock } = load('shm/stats');
const { Engine } = load('worker/engine');
const { LocalRequests } = load('worker/local-requests');
const { PartitionMap } = load('partition/map');
const { PartitionHolds } = load('partition/holds');
const { SetRegistry } = load('shm/set-registry');
const { QuarantineTable } = load('shm/quarantine-table');
const { Session } = load('endpoint/session');
const { ForwardingRouter } = load('worker/endpoint-router');
const { AnswerBudget } = load('endpoint/answer-budget');
const { FlushQueue } = load('endpoint/flush-queue');
const { RING_MESSAGE_BYTES_MAX } = load('constants');
const { pack } = require(path.join(ROOT, 'node_modules', 'msgpackr'));

// The turn's end, by hand: setImmediate callbacks (the flush queue's) are collected and run after
// each frame, as the event loop runs them after a turn's socket reads.
const immediates = [];
global.setImmediate = (f) => {
  immediates.push(f);
  return 0;
};
const endTurn = () => {
  while (immediates.length > 0) immediates.shift()();
};

const config = parseConfig({ workers: { count: 1 }, namespaces: [{ name: 'test', storage: 'memory', memoryBytesMax: 2 * 1024 ** 3, replicationFactor: 1 }] });
const nsConfig = config.namespaces[0];
const store = RecordStore.create({ ...storeLimits(nsConfig, 1) });
const engine = new Engine([new Namespace(0, nsConfig, 1, store, 0)], StatsBlock.create(1));
const sets = SetRegistry.create();
sets.assign('b');
const map = PartitionMap.create(1, [1]);
const local = new LocalRequests({
  workerIndex: 0,
  namespaces: [nsConfig],
  sets: [sets],
  map,
  holds: PartitionHolds.create(1, 1),
  apply: (bytes, view, start, end, out) => engine.handle(bytes, view, start, end, out),
  paused: () => false,
  served() {},
  record() {},
  queue: null,
  frameBytesMax: config.service.frameBytesMax,
  message: new SharedArrayBuffer(RING_MESSAGE_BYTES_MAX),
  quarantine: QuarantineTable.create(),
});
const router = new ForwardingRouter(
  () => {
    throw new Error('a request was forwarded: the bench measures only the path served here');
  },
  () => 0,
  local,
);
const service = config.service;
const flushes = new FlushQueue();
const host = {
  router,
  inFlightMax: service.inFlightPerConnectionMax,
  budget: new AnswerBudget(service.answerBytesMax, service.sendBufferBytesMax, nsConfig.recordBytesMax),
  frameBytesMax: service.frameBytesMax,
  helloTimeoutMs: 1_000_000_000,
  helloBody: () => ({ protocol: 1 }),
  mapVersion: () => map.version >>> 0,
  security: null,
  audit: null,
  scheduleFlush: (s) => flushes.schedule(s),
  closed() {},
  draining: () => false,
  fault() {},
};
let writtenBytes = 0;
// ws 8's fields that sendBinary (src/endpoint/ws-frame.ts) looks at before writing to the socket.
const socket = {
  write(b) {
    writtenBytes += b.length;
    return true;
  },
  on() {},
};
const handlers = {};
const ws = {
  readyState: 1,
  _socket: socket,
  _sender: { _state: 0, _queue: [] },
  _extensions: {},
  bufferedAmount: 0,
  on(event, f) {
    handlers[event] = f;
  },
  pause() {},
  resume() {},
  send() {
    throw new Error('ws.send: sendBinary left its fast path');
  },
  close() {},
  terminate() {},
};
const session = new Session(ws, host, 'bench');
const send = (frame) => {
  handlers.message(frame, true);
  endTurn();
};

const value = Buffer.alloc(VALUE_BYTES, 7);
const putBody = (k) => ({ ns: 'test', set: 'b', key: k, bins: { v: value } });
send(pack([[0, Op.HELLO, { protocol: 1 }]]));
for (let k = 0; k < KEYS; k++) send(pack([[k + 1, Op.PUT, putBody(k)]]));
let seed = 12345;
const nextKey = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % KEYS;
const frames = [];
// Ids past 2^31, as the native generator's (a sequence in the high bits).
for (let i = 0; i < FRAMES; i++) frames.push(pack([[0x9000_0000 + i, i & 1 ? Op.PUT : Op.GET, i & 1 ? putBody(nextKey()) : { ns: 'test', set: 'b', key: nextKey() }]]));

const perRound = [];
for (let round = 0; round < ROUNDS; round++) {
  const before = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) send(frames[i & (FRAMES - 1)]);
  const used = process.cpuUsage(before);
  perRound.push(((used.user + used.system) * 1000) / REQUESTS);
}
session.close(1000, 'done');
if (writtenBytes === 0) throw new Error('no answer was written');
const measured = perRound.slice(WARMUP_ROUNDS);
const mean = measured.reduce((a, b) => a + b, 0) / measured.length;
console.log(`${ROOT}: ${perRound.map((x) => x.toFixed(0)).join(' ')} ns CPU per request by round; mean of rounds ${WARMUP_ROUNDS + 1}-${ROUNDS}: ${mean.toFixed(0)} ns`);
