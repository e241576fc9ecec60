// Proves the native load generator right where a benchmark cannot: its self-test passes (RIPEMD-160
// against reference.md's digest vectors, the HELLO map reader, the parsers), `--routing partition`
// splits the keys between workers exactly as the node's own digest and partition map do and every
// routed request is answered, and `--tls` completes against a TLS server with a throwaway CA made
// by the machine's openssl, and fails (exit 2) when it cannot verify the server; against the node
// itself, `--tls --routing partition` runs over wss:// to the front and to every worker endpoint.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pack, unpack } from 'msgpackr';
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { computeDigest, partitionOf } from '../../src/partition/digest';
import { startNode } from '../../src/primary/node';
import { startTestNode, testNodeConfig } from '../helpers/node';
import { waitFor } from '../helpers/wait';

const ROOT = path.resolve(__dirname, '../../..');
const BENCH = path.join(ROOT, 'native-bench');
const LOADGEN = path.join(BENCH, 'build', 'loadgen');
const LOADGEN_TIMEOUT_MS = 60_000;
const PARTITION_COUNT = 4096;

interface Report {
  ok: boolean;
  measured_completed: number;
  errors_total: number;
  protocol_errors: number;
  map?: { workers: number; connections_per_worker: number[]; keys_per_worker: number[]; ports: number[] };
}

/** Runs the generator without blocking this process: the node under test runs in it. */
function loadgen(args: string[]): Promise<{ status: number | null; report: Report | null }> {
  const child = spawn(LOADGEN, [...args, '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s: string) => (stdout += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), LOADGEN_TIMEOUT_MS);
  return new Promise((resolve) => {
    child.once('exit', (status) => {
      clearTimeout(timer);
      let report: Report | null = null;
      try {
        report = JSON.parse(stdout) as Report;
      } catch {
        // no report: the caller's assertion on it fails and shows the status
      }
      resolve({ status, report });
    });
  });
}

/** HELLO on a raw WebSocket: the partition map the node gives clients. */
async function helloMap(port: number): Promise<{ endpoints: (string | null)[]; masters: Buffer[] }> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const answer = new Promise<Buffer>((resolve) => socket.once('message', (data) => resolve(data as Buffer)));
  socket.send(pack([[0, 1, { protocol: 1 }]]));
  const [[, code, body]] = unpack(await answer) as [number, number, { map: { endpoints: (string | null)[]; masters: Buffer[] } }][];
  socket.close();
  if (code !== 0) throw new Error(`HELLO answered ${code}`);
  return body.map;
}

t.before(() => {
  const make = spawnSync('make', ['-C', BENCH, 'all', 'test'], { encoding: 'utf8' });
  if (make.status !== 0) throw new Error(`make -C native-bench failed:\n${make.stdout}${make.stderr}`);
});

t.test('the self-test passes', async (t) => {
  const r = spawnSync(path.join(BENCH, 'build', 'selftest'), { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
});

t.test('--routing partition sends each key to its master, as the node computes it', async (t) => {
  const { node } = await startTestNode(t, (c) => {
    c.service.workerPorts = 0;
  });
  const keys = 4000;
  const map = await helloMap(node.address.port);
  const expected = new Array<number>(map.endpoints.length).fill(0);
  for (let k = 0; k < keys; k++) expected[map.masters[0][partitionOf(computeDigest('b', k))]]++;
  t.equal(map.masters[0].length, PARTITION_COUNT);
  const { status, report } = await loadgen([
    '--port',
    String(node.address.port),
    '--routing',
    'partition',
    '--keys',
    String(keys),
    '--prefill',
    '--count',
    '2000',
    '--connections',
    '8',
    '--inflight',
    '4',
    '--read-pct',
    '100',
    '--warmup',
    '0',
  ]);
  t.equal(status, 0);
  t.ok(report?.ok);
  t.equal(report?.measured_completed, 2000);
  t.equal(report?.errors_total, 0);
  t.same(report?.map?.keys_per_worker, expected, 'the C digest and partition agree with src/partition/digest.ts');
  t.same(
    report?.map?.ports,
    map.endpoints.map((e) => Number(e?.split(':').pop())),
  );
  t.equal(
    report?.map?.connections_per_worker.reduce((a, b) => a + b, 0),
    8,
  );
  t.ok(report?.map?.connections_per_worker.every((n) => n >= 1));
  // String keys (--string-keys: the decimal text) hash with key type 3: the split follows them too.
  const expectedStrings = new Array<number>(map.endpoints.length).fill(0);
  for (let k = 0; k < keys; k++) expectedStrings[map.masters[0][partitionOf(computeDigest('b', String(k)))]]++;
  const strings = await loadgen([
    '--port',
    String(node.address.port),
    '--routing',
    'partition',
    '--string-keys',
    '--keys',
    String(keys),
    '--prefill',
    '--count',
    '500',
    '--connections',
    '4',
    '--warmup',
    '0',
  ]);
  t.equal(strings.status, 0);
  t.equal(strings.report?.errors_total, 0);
  t.same(strings.report?.map?.keys_per_worker, expectedStrings);
});

/** A throwaway CA and a certificate for 127.0.0.1 signed by it, made by the machine's openssl. */
function throwawayCertificates(t: Test): (name: string) => string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'loadgen-tls-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=loadgen test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext');
  return file;
}

t.test('--tls against a TLS server of the protocol, verified with a throwaway CA', async (t) => {
  const file = throwawayCertificates(t);
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const server = spawn(process.execPath, [path.join(BENCH, 'calibration', 'ws-map.js'), '--port', String(port), '--tls-cert', file('server.pem'), '--tls-key', file('server.key')], {
    stdio: 'ignore',
  });
  t.teardown(() => {
    server.kill('SIGTERM');
  });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
    { what: 'the TLS calibration server to listen' },
  );
  const ok = await loadgen(['--port', String(port), '--tls', '--ca', file('ca.pem'), '--keys', '1000', '--prefill', '--count', '3000', '--inflight', '16', '--batch', '4', '--warmup', '0']);
  t.equal(ok.status, 0);
  t.ok(ok.report?.ok);
  t.equal(ok.report?.measured_completed, 3000);
  t.equal(ok.report?.protocol_errors, 0);
  // Without the CA the server's certificate cannot be verified: the run fails, nothing is measured.
  const refused = await loadgen(['--port', String(port), '--tls', '--keys', '10', '--count', '10']);
  t.equal(refused.status, 2);
  t.equal(refused.report?.ok, false);
});

