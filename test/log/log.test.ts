// Proves the node's log: JSON lines with time, level, thread and message (and an event's fields),
// the level honoured by the primary and by every worker thread (a worker's own lines carry its
// name), and nothing at all at level silent.
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { closeLog, createLog, logSettings } from '../../src/log';
import { loadConfig, type NodeConfig } from '../../src/config';
import { startNode } from '../../src/primary/node';
import { connect } from '../../src/client/index';
import { Key } from '../../src/index';
import { waitForValue } from '../helpers/wait';

type Line = { time: string; level: string; thread: string; msg: string } & Record<string, unknown>;
const readLines = (file: string): Line[] =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Line)
    : [];

t.test('a thread log writes JSON lines at its level and above', async (t) => {
  const file = path.join(fs.mkdtempSync(path.join(tmpdir(), 'aerie-log-')), 'node.log');
  const config = loadConfig();
  config.log = { level: 'warn', file, format: 'json' };
  const settings = logSettings(config);
  t.equal(logSettings(config), settings, 'a node opens its log file once, whatever the threads');
  const log = createLog(settings, 'worker 3');
  log.debug('no');
  log.info('no');
  log.warn('disk low', { worker: 3, freeBytes: 1024 });
  log.error('log failed', { code: 1 });
  const lines = readLines(file);
  t.same(
    lines.map((l) => [l.level, l.thread, l.msg]),
    [
      ['warn', 'worker 3', 'disk low'],
      ['error', 'worker 3', 'log failed'],
    ],
  );
  t.equal(lines[0].freeBytes, 1024, 'an event keeps its fields');
  t.ok(!Number.isNaN(Date.parse(lines[0].time)), 'each line has its time');
  closeLog(config);
  t.throws(() => fs.fstatSync(settings.fd), { code: 'EBADF' }, 'closing the node closes its log file');
  const silent = path.join(path.dirname(file), 'silent.log');
  const quiet = loadConfig();
  quiet.log = { level: 'silent', file: silent, format: 'json' };
  createLog(logSettings(quiet), 'primary').error('no');
  t.notOk(fs.existsSync(silent), 'silent writes nothing, not even the file');
});

async function runNode(_t: unknown, level: NodeConfig['log']['level']): Promise<Line[]> {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-log-'));
  const file = path.join(dir, 'node.log');
  const config = loadConfig();
  config.service.port = 0;
  config.workers.count = 2;
  config.supervisor.faultInjection = true;
  config.log = { level, file, format: 'json' };
  config.namespaces[0].storage = 'file';
  config.namespaces[0].dataDir = path.join(dir, 'data');
  const node = await startNode(config);
  const client = await connect({ hosts: `127.0.0.1:${node.address.port}`, timeoutMs: 10_000 });
  try {
    // A worker logs the full disk its writes meet (an error), then the return of space.
    await client.injectFault({ worker: 1, kind: 'disk-full' });
    await Promise.allSettled(Array.from({ length: 64 }, (_, i) => client.put(new Key('test', 'log', i), { i })));
    if (level !== 'silent' && level !== 'error') {
      await waitForValue(
        () => readLines(file),
        (ls) => ls.some((l) => l.thread === 'worker 1'),
        { what: 'worker 1 to log the full disk', timeoutMs: 10_000 },
      );
    }
    await client.injectFault({ worker: 1, kind: 'disk-ok' });
  } finally {
    await client.close();
    await node.close();
  }
  return readLines(file);
}

t.test('the level holds in the primary and in every worker thread', async (t) => {
  const info = await runNode(t, 'info');
  t.ok(
    info.some((l) => l.thread === 'primary' && l.level === 'info' && /listening on/.test(l.msg)),
    'the primary logs at info',
  );
  t.ok(
    info.some((l) => l.thread === 'worker 1'),
    'a worker logs with its name',
  );
  const error = await runNode(t, 'error');
  t.same(
    error.filter((l) => l.level === 'info' || l.level === 'warn' || l.level === 'debug'),
    [],
    'level error: no info or warn line from any thread',
  );
  t.same(await runNode(t, 'silent'), [], 'level silent: no line at all');
});
