// Proves a session token verifies only with the secret that signed it, unaltered and unexpired.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Status } from '../../src/errors';
import { TokenSigner } from '../../src/security/tokens';

t.test('issue and verify', async (t) => {
  const signer = new TokenSigner(randomBytes(32));
  const token = signer.issue({ user: 'ann', credentialEpoch: 3, expiresAtMs: 2000 });
  t.same(signer.verify(token, 1999), { user: 'ann', credentialEpoch: 3, expiresAtMs: 2000 });
  t.throws(() => signer.verify(token, 2000), { code: Status.EXPIRED_SESSION });
  t.throws(() => new TokenSigner(randomBytes(32)).verify(token, 0), { code: Status.INVALID_CREDENTIAL }, "another node's secret");
  const [payload, sig] = token.split('.');
  const forged = Buffer.from(JSON.stringify({ u: 'admin', c: 3, e: 2000 })).toString('base64url');
  t.throws(() => signer.verify(`${forged}.${sig}`, 0), { code: Status.INVALID_CREDENTIAL }, 'a changed payload');
  for (const bad of ['', '.', 'x', `${payload}.`, `${payload}.${sig}x`, 5, null, 'a'.repeat(5000)]) {
    t.throws(() => signer.verify(bad, 0), { code: Status.INVALID_CREDENTIAL }, String(bad).slice(0, 20));
  }
});
