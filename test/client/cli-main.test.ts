// Proves the command dispatch, help texts, usage errors (exit 2), and `aerie info` against a
// mock node: readable tables, raw --json, and exit 1 when no node answers.
import t from 'tap';
import { createServer } from 'node:net';
import { ExitCode } from '../../src/cli/args';
import { formatInfo } from '../../src/cli/info';
import { main, MAIN_USAGE } from '../../src/cli/main';
import { CLIENT_VERSION } from '../../src/client/version';
import { Op } from '../../src/protocol/ops';
import { MockNode } from '../helpers/scripted-node';
import { captureIo as capture } from '../helpers/cli-io';

const INFO = {
  node: 'aerie',
  version: '0.1.0',
  pid: 42,
  uptimeMs: 61_000,
  partitionMapVersion: 3,
  connections: { open: 2, opened: 5, closed: 3 },
  requestsInFlight: 0,
  replication: { partitionsMoving: 0, writesWaiting: 2, movesDone: 4 },
  namespaces: [
    {
      name: 'test',
      storage: 'memory',
      replicationFactor: 2,
      records: 10,
      copies: 20,
      memoryBytes: 1024 * 1024,
      memoryBytesMax: 4 * 1024 ** 3,
      stopWrites: false,
      stopWritesPct: 90,
      expired: 0,
      defaultTtlSec: 0,
    },
  ],
  workers: [
    {
      index: 0,
      state: 'up',
      partitions: 2048,
      roles: { master: 2048, replica: 2048, outOfSync: 7 },
      records: 10,
      requests: 20,
      reads: 8,
      writes: 10,
      deletes: 1,
      notFound: 1,
      errors: 0,
      scanPages: 0,
      heartbeatAgeMs: 12,
      eventLoopLagMs: 3,
      heapUsedBytes: 6 * 1024 * 1024,
      restarts: 1,
      lastFailure: 'exit code 70',
      rebuild: { partitionsRemaining: 7, partitionsTotal: 2048, recordsMoved: 1234, elapsedMs: 900 },
      lastRebuild: { partitions: 2048, records: 5000, elapsedMs: 1500 },
    },
  ],
  big: 2n ** 62n,
};

t.test('help and version', async (t) => {
  for (const argv of [['--help'], ['-h'], ['help']]) {
    const { io, out } = capture();
    t.equal(await main(argv, io), ExitCode.OK);
    t.equal(out(), `${MAIN_USAGE}\n`);
  }
  for (const command of ['start', 'info', 'shell']) {
    const viaHelp = capture();
    t.equal(await main(['help', command], viaHelp.io), ExitCode.OK);
    t.match(viaHelp.out(), `usage: aerie ${command}`);
    const viaFlag = capture();
    t.equal(await main([command, '--help'], viaFlag.io), ExitCode.OK);
    t.equal(viaFlag.out(), viaHelp.out());
  }
  const version = capture();
  t.equal(await main(['--version'], version.io), ExitCode.OK);
  t.equal(version.out(), `${CLIENT_VERSION}\n`);
});

t.test('usage errors exit 2', async (t) => {
  for (const argv of [[], ['frobnicate'], ['help', 'nope'], ['info', '--bogus'], ['info', 'extra'], ['shell', '--host'], ['start', '--config']]) {
    const { io, err } = capture();
    t.equal(await main(argv, io), ExitCode.USAGE, argv.join(' '));
    if (argv.length > 0) t.match(err(), /^aerie: .+\n(usage: aerie)/, argv.join(' '));
  }
});

t.test('info', async (t) => {
  const node = await MockNode.start({ onRequest: (r) => r.reply(0, r.op === Op.INFO ? INFO : null) });
  t.teardown(() => node.close());
  const readable = capture();
  t.equal(await main(['info', '--host', node.host], readable.io), ExitCode.OK);
  t.equal(readable.out(), `${formatInfo(INFO)}\n`);
  t.match(readable.out(), /node\s+aerie 0\.1\.0 \(pid 42\), up 1m 1s/);
  t.match(readable.out(), /partition map version\s+3/);
  t.match(readable.out(), /replication\s+0 partitions moving, 2 writes waiting for replicas, 4 moves done/);
  t.match(readable.out(), /test\s+memory\s+2\s+10\s+20\s+1\.0 MiB\s+4\.0 GiB\s+0\.0%\/90%\s+no/);
  t.match(readable.out(), /0\s+up\s+2048\s+2048\s+7\s+10\s+12ms ago\s+3ms\s+6\.0 MiB\s+1/);
  t.match(readable.out(), /^0\s+20\s+8\s+10\s+1\s+1\s+0\s+0$/m, "the worker's requests in a table of their own");
  t.match(readable.out(), /worker 0 rebuilding: 7 of 2048 partitions left, 1234 records copied/);
  t.match(readable.out(), /worker 0 last rebuild: 2048 partitions, 5000 records in/);
  t.match(readable.out(), /worker 0 last failure: exit code 70/);
  const json = capture();
  t.equal(await main(['info', '--host', node.host, '--json'], json.io), ExitCode.OK);
  const parsed = JSON.parse(json.out());
  t.equal(parsed.workers[0].partitions, 2048);
  t.match(json.out(), /"big": 4611686018427387904/);
});

t.test('info tolerates missing fields', async (t) => {
  t.match(formatInfo({}), /node\s+- - \(pid -\), up -/);
});

t.test('no node: exit 1 with the error', async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const command of ['info', 'shell']) {
    const { io, err } = capture();
    t.equal(await main([command, '--host', `127.0.0.1:${port}`], io), ExitCode.FAILURE);
    t.match(err(), /^error -8 SERVER_NOT_AVAILABLE: /);
  }
  const bad = capture();
  t.equal(await main(['info', '--host', 'not a host'], bad.io), ExitCode.FAILURE);
  t.match(bad.err(), /^error 4 PARAMETER: bad host/);
});
