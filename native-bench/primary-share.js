// How much the primary thread works while clients talk straight to the worker endpoints that master
// their keys (issue 12): starts `aerie start` as a child process, drives a bounded 50/50 get/put
// load from this process over the workers' own ports (each key sent to its master's endpoint, from
// HELLO's map), and reads every thread's CPU from /proc/PID/task/*/stat before and after. Prints
// the primary thread's CPU per operation, its share of the node's CPU, and the requests the primary
// saw forwarded (INFO endpoints). Not a test; run after `npx tsc -p .`:
//
//   node native-bench/primary-share.js [--seconds 5] [--copies 2] [--storage memory|file] [--conns 8] [--depth 16] [--misroute]
//
// --misroute sends every key to the endpoint that does NOT master it, so every request is
// forwarded to the primary and back (what a client with a stale map or no routing costs).

'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const WebSocket = require('ws');
const { pack, unpack } = require('msgpackr');
const { computeDigest, partitionOf } = require('../dist/src/partition/digest');
const { Op } = require('../dist/src/protocol/ops');
const { PUT: OP_PUT, GET: OP_GET, INFO: OP_INFO } = Op;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    copies: { type: 'string', default: '2' },
    storage: { type: 'string', default: 'memory' },
    conns: { type: 'string', default: '8' },
    depth: { type: 'string', default: '16' },
    misroute: { type: 'boolean', default: false },
  },
});
const SECONDS = Math.min(60, Number(values.seconds));
const CONNS = Math.min(64, Number(values.conns));
const DEPTH = Math.min(64, Number(values.depth));
const KEYS = 10_000;
const TICK_HZ = 100; // USER_HZ on Linux: /proc stat times are in 1/100 s

function threadTimes(pid) {
  const out = new Map();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    out.set(tid, { name, ticks: Number(fields[11]) + Number(fields[12]) });
  }
  return out;
}

function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const waiters = new Map();
    ws.on('message', (data) => {
      for (const [id, code, body] of unpack(data)) waiters.get(id)?.(code, body);
    });
    ws.once('error', reject);
    ws.once('open', () => {
      let nextId = 1;
      const ask = (op, body) =>
        new Promise((res) => {
          const id = nextId++;
          waiters.set(id, (code, b) => {
            waiters.delete(id);
            res([code, b]);
          });
          ws.send(pack([[id, op, body]]));
        });
      ask(1, { protocol: 1 }).then(([, hello]) => resolve({ ws, ask, hello }));
    });
  });
}

async function main() {
  // A promise nobody settles must not end the process silently with an empty event loop.
  const keepAlive = setInterval(() => undefined, 1000);
  const stage = (what) => process.stderr.write(`${what}\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aerie-primary-share-'));
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      service: { port: 0, workerPorts: 0 },
      workers: { count: 2 },
      namespaces: [{ name: 'test', storage: values.storage, dataDir: path.join(dir, 'data'), replicationFactor: Number(values.copies) }],
      log: { level: 'warn' },
    }),
  );
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js'), 'start', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  const host = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('node did not start')), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ws:\/\/([\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  try {
    stage(`node at ${host}`);
    const front = await connect(`ws://${host}`);
    const map = front.hello.map;
    await front.ask(OP_PUT, { ns: 'test', set: 'b', key: -1, bins: { v: 0 } }); // registers the set
    const masters = map.masters[0];
    const keyMaster = Array.from({ length: KEYS }, (_, k) => masters[partitionOf(computeDigest('b', k))]);
    const peers = [];
    for (let w = 0; w < map.endpoints.length; w++) for (let c = 0; c < CONNS; c++) peers.push({ worker: w, peer: await connect(`ws://${map.endpoints[w]}`) });
    stage(`${peers.length} connections to ${map.endpoints.join(', ')}`);
    const infoBefore = (await front.ask(OP_INFO, {}))[1];
    const before = threadTimes(child.pid);
    let ops = 0;
    let errors = 0;
    const deadline = Date.now() + SECONDS * 1000;
    const startedMs = Date.now();
    const loop = async ({ worker, peer }, seed) => {
      let k = seed;
      while (Date.now() < deadline) {
        k = (k * 1103515245 + 12345) % KEYS;
        if ((keyMaster[k] === worker) === values.misroute) continue;
        const [code] = await (k & 1 ? peer.ask(OP_PUT, { ns: 'test', set: 'b', key: k, bins: { v: k } }) : peer.ask(OP_GET, { ns: 'test', set: 'b', key: k }));
        if (code === 0 || code === 2) ops++;
        else errors++;
      }
    };
    await Promise.all(peers.flatMap((p, i) => Array.from({ length: DEPTH }, (_, d) => loop(p, i * DEPTH + d + 1))));
    const elapsedS = (Date.now() - startedMs) / 1000;
    const after = threadTimes(child.pid);
    const infoAfter = (await front.ask(OP_INFO, {}))[1];
    let total = 0;
    const perThread = [];
    for (const [tid, a] of after) {
      const b = before.get(tid);
      const ticks = a.ticks - (b?.ticks ?? 0);
      total += ticks;
      if (ticks > 0) perThread.push({ tid, name: a.name, cpuMs: (ticks * 1000) / TICK_HZ });
    }
    const primary = after.get(String(child.pid)).ticks - before.get(String(child.pid)).ticks;
    const forwarded = infoAfter.endpoints.reduce((s, e, i) => s + e.forwarded - infoBefore.endpoints[i].forwarded, 0);
    const local = infoAfter.endpoints.reduce((s, e, i) => s + e.localRequests - infoBefore.endpoints[i].localRequests, 0);
    console.log(
      JSON.stringify(
        {
          storage: values.storage,
          copies: Number(values.copies),
          seconds: elapsedS,
          opsPerSecond: Math.round(ops / elapsedS),
          errors,
          servedByWorkers: local,
          forwardedToPrimary: forwarded,
          primaryCpuMs: (primary * 1000) / TICK_HZ,
          primaryCpuMicrosPerOp: Number(((primary * 1e6) / TICK_HZ / Math.max(1, ops)).toFixed(3)),
          primaryShareOfNodeCpu: Number((primary / Math.max(1, total)).toFixed(4)),
          nodeCpuMicrosPerOp: Number(((total * 1e6) / TICK_HZ / Math.max(1, ops)).toFixed(3)),
          misroute: values.misroute,
          threads: perThread,
        },
        null,
        1,
      ),
    );
    for (const p of peers) p.peer.ws.close();
    front.ws.close();
  } finally {
    child.kill('SIGKILL');
    clearInterval(keepAlive);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
