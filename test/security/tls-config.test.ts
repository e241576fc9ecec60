// Proves service.tls is validated whole at load: required files, requestCert needing caFile, the
// TLS versions accepted, no unknown keys; and that paths are resolved.
import t from 'tap';
import * as path from 'node:path';
import { parseConfig } from '../../src/config';
import { AerieError, Status } from '../../src/errors';

function refusal(raw: unknown): number {
  try {
    parseConfig(raw);
  } catch (err) {
    return err instanceof AerieError ? err.code : -1;
  }
  return 0;
}

t.test('service.tls', async (t) => {
  t.equal(parseConfig({}).service.tls, null, 'off by default');
  const tls = parseConfig({ service: { tls: { certFile: 'c.pem', keyFile: 'k.pem' } } }).service.tls!;
  t.same(tls, { certFile: path.resolve('c.pem'), keyFile: path.resolve('k.pem'), caFile: null, requestCert: false, minVersion: 'TLSv1.2' });
  for (const [what, bad] of [
    ['no keyFile', { certFile: 'c.pem' }],
    ['requestCert without caFile', { certFile: 'c.pem', keyFile: 'k.pem', requestCert: true }],
    ['TLS 1.1', { certFile: 'c.pem', keyFile: 'k.pem', minVersion: 'TLSv1.1' }],
    ['an unknown key', { certFile: 'c.pem', keyFile: 'k.pem', ciphers: 'x' }],
    ['not an object', 'yes'],
  ] as const) {
    t.equal(refusal({ service: { tls: bad } }), Status.PARAMETER, what);
  }
  t.equal(refusal({ service: { tls: { certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca.pem', requestCert: true, minVersion: 'TLSv1.3' } } }), 0, 'client certificates required');
});
