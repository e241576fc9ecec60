// Throwaway certificates for TLS tests, made at test time with the machine's `openssl` in a temp
// directory: two CAs (the node's and a stranger's), a server certificate for 127.0.0.1 and
// localhost from each, and a client certificate from each. EC P-256 keys: quick to make.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { X509Certificate } from 'node:crypto';

export interface CertPair {
  certFile: string;
  keyFile: string;
  /** SHA-256 fingerprint, as Node's TLSSocket.getPeerCertificate() shows it. */
  fingerprint256: string;
}

export interface TestCerts {
  dir: string;
  /** The node's CA and a stranger's. */
  caFile: string;
  otherCaFile: string;
  ca: Buffer;
  otherCa: Buffer;
  server: CertPair;
  /** The same names, signed by the other CA (the certificate a reload rotates to). */
  serverFromOther: CertPair;
  client: CertPair;
  clientFromOther: CertPair;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=Aerie test ${name}`],
    dir,
  );
}

function makeLeaf(dir: string, name: string, ca: string, extensions: string): CertPair {
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
  const certFile = path.join(dir, `${name}.pem`);
  return { certFile, keyFile: path.join(dir, `${name}.key`), fingerprint256: new X509Certificate(readFileSync(certFile)).fingerprint256 };
}

const SERVER_EXT = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\n';

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-tls-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  return {
    dir,
    caFile: path.join(dir, 'ca.pem'),
    otherCaFile: path.join(dir, 'other-ca.pem'),
    ca: readFileSync(path.join(dir, 'ca.pem')),
    otherCa: readFileSync(path.join(dir, 'other-ca.pem')),
    server: makeLeaf(dir, 'server', 'ca', SERVER_EXT),
    serverFromOther: makeLeaf(dir, 'server-other', 'other-ca', SERVER_EXT),
    client: makeLeaf(dir, 'client', 'ca', CLIENT_EXT),
    clientFromOther: makeLeaf(dir, 'client-other', 'other-ca', CLIENT_EXT),
  };
}
