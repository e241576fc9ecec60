// Proves TLS end to end with certificates made by `openssl` at test time: the SDK reaches a node
// over wss:// (front and worker endpoints, with a login; the socket guard sees those sessions
// upgraded) and the admin port over https; plain
// ws:// and a client that trusts another CA are refused; a node requiring client certificates
// refuses a client without one or with one from another CA; the CLI takes --tls-ca; and after
// SIGHUP every endpoint serves the new certificate while a connection opened before keeps working.
import t from 'tap';
import { get as httpsGet } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import WebSocket from 'ws';
import { pack } from 'msgpackr';
import { connect, Key, type Client, type ClientOptions } from '../../src/client';
import { AerieError, Status } from '../../src/errors';
import { Op } from '../../src/protocol/ops';
import { main } from '../../src/cli/main';
import { startSecureNode, ADMIN_PASSWORD } from '../helpers/security';
import { startCliNode } from '../helpers/cli-node';
import { makeTestCerts } from '../helpers/tls-certs';
import { waitFor } from '../helpers/wait';
import { Reader } from '../../src/protocol/reader';

const certs = makeTestCerts();

/** The code connect() fails with, or 0 when it connects (and the client is closed again). */
async function connectCode(options: ClientOptions): Promise<number> {
  try {
    const client = await connect({ reconnect: false, connectTimeoutMs: 5000, ...options });
    await client.close();
    return 0;
  } catch (err) {
    return err instanceof AerieError ? err.code : -1;
  }
}

/** The SHA-256 fingerprint of the certificate a TLS port serves now. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.once('error', reject);
  });
}

/** HELLO with `fields` on a raw wss:// socket trusting `ca`: HELLO's code. */
function helloCode(url: string, ca: Buffer, fields: Record<string, unknown>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca, perMessageDeflate: false });
    ws.once('open', () => ws.send(pack([[0, Op.HELLO, { protocol: 1, ...fields }]])));
    ws.once('message', (data: Buffer) => {
      const r = new Reader(data);
      r.readArrayHeader();
      const [, code] = r.readValue() as [number, number];
      ws.terminate();
      resolve(code);
    });
    ws.once('error', reject);
  });
}

function httpsStatus(port: number, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    httpsGet({ host: '127.0.0.1', port, path: '/livez', ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).once('error', reject);
  });
}

