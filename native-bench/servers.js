'use strict';
// The servers `run.js` measures side by side: an Aerie node driven through its front port as
// clients that do not route do (pinned to one core like the peers, again unpinned, since a node
// runs a primary thread and two workers, and pinned with one copy of each partition instead of the
// default two), Aerie driven partition-routed (each request to its key's master worker endpoint,
// issue 12) pinned and unpinned with one and two copies, Redis without persistence (pinned,
// unpinned, and unpinned with two I/O threads), Redis with an append-only file fsynced every
// second, memcached with one worker thread, and two calibration servers that are not product code
// (calibration/): the least a Node server of our protocol (ws + a Map) and of RESP (net + a Map)
// can do on one core. Each runs as a child process on a free loopback port, in its own temporary
// directory, pinned with taskset to CPU 0 when pinning is on. Peers whose binaries are missing
// are skipped with the apt-get command that installs them.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const INDEX = path.join(ROOT, 'dist', 'src', 'index.js');

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_TAIL_BYTES = 8192;
const SERVER_CPU = 0;

/**
 * Every server the runner knows, in table order. `pinned: false` means "never pinned"; the others
 * follow the runner's --no-pin. Keys, values and the load are the same for all (see run.js).
 */
const SERVER_SPECS = [
  { id: 'aerie', label: 'Aerie', protocol: 'aerie', kind: 'aerie', pinned: true },
  { id: 'aerie-unpinned', label: 'Aerie, unpinned', protocol: 'aerie', kind: 'aerie', pinned: false },
  // The default keeps two copies (a replica on the other worker, docs/replication.md); this row
  // shows what replication costs.
  { id: 'aerie-one-copy', label: 'Aerie, one copy', protocol: 'aerie', kind: 'aerie', pinned: true, replicationFactor: 1 },
  // Partition-routed: the generator reads HELLO's map and sends each request to the worker
  // endpoint of its key's master (loadgen --routing partition), as the SDK does by default.
  { id: 'aerie-routed', label: 'Aerie routed', protocol: 'aerie', kind: 'aerie', pinned: true, routing: 'partition' },
  { id: 'aerie-routed-unpinned', label: 'Aerie routed, unpinned', protocol: 'aerie', kind: 'aerie', pinned: false, routing: 'partition' },
  { id: 'aerie-routed-one-copy', label: 'Aerie routed, one copy', protocol: 'aerie', kind: 'aerie', pinned: true, routing: 'partition', replicationFactor: 1 },
  { id: 'aerie-routed-one-copy-unpinned', label: 'Aerie routed, one copy, unpinned', protocol: 'aerie', kind: 'aerie', pinned: false, routing: 'partition', replicationFactor: 1 },
  { id: 'redis', label: 'Redis', protocol: 'redis', kind: 'redis', pinned: true, binary: 'redis-server', aof: false, install: 'apt-get install -y redis-server' },
  { id: 'redis-unpinned', label: 'Redis, unpinned', protocol: 'redis', kind: 'redis', pinned: false, binary: 'redis-server', aof: false, install: 'apt-get install -y redis-server' },
  // Redis 6+ can move socket reads and writes to I/O threads; the command itself still runs on
  // the main thread. Unpinned: two I/O threads on one core would only add switches.
  {
    id: 'redis-io-threads',
    label: 'Redis, io-threads 2',
    protocol: 'redis',
    kind: 'redis',
    pinned: false,
    binary: 'redis-server',
    aof: false,
    ioThreads: 2,
    install: 'apt-get install -y redis-server',
  },
  { id: 'redis-aof', label: 'Redis, AOF everysec', protocol: 'redis', kind: 'redis', pinned: true, binary: 'redis-server', aof: true, install: 'apt-get install -y redis-server' },
  { id: 'memcached', label: 'memcached', protocol: 'memcached', kind: 'memcached', pinned: true, binary: 'memcached', install: 'apt-get install -y memcached' },
  { id: 'node-ws-map', label: 'Node ws + Map', protocol: 'aerie', kind: 'calibration', pinned: true, script: 'ws-map.js' },
  { id: 'node-resp-map', label: 'Node RESP + Map', protocol: 'redis', kind: 'calibration', pinned: true, script: 'resp-map.js' },
  // What TLS costs (issue 13): the same two servers of our protocol with wss://, certificates
  // from a throwaway CA made with openssl for this run. Aerie's `service.tls` comes from the
  // security work; a node without it refuses the config and the row is reported as skipped.
  { id: 'aerie-tls', label: 'Aerie front, TLS', protocol: 'aerie', kind: 'aerie', pinned: true, tls: true },
  { id: 'node-ws-map-tls', label: 'Node ws + Map, TLS', protocol: 'aerie', kind: 'calibration', pinned: true, script: 'ws-map.js', tls: true },
];

