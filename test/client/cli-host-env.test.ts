// Proves $AERIE_HOST names the node a command talks to when --host is not given, that --host
// still wins over it, and that an empty AERIE_HOST falls back to the default.
import t from 'tap';
import { DEFAULT_HOST, ExitCode, HOST_ENV, defaultHost } from '../../src/cli/args';
import { main } from '../../src/cli/main';
import { captureIo as capture } from '../helpers/cli-io';
import { startTestNode } from '../helpers/node';

t.test('defaultHost reads AERIE_HOST, ignoring an empty one', async (t) => {
  t.equal(defaultHost({}), DEFAULT_HOST);
  t.equal(defaultHost({ [HOST_ENV]: '' }), DEFAULT_HOST);
  t.equal(defaultHost({ [HOST_ENV]: '10.0.0.1:3100' }), '10.0.0.1:3100');
});

t.test('a command without --host talks to $AERIE_HOST; --host wins over it', async (t) => {
  const { node } = await startTestNode(t);
  const address = `127.0.0.1:${node.address.port}`;
  const saved = process.env[HOST_ENV];
  t.teardown(() => {
    if (saved === undefined) delete process.env[HOST_ENV];
    else process.env[HOST_ENV] = saved;
  });

  process.env[HOST_ENV] = address;
  const viaEnv = capture();
  t.equal(await main(['info', '--json'], viaEnv.io), ExitCode.OK, viaEnv.err());
  t.equal(JSON.parse(viaEnv.out()).pid, process.pid, 'INFO came from the node AERIE_HOST names');

  // Port 1: privileged, nothing listens there.
  process.env[HOST_ENV] = '127.0.0.1:1';
  const refused = capture();
  t.equal(await main(['info'], refused.io), ExitCode.FAILURE, 'AERIE_HOST is used: nothing answers there');
  const overridden = capture();
  t.equal(await main(['info', '--json', '--host', address], overridden.io), ExitCode.OK, '--host wins over AERIE_HOST');
  t.equal(JSON.parse(overridden.out()).pid, process.pid);
});
