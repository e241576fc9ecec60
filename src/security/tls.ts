// TLS for every endpoint of the node (service.tls; docs/security.md, TLS): the front port, each
// worker's endpoint and the admin port serve wss:// / https:// with the same certificate and key,
// read from PEM files. A reload (SIGHUP) reads them again and swaps the servers' secure context:
// handshakes from then on use the new certificate, connections already open keep theirs.

import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext, type TlsOptions } from 'node:tls';
import type { TlsConfig } from '../config';
import { AerieError, Status } from '../errors';

/** An endpoint's HTTP server: plain, or HTTPS when service.tls is set. */
export type EndpointServer = HttpServer | HttpsServer;

/** The server options of `tls`, its files read now; PARAMETER naming the file that cannot be read. */
export function tlsOptions(tls: TlsConfig): TlsOptions {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new AerieError(Status.PARAMETER, `config: service.tls.${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  };
  return {
    cert: read(tls.certFile, 'certFile'),
    key: read(tls.keyFile, 'keyFile'),
    ...(tls.caFile === null ? {} : { ca: read(tls.caFile, 'caFile') }),
    // A client certificate is asked for only when required, and then one not signed by caFile
    // (or none) fails the handshake: no frame, no HTTP request, is read from such a client.
    requestCert: tls.requestCert,
    rejectUnauthorized: tls.requestCert,
    minVersion: tls.minVersion,
  };
}

/**
 * Checks at start that service.tls's files can be read and used together, before any thread
 * listens: PARAMETER naming the problem (a worker would otherwise fail at every start).
 */
export function checkTls(tls: TlsConfig | null): void {
  if (tls === null) return;
  const options = tlsOptions(tls);
  try {
    createSecureContext(options);
  } catch (err) {
    throw unusable(err);
  }
}

/** An HTTP or HTTPS server for an endpoint, as service.tls says. */
export function createEndpointServer(tls: TlsConfig | null, listener?: RequestListener): EndpointServer {
  if (tls === null) return listener === undefined ? createHttpServer() : createHttpServer(listener);
  const options = tlsOptions(tls);
  try {
    return listener === undefined ? createHttpsServer(options) : createHttpsServer(options, listener);
  } catch (err) {
    throw unusable(err);
  }
}

/**
 * Reads the certificate, key and CA again and makes them the server's for new handshakes. The
 * files are read before anything changes, so an unreadable or mismatched pair leaves the server
 * as it was and throws (PARAMETER).
 */
export function reloadTls(server: EndpointServer, tls: TlsConfig): void {
  const options = tlsOptions(tls);
  try {
    (server as HttpsServer).setSecureContext(options);
  } catch (err) {
    throw unusable(err);
  }
}

/** A certificate, key or CA that OpenSSL refuses (a key that does not match the certificate, say). */
function unusable(err: unknown): AerieError {
  return new AerieError(Status.PARAMETER, `config: service.tls: the certificate, key and CA cannot be used together: ${(err as Error).message}`);
}

/** ws:// or wss://, as clients reach an endpoint. */
export function wsScheme(tls: TlsConfig | null): string {
  return tls === null ? 'ws' : 'wss';
}
