// Proves `--json` on the commands that talk to a node prints exactly one JSON document on stdout,
// for an answer and for an error alike (the error with its result code), and that a usage error
// with --json is a JSON document too, with exit code 2.
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ExitCode } from '../../src/cli/args';
import { main } from '../../src/cli/main';
import { Key, status } from '../../src/index';
import { captureIo } from '../helpers/cli-io';
import { startTestNode } from '../helpers/node';
import { waitForValue } from '../helpers/wait';

async function run(argv: string[]): Promise<{ code: number | null; json: Record<string, unknown>; err: string }> {
  const { io, out, err } = captureIo();
  const code = await main(argv, io);
  return { code, json: JSON.parse(out()) as Record<string, unknown>, err: err() };
}

t.test('answers as JSON', async (t) => {
  const { node, client } = await startTestNode(t, (c) => {
    c.supervisor.faultInjection = true;
  });
  const host = ['--host', `127.0.0.1:${node.address.port}`];
  for (let i = 0; i < 20; i++) await client.put(new Key('test', 's', i), { v: i });

  const fault = await run(['fault', '--worker', '1', '--kind', 'disk-ok', '--json', ...host]);
  t.equal(fault.code, ExitCode.OK);
  t.same(fault.json, { worker: 1, kind: 'disk-ok', injected: true });

  const restart = await run(['worker', 'restart', '1', '--json', ...host]);
  t.equal(restart.code, ExitCode.OK);
  t.match(restart.json, { worker: 1, state: 'up' });
  // 'up' comes before the restarted worker's rebuild and the handback of its partitions. A
  // truncate that overlaps the handback counts a moving partition on both workers (each reports
  // the records of the partitions it masters when it applies its part), so wait for the handback.
  await waitForValue(
    async () => (await client.info()).workers as { state: string; roles: { master: number; outOfSync: number }; rebuild: unknown }[],
    (ws) => ws.every((w) => w.state === 'up' && w.rebuild === null && w.roles.outOfSync === 0 && w.roles.master === 2048),
    { what: 'worker 1 rebuilt and mastering its 2048 partitions again', timeoutMs: 30_000, intervalMs: 50 },
  );

  const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-cli-json-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 's.bak');
  const backup = await run(['backup', '--ns', 'test', '--set', 's', '--out', file, '--json', ...host]);
  t.equal(backup.code, ExitCode.OK, backup.err);
  t.match(backup.json, { ns: 'test', set: 's', out: file, records: 20 });

  const truncate = await run(['truncate', '--ns', 'test', '--set', 's', '--json', ...host]);
  t.equal(truncate.code, ExitCode.OK);
  t.same(truncate.json, { ns: 'test', set: 's', deleted: 20 });

  const restore = await run(['restore', file, '--policy', 'replace', '--json', ...host]);
  t.equal(restore.code, ExitCode.OK, restore.err);
  t.match(restore.json, { ns: 'test', records: 20, restored: 20, failed: 0, inDoubt: 0 });
});

t.test('errors as JSON, with their result code', async (t) => {
  const { node } = await startTestNode(t); // faultInjection off
  const host = ['--host', `127.0.0.1:${node.address.port}`];
  const refused = await run(['fault', '--worker', '0', '--kind', 'crash', '--json', ...host]);
  t.equal(refused.code, ExitCode.FAILURE);
  t.match(refused.json, { error: { code: status.FAIL_FORBIDDEN, name: 'FAIL_FORBIDDEN', inDoubt: false } });
  t.equal(refused.err, '', 'nothing on stderr');

  const unreachable = await run(['info', '--json', '--host', '127.0.0.1:1']);
  t.equal(unreachable.code, ExitCode.FAILURE);
  const error = unreachable.json.error as { code: unknown; name: unknown };
  t.ok(typeof error.code === 'number' && (error.code as number) < 0, `a client-side code: ${error.code} ${error.name}`);

  const usage = await run(['truncate', '--json', ...host]);
  t.equal(usage.code, ExitCode.USAGE);
  t.match(usage.json, { error: { code: null, name: 'USAGE' } });
});
