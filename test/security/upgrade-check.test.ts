// Proves the upgrade check refuses foreign origins and non-loopback Host names on a loopback bind
// (the cross-origin and DNS-rebinding attacks) and accepts what a local client or a listed web app sends.
import t from 'tap';
import { hostName, refuseUpgrade } from '../../src/security/upgrade-check';

const none = { allowedOrigins: [], allowedHosts: [] };

t.test('origins: absent is accepted, listed is accepted, anything else refused', async (t) => {
  t.equal(refuseUpgrade({ host: '127.0.0.1:3000' }, '127.0.0.1', none), null, 'a non-browser client sends no Origin');
  t.match(refuseUpgrade({ host: '127.0.0.1:3000', origin: 'http://evil.example' }, '127.0.0.1', none), /allowedOrigins/);
  t.match(refuseUpgrade({ host: '127.0.0.1:3000', origin: 'null' }, '127.0.0.1', none), /allowedOrigins/, 'a sandboxed page');
  const app = { allowedOrigins: ['https://app.example'], allowedHosts: [] };
  t.equal(refuseUpgrade({ host: 'localhost:3000', origin: 'https://APP.example' }, '127.0.0.1', app), null, 'case-insensitive');
  t.match(refuseUpgrade({ host: 'localhost:3000', origin: 'https://app.example.evil' }, '127.0.0.1', app), /allowedOrigins/);
  t.equal(refuseUpgrade({ host: 'localhost', origin: 'http://anything' }, '127.0.0.1', { allowedOrigins: ['*'], allowedHosts: [] }), null);
  t.match(refuseUpgrade({ host: 'localhost', origin: ['a', 'b'] }, '127.0.0.1', none), /more than one/);
});

t.test('hosts on a loopback bind: loopback names only, plus allowedHosts', async (t) => {
  for (const host of ['127.0.0.1:3000', 'localhost', 'LOCALHOST:1', '[::1]:3000', '127.1.2.3', 'app.localhost:80']) {
    t.equal(refuseUpgrade({ host }, '127.0.0.1', none), null, host);
  }
  for (const host of ['evil.example', 'evil.example:3000', '10.0.0.1:3000', 'localhost.evil.example']) {
    t.match(refuseUpgrade({ host }, '127.0.0.1', none), /loopback/, host);
  }
  t.match(refuseUpgrade({}, '::1', none), /no Host/);
  t.equal(refuseUpgrade({ host: 'dev.box:3000' }, 'localhost', { allowedOrigins: [], allowedHosts: ['dev.box'] }), null);
});

t.test('hosts on a wider bind: any unless allowedHosts names them; addresses always', async (t) => {
  t.equal(refuseUpgrade({ host: 'db.example:3000' }, '0.0.0.0', none), null);
  const listed = { allowedOrigins: [], allowedHosts: ['db.example'] };
  t.equal(refuseUpgrade({ host: 'db.example:3000' }, '0.0.0.0', listed), null);
  t.equal(refuseUpgrade({ host: '10.1.2.3:3000' }, '0.0.0.0', listed), null);
  t.match(refuseUpgrade({ host: 'evil.example' }, '0.0.0.0', listed), /allowedHosts/);
});

t.test('host names lose their port', async (t) => {
  t.same(['a:1', '[::1]:80', '::1', 'A.b'].map(hostName), ['a', '::1', '::1', 'a.b']);
});