/**
 * A throwaway CA and a certificate for 127.0.0.1 signed by it, made with the machine's openssl in
 * `dir`, for the TLS rows. null (and the TLS rows skipped) when openssl is missing.
 */
function makeCertificates(dir) {
  const run = (...args) => spawnSync('openssl', args, { cwd: dir, stdio: 'ignore' }).status === 0;
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  const ok =
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=aerie bench CA') &&
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1') &&
    run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  return ok ? { caFile: path.join(dir, 'ca.pem'), certFile: path.join(dir, 'server.pem'), keyFile: path.join(dir, 'server.key') } : null;
}

/** The version string of a peer's binary, or null when it cannot be run. */
function peerVersion(spec) {
  const flag = spec.kind === 'redis' ? '--version' : '-V';
  const r = spawnSync(spec.binary, [flag], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim().split('\n')[0];
}

function calibrationVersion() {
  const ws = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'ws', 'package.json'), 'utf8')).version;
  return `Node ${process.version}, ws ${ws}`;
}

function aerieVersion() {
  return `aerie ${JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}`;
}

/** memcached refuses to run as root unless told which user to become. */
function memcachedUserArgs() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return [];
  const passwd = fs.existsSync('/etc/passwd') ? fs.readFileSync('/etc/passwd', 'utf8') : '';
  return ['-u', /^nobody:/m.test(passwd) ? 'nobody' : 'root'];
}

/** The command line that starts a server, before pinning. */
function serverArgv(spec, port, dir, embedded, tls) {
  if (spec.kind === 'aerie') {
    const configPath = path.join(dir, 'aerie.json');
    const config = {
      // Worker endpoints on ephemeral ports (HELLO's map names them): port + 1 + i may be taken.
      service: { host: '127.0.0.1', port, workerPorts: 0, ...(spec.tls ? { tls: { certFile: tls.certFile, keyFile: tls.keyFile } } : {}) },
      namespaces: [{ name: 'test', storage: 'memory', ...(spec.replicationFactor === undefined ? {} : { replicationFactor: spec.replicationFactor }) }],
      log: { level: 'warn' },
      // On a machine shared with test suites a worker can miss the default 500 ms heartbeat
      // while the pinned core is busy (seen: worker 1 restarted "hung" mid-prefill at load 12);
      // a benchmark measures throughput, not the hang detector.
      supervisor: { heartbeatTimeoutMs: 5000 },
    };
    fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
    if (fs.existsSync(CLI) && !embedded) return { argv: [process.execPath, CLI, 'start', '--config', configPath], config };
    const script = `const { startNode, loadConfig } = require(${JSON.stringify(INDEX)});` + 'startNode(loadConfig(process.argv[1])).catch((e) => { console.error(e); process.exit(1); });';
    return { argv: [process.execPath, '-e', script, configPath], config };
  }
  if (spec.kind === 'calibration') {
    const certificates = spec.tls ? ['--tls-cert', tls.certFile, '--tls-key', tls.keyFile] : [];
    return { argv: [process.execPath, path.join(__dirname, 'calibration', spec.script), '--port', String(port), ...certificates] };
  }
  if (spec.kind === 'redis') {
    // No RDB snapshots in either configuration. The AOF one fsyncs every second from Redis's
    // background thread; automatic AOF rewrites (a fork that rewrites the whole file) are off so
    // that no row is measured while a rewrite child competes for the server's core.
    const persistence = spec.aof ? ['--appendonly', 'yes', '--appendfsync', 'everysec', '--auto-aof-rewrite-percentage', '0'] : ['--appendonly', 'no'];
    const threads = spec.ioThreads ? ['--io-threads', String(spec.ioThreads), '--io-threads-do-reads', 'yes'] : [];
    return {
      argv: ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, ...threads, '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'],
    };
  }
  return { argv: ['memcached', '-p', String(port), '-l', '127.0.0.1', '-t', '1', '-m', '1024', '-U', '0', ...memcachedUserArgs()] };
}