t.test('--tls --routing partition against a node serving wss:// on the front and every worker endpoint', async (t) => {
  const file = throwawayCertificates(t);
  // No SDK client of the helper's: it would need the CA too; the generator is the client here.
  const node = await startNode(
    testNodeConfig((c) => {
      c.service.workerPorts = 0;
      c.service.tls = { certFile: file('server.pem'), keyFile: file('server.key'), caFile: null, requestCert: false, minVersion: 'TLSv1.2' };
    }),
  );
  t.teardown(() => node.close());
  const keys = 2000;
  const r = await loadgen([
    '--port',
    String(node.address.port),
    '--tls',
    '--ca',
    file('ca.pem'),
    '--routing',
    'partition',
    '--keys',
    String(keys),
    '--prefill',
    '--count',
    '3000',
    '--connections',
    '4',
    '--inflight',
    '8',
    '--warmup',
    '0',
  ]);
  t.equal(r.status, 0, 'the run completes over wss://');
  t.ok(r.report?.ok);
  t.equal(r.report?.measured_completed, 3000);
  t.equal(r.report?.errors_total, 0);
  t.equal(r.report?.protocol_errors, 0);
  t.ok(
    r.report?.map?.connections_per_worker.every((n) => n >= 1),
    'connected to every worker endpoint over TLS',
  );
  // The generator's requests were answered by the workers, not only the front.
  const info = node.info() as { endpoints: { localRequests: number }[] };
  t.ok(
    info.endpoints.every((e) => e.localRequests > 0),
    'every worker endpoint served requests',
  );
});
