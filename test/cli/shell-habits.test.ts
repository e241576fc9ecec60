// Proves the shell's operator habits with the real command on a real terminal (util-linux
// `script`): Tab completes commands, namespaces and sets; history is saved to $AERIE_HISTORY and
// the next session recalls it with the up arrow; a line starting with a space is not kept; the
// file is cut back to its last SHELL_HISTORY_LINES_MAX lines; and the completer's rules alone.
import t from 'tap';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Key } from '../../src/client/index';
import { ExitCode } from '../../src/cli/args';
import { completeShellLine } from '../../src/cli/shell-completion';
import { SHELL_HISTORY_LINES_MAX, ShellHistory } from '../../src/cli/shell-history';
import { startTestNode } from '../helpers/node';
import { runCliInTerminal } from '../helpers/run-cli';

const UP = '\x1b[A';

/** Cursor movements and erasures readline draws with: the steps match the text alone. */
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** Types each step's keys once the terminal showed its `after` text since the step before (in order). */
function script(steps: { after: RegExp; keys: string }[]): (output: string) => string | null {
  let step = 0;
  let seen = '';
  return (output) => {
    seen += output.replace(ESCAPES, '');
    if (step >= steps.length || !steps[step].after.test(seen)) return null;
    seen = '';
    return steps[step++].keys;
  };
}

t.test('completion and history on a terminal', async (t) => {
  const { node, client } = await startTestNode(t);
  await client.put(new Key('test', 'demo', 'k0'), { a: 0 });
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-shell-history-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const historyFile = path.join(dir, 'history');
  const env = { AERIE_HISTORY: historyFile, AERIE_HOST: `127.0.0.1:${node.address.port}` };

  const first = await runCliInTerminal(
    ['shell'],
    script([
      { after: /aerie> $/, keys: 'pu\t' }, // the command
      { after: /put$/, keys: ' te\t' }, // the namespace
      { after: / test$/, keys: ' de\t' }, // the set (from INFO)
      { after: / demo$/, keys: ' k1 {"a":1}\r' },
      { after: /gen.*\n.*aerie> $/s, keys: ' get test demo k0\r' },
      { after: /"a": 0[\s\S]*aerie> $/, keys: 'get test demo k1\r' },
      { after: /"a": 1[\s\S]*aerie> $/, keys: 'quit\r' },
    ]),
    { env },
  );
  t.equal(first.code, ExitCode.OK, first.stdout.slice(-800));
  t.same(fs.readFileSync(historyFile, 'utf8').split('\n'), ['put test demo k1 {"a":1}', 'get test demo k1', 'quit', ''], 'completed lines saved; the one starting with a space not');
  t.equal(fs.statSync(historyFile).mode & 0o777, 0o600, 'readable by its owner only');
  t.equal((await client.get(new Key('test', 'demo', 'k1'))).bins.a, 1, 'the completed put ran');

  // The next session: up twice recalls "get test demo k1" (quit is the newest).
  await client.put(new Key('test', 'demo', 'k1'), { a: 2 });
  const second = await runCliInTerminal(
    ['shell'],
    script([
      { after: /aerie> $/, keys: `${UP}${UP}` },
      { after: /get test demo k1$/, keys: '\r' },
      { after: /"a": 2[\s\S]*aerie> $/, keys: 'quit\r' },
    ]),
    { env },
  );
  t.equal(second.code, ExitCode.OK, second.stdout.slice(-800));
  t.match(second.stdout, /"a": 2/, 'the recalled command ran');
});

t.test('the history file is cut back to its last lines', async (t) => {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-shell-history-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'history');
  const lines = Array.from({ length: SHELL_HISTORY_LINES_MAX + 5 }, (_, i) => `get test demo ${i}`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const loaded = new ShellHistory(file).load();
  t.equal(loaded.length, SHELL_HISTORY_LINES_MAX);
  t.equal(loaded[0], `get test demo ${SHELL_HISTORY_LINES_MAX + 4}`, 'newest first');
  t.equal(fs.readFileSync(file, 'utf8').split('\n').length - 1, SHELL_HISTORY_LINES_MAX, 'the file cut back');
  t.same(new ShellHistory(null).load(), [], 'no file: no history');
});

t.test('completion rules', async (t) => {
  const names = { namespaces: ['test', 'bar'], sets: async (ns: string) => (ns === 'test' ? ['demo', 'users'] : []) };
  t.same(await completeShellLine('sc', names), [['scan'], 'sc']);
  t.same(await completeShellLine('', names), [['exists', 'exit', 'get', 'help', 'incr', 'info', 'put', 'quit', 'remove', 'scan', 'touch'].sort(), '']);
  t.same(await completeShellLine('get t', names), [['test'], 't']);
  t.same(await completeShellLine('scan test ', names), [['demo', 'users'], ''], 'scan [set]');
  t.same(await completeShellLine('put test u', names), [['users'], 'u']);
  t.same(await completeShellLine('put test users k', names), [[], 'k'], 'a key: nothing to complete');
  t.same(await completeShellLine('info ', names), [[], '']);
});