/** A free loopback port (bound, then let go). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function capture(): { io: { stdout: PassThrough; stderr: PassThrough; stdin: Readable }; text: () => string } {
  let text = '';
  const out = new PassThrough();
  out.on('data', (d) => (text += d));
  return { io: { stdout: out, stderr: out, stdin: Readable.from([]) }, text: () => text };
}

t.test('wss:// on every endpoint, with logins, the SDK and the CLI', async (t) => {
  const tls = { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: null, requestCert: false, minVersion: 'TLSv1.2' as const };
  const { node, url } = await startSecureNode(t, (c) => {
    c.service.tls = tls;
    c.service.adminPort = 0;
  });
  t.match(url, /^wss:\/\//);
  const login = { user: 'admin', password: ADMIN_PASSWORD };
  const client: Client = await connect({ hosts: url, tls: { ca: certs.ca }, ...login, timeoutMs: 10_000 });
  t.teardown(() => client.close());
  await client.put(new Key('test', 'tls', 'k'), { v: 'over tls' });
  t.same((await client.get(new Key('test', 'tls', 'k')))?.bins, { v: 'over tls' }, 'put and get over wss://');
  t.equal(await connectCode({ hosts: `127.0.0.1:${node.address.port}`, tls: { ca: certs.ca }, ...login }), 0, 'a bare host with tls options is reached over wss:// too');
  const sockets = (node.info() as { descriptors: { sockets: { open: number; handshaking: number } } }).descriptors.sockets;
  t.ok(sockets.open >= 1, `sockets open: ${sockets.open}`);
  t.equal(sockets.handshaking, 0, 'the socket guard saw the TLS sessions finish their upgrade (else it would drop them at handshakeTimeoutMs)');

  t.equal(await connectCode({ hosts: `ws://127.0.0.1:${node.address.port}`, ...login }), Status.SERVER_NOT_AVAILABLE, 'plain ws:// to the TLS port');
  t.equal(await connectCode({ hosts: url, tls: { ca: certs.otherCa }, ...login }), Status.SERVER_NOT_AVAILABLE, 'a client trusting another CA refuses the node');
  t.equal(await connectCode({ hosts: url, ...login }), Status.SERVER_NOT_AVAILABLE, 'and one trusting only the system CAs');

  const endpoints = (client.server.map as { endpoints: string[] }).endpoints;
  t.ok(
    endpoints.every((e) => e !== null),
    'worker endpoints listen',
  );
  // The token the SDK keeps is private: a raw login at the front gives one.
  const token = await new Promise<string>((resolve, reject) => {
    const ws = new WebSocket(url, { ca: certs.ca, perMessageDeflate: false });
    ws.once('open', () => ws.send(pack([[0, Op.HELLO, { protocol: 1, ...login }]])));
    ws.once('message', (data: Buffer) => {
      const r = new Reader(data);
      r.readArrayHeader();
      const [, , body] = r.readValue() as [number, number, { token: string }];
      ws.terminate();
      resolve(body.token);
    });
    ws.once('error', reject);
  });
  for (const e of endpoints) t.equal(await helloCode(`wss://${e}`, certs.ca, { token }), Status.OK, `wss://${e}: a token login on the worker endpoint`);
  t.equal(await servedFingerprint(Number(endpoints[0].split(':')[1])), certs.server.fingerprint256, "a worker endpoint serves the node's certificate");
  t.equal(await httpsStatus(node.adminAddress!.port, certs.ca), 200, 'the admin port over https');

  const c = capture();
  process.env.AERIE_PASSWORD = ADMIN_PASSWORD;
  t.teardown(() => {
    delete process.env.AERIE_PASSWORD;
  });
  t.equal(await main(['info', '--host', url, '--user', 'admin', '--tls-ca', certs.caFile, '--json'], c.io), 0, `aerie info --tls-ca: ${c.text().slice(0, 200)}`);
  const refused = capture();
  t.equal(await main(['info', '--host', url, '--user', 'admin', '--tls-ca', certs.otherCaFile, '--json'], refused.io), 1, 'aerie info trusting another CA fails');
  t.match(refused.text(), /-8|SERVER_NOT_AVAILABLE/);
});

t.test('a node that requires client certificates', async (t) => {
  const { url } = await startSecureNode(t, (c) => {
    c.service.tls = { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.caFile, requestCert: true, minVersion: 'TLSv1.3' };
  });
  const login = { user: 'admin', password: ADMIN_PASSWORD };
  const file = (f: string) => readFileSync(f);
  t.equal(await connectCode({ hosts: url, tls: { ca: certs.ca }, ...login }), Status.SERVER_NOT_AVAILABLE, 'no client certificate: refused');
  t.equal(
    await connectCode({ hosts: url, tls: { ca: certs.ca, cert: file(certs.clientFromOther.certFile), key: file(certs.clientFromOther.keyFile) }, ...login }),
    Status.SERVER_NOT_AVAILABLE,
    'one from another CA: refused',
  );
  t.equal(await connectCode({ hosts: url, tls: { ca: certs.ca, cert: file(certs.client.certFile), key: file(certs.client.keyFile) }, ...login }), 0, "one the node's CA signed: in");
});

t.test('SIGHUP reloads the certificate on every endpoint; an open connection keeps working', async (t) => {
  // The node's files are copies, replaced in place as an operator rotating a certificate would.
  const certFile = path.join(certs.dir, 'live.pem');
  const keyFile = path.join(certs.dir, 'live.key');
  copyFileSync(certs.server.certFile, certFile);
  copyFileSync(certs.server.keyFile, keyFile);
  const adminPort = await freePort();
  const config = path.join(certs.dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      service: { port: 0, adminPort, tls: { certFile, keyFile } },
      workers: { count: 2 },
      namespaces: [{ name: 'test', storage: 'memory' }],
      log: { level: 'warn' },
    }),
  );
  const { child, host } = await startCliNode(config);
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const url = `wss://${host}`;
  const before = await connect({ hosts: url, tls: { ca: certs.ca }, timeoutMs: 10_000 });
  t.teardown(() => before.close());
  await before.put(new Key('test', 'hup', 1), { n: 1 });
  const endpointPorts = (before.server.map as { endpoints: string[] }).endpoints.map((e) => Number(e.split(':')[1]));
  const ports = [Number(host.split(':')[1]), ...endpointPorts];

  copyFileSync(certs.serverFromOther.certFile, certFile);
  copyFileSync(certs.serverFromOther.keyFile, keyFile);
  child.kill('SIGHUP');
  for (const port of ports) {
    await waitFor(async () => (await servedFingerprint(port)) === certs.serverFromOther.fingerprint256, { what: `port ${port} to serve the new certificate` });
  }
  t.pass(`front and ${endpointPorts.length} worker endpoints serve the new certificate`);
  t.equal(await servedFingerprint(adminPort), certs.serverFromOther.fingerprint256, 'and the admin port');
  t.equal(await connectCode({ hosts: url, tls: { ca: certs.otherCa } }), 0, 'a client trusting the new CA connects');
  t.equal(await connectCode({ hosts: url, tls: { ca: certs.ca } }), Status.SERVER_NOT_AVAILABLE, 'one trusting only the old CA no longer does');
  await before.put(new Key('test', 'hup', 2), { n: 2 });
  t.same((await before.get(new Key('test', 'hup', 1)))?.bins, { n: 1 }, 'the connection opened before the reload still works');
  t.equal(child.exitCode, null, 'the node is still running');
});

t.test('a certificate that cannot be used: refused at start, and a failed reload changes nothing', async (t) => {
  const mismatched = { certFile: certs.server.certFile, keyFile: certs.client.keyFile, caFile: null, requestCert: false, minVersion: 'TLSv1.2' as const };
  let code = 0;
  try {
    await startSecureNode(t, (c) => {
      c.service.tls = mismatched;
    });
  } catch (err) {
    code = err instanceof AerieError ? err.code : -1;
  }
  t.equal(code, Status.PARAMETER, 'a key that does not match the certificate stops the start');

  const certFile = path.join(certs.dir, 'inproc.pem');
  const keyFile = path.join(certs.dir, 'inproc.key');
  copyFileSync(certs.server.certFile, certFile);
  copyFileSync(certs.server.keyFile, keyFile);
  const { node } = await startSecureNode(t, (c) => {
    c.service.tls = { certFile, keyFile, caFile: null, requestCert: false, minVersion: 'TLSv1.2' };
  });
  copyFileSync(certs.serverFromOther.certFile, certFile); // the key is still the old one
  code = 0;
  try {
    node.reloadTls();
  } catch (err) {
    code = err instanceof AerieError ? err.code : -1;
  }
  t.equal(code, Status.PARAMETER, 'a reload with a mismatched pair is refused');
  t.equal(await servedFingerprint(node.address.port), certs.server.fingerprint256, 'and the old certificate is still served');
  copyFileSync(certs.serverFromOther.keyFile, keyFile);
  node.reloadTls();
  t.equal(await servedFingerprint(node.address.port), certs.serverFromOther.fingerprint256, 'once the pair matches, the reload takes');
});