/** Keeps the last OUTPUT_TAIL_BYTES of a stream, to show when a child fails. */
function tail(stream) {
  const t = { text: '' };
  stream.setEncoding('utf8');
  stream.on('data', (s) => {
    t.text = (t.text + s).slice(-OUTPUT_TAIL_BYTES);
  });
  return t;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function pinnedArgv(cpu, argv, pin) {
  return pin ? ['taskset', '-c', String(cpu), ...argv] : argv;
}

/** Starts one server in `dir` and resolves once it accepts connections. */
async function startServer(spec, dir, opts) {
  const port = await freePort();
  const pin = opts.pin && spec.pinned;
  if (spec.tls && !opts.tls) throw new Error('no certificates: openssl is missing');
  const { argv: bare, config } = serverArgv(spec, port, dir, opts.embedded, opts.tls);
  const argv = pinnedArgv(SERVER_CPU, bare, pin);
  // taskset execs the server, so the child's pid is the server's own: /proc/<pid>/stat then
  // covers every thread of it (Aerie's primary and workers, Redis's background threads).
  const child = spawn(argv[0], argv.slice(1), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const server = { spec, port, pin, argv, config, child, pid: child.pid, output: tail(child.stdout), errors: tail(child.stderr), exited: false, exit: null };
  child.once('exit', (code, signal) => {
    server.exited = true;
    server.exit = signal ?? code;
  });
  child.once('error', (err) => {
    server.exited = true;
    server.exit = err.message;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.exited) {
      throw new Error(`${spec.label} exited (${server.exit}) before accepting connections:\n${server.errors.text}${server.output.text}`);
    }
    if (await canConnect(port)) {
      if (spec.routing === 'partition') server.endpoints = await waitForEndpoints(port);
      return server;
    }
    await sleep(50);
  }
  await stopServer(server);
  throw new Error(`${spec.label} did not accept connections on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms`);
}

/**
 * HELLO on Aerie's front port until its partition map lists an endpoint for every worker: they
 * start listening after the front does, and a routed generator needs them all.
 */
async function waitForEndpoints(port) {
  const WebSocket = require('ws');
  const { pack, unpack } = require('msgpackr');
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const endpoints = await new Promise((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}`);
      const done = (value) => {
        socket.terminate();
        resolve(value);
      };
      socket.once('error', () => done(null));
      socket.once('open', () => socket.send(pack([[0, 1, { protocol: 1 }]])));
      socket.once('message', (data) => done(unpack(data)[0][2]?.map?.endpoints ?? null));
    });
    if (endpoints && endpoints.length > 0 && endpoints.every((e) => e !== null)) return endpoints;
    await sleep(100);
  }
  throw new Error(`Aerie on port ${port}: worker endpoints not listed in HELLO's map within ${START_TIMEOUT_MS} ms`);
}

async function stopServer(server) {
  if (server.exited) return;
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)]);
  if (!stopped) {
    console.error(`bench: ${server.spec.label} ignored SIGTERM for ${STOP_TIMEOUT_MS} ms; killing it`);
    server.child.kill('SIGKILL');
    await exited;
  }
}

/** OS threads of a process (Node adds its own pool threads to Aerie's primary and workers). */
function threadCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return null;
  }
}

/** Resident memory of a process in MiB, from /proc/<pid>/status. */
function rssMiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

module.exports = {
  SERVER_SPECS,
  INDEX,
  aerieVersion,
  calibrationVersion,
  makeCertificates,
  peerVersion,
  startServer,
  stopServer,
  waitForEndpoints,
  threadCount,
  rssMiB,
  pinnedArgv,
  tail,
  sleep,
};
