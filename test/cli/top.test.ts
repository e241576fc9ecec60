// Proves `aerie top` against a real node, spawned as the real command: --once prints one frame
// with both workers and every line within 100 columns, --json one JSON document, two frames show
// requests per second, a bad interval is a usage error (as JSON with --json), and on a terminal
// the live view redraws until q quits it with exit 0.
import t from 'tap';
import { Key } from '../../src/client/index';
import { ExitCode } from '../../src/cli/args';
import { TOP_COLUMNS_MAX } from '../../src/cli/top';
import { startTestNode } from '../helpers/node';
import { runCli, runCliInTerminal } from '../helpers/run-cli';

t.test('aerie top', async (t) => {
  const { node, client } = await startTestNode(t);
  const host = ['--host', `127.0.0.1:${node.address.port}`];
  for (let i = 0; i < 50; i++) await client.put(new Key('test', 'top', i), { i });

  const once = await runCli(['top', '--once', ...host]);
  t.equal(once.code, ExitCode.OK, once.stderr);
  t.match(once.stdout, /^NAMESPACE\s+RF\s+RECORDS/m);
  t.match(once.stdout, /^test\s+2\s+50\s+100\b/m, 'the namespace: 50 records, 100 copies');
  t.match(once.stdout, /^\s*0\s+up\s/m, 'worker 0');
  t.match(once.stdout, /^\s*1\s+up\s/m, 'worker 1');
  const wide = once.stdout.split('\n').filter((line) => line.length > TOP_COLUMNS_MAX);
  t.same(wide, [], `every line within ${TOP_COLUMNS_MAX} columns`);

  const json = await runCli(['top', '--json', ...host]);
  t.equal(json.code, ExitCode.OK);
  const frame = JSON.parse(json.stdout) as { workers: { index: number; state: string; requestsPerSec: number | null }[] };
  t.same(
    frame.workers.map((w) => [w.index, w.state, w.requestsPerSec]),
    [
      [0, 'up', null],
      [1, 'up', null],
    ],
    'one frame: no rate yet',
  );

  // Two frames half a second apart while requests flow: the second shows a rate.
  let going = true;
  const load = (async () => {
    for (let i = 0; going; i++) await client.get(new Key('test', 'top', i % 50));
  })();
  const two = await runCli(['top', '--iterations', '2', '--interval', '0.5', ...host]);
  going = false;
  await load;
  t.equal(two.code, ExitCode.OK, two.stderr);
  const frames = two.stdout.split(/^aerie /m).filter((f) => f !== '');
  t.equal(frames.length, 2, 'two frames');
  t.match(frames[0], /^requests -\/s/m, 'the first frame has no rate');
  t.match(frames[1], /^requests \d+(\.\d)?k?\/s/m, 'the second frame has one');

  const bad = await runCli(['top', '--interval', '0.1', ...host]);
  t.equal(bad.code, ExitCode.USAGE);
  const badJson = await runCli(['top', '--interval', '0.1', '--json', ...host]);
  t.equal(badJson.code, ExitCode.USAGE);
  t.match(JSON.parse(badJson.stdout), { error: { code: null, name: 'USAGE' } });

  // On a terminal: frames drawn in place until q.
  let frameCount = 0;
  let typed = false;
  const live = await runCliInTerminal(['top', '--interval', '0.5', ...host], (output) => {
    // Nothing typed yet: `output` is everything the terminal showed so far.
    if (!typed) frameCount = output.split('\x1b[2J').length - 1;
    if (typed || frameCount < 2) return null;
    typed = true;
    return 'q';
  });
  t.equal(live.code, ExitCode.OK, `q quits (${live.stderr})`);
  t.ok(frameCount >= 2, 'redrawn in place (clear screen per frame)');
  t.match(live.stdout, /q to quit/);
});
