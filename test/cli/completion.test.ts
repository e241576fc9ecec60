// Proves `aerie completion bash|zsh`: the script the real command prints, loaded into a real bash,
// completes commands, subcommands, each command's options (taken from its usage), fault kinds, and
// after --ns the namespaces of a real node; zsh's script parses; another shell is a usage error.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ExitCode } from '../../src/cli/args';
import { startTestNode } from '../helpers/node';
import { CLI, runCli } from '../helpers/run-cli';

t.test('completion scripts', async (t) => {
  const { node } = await startTestNode(t);
  const bash = await runCli(['completion', 'bash']);
  t.equal(bash.code, ExitCode.OK, bash.stderr);
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'aerie-completion-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const scriptFile = path.join(dir, 'aerie.bash');
  fs.writeFileSync(scriptFile, bash.stdout);
  // `aerie` on PATH for the --ns lookup the script runs.
  fs.writeFileSync(path.join(dir, 'aerie'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });

  /** What bash completes for the words typed so far (the last one being completed), sorted. */
  // Not execFileSync: the node runs in this process and must answer the --ns lookup meanwhile.
  const complete = async (...words: string[]) =>
    (
      await promisify(execFile)(
        'bash',
        ['-c', `source "$0"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _aerie; printf '%s\\n' "\${COMPREPLY[@]}"`, scriptFile],
        {
          encoding: 'utf8',
          env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, AERIE_HOST: `127.0.0.1:${node.address.port}` },
          timeout: 20_000,
        },
      )
    ).stdout
      .split('\n')
      .filter((w) => w !== '')
      .sort();

  t.same(await complete('aerie', 'sn'), ['snapshot']);
  t.same(await complete('aerie', 't'), ['top', 'truncate']);
  t.same(await complete('aerie', 'snapshot', ''), ['create', 'delete', 'list', 'restore']);
  t.same(await complete('aerie', 'top', '--i'), ['--interval', '--iterations']);
  t.ok((await complete('aerie', 'info', '--')).includes('--json'), 'options from the usage text');
  t.same(await complete('aerie', 'fault', '--kind', 'disk-'), ['disk-eio', 'disk-full', 'disk-low', 'disk-ok']);
  t.same(await complete('aerie', 'help', 'ba'), ['backup']);
  t.same(await complete('aerie', 'backup', '--ns', ''), ['test'], "the node's namespaces");

  const zsh = await runCli(['completion', 'zsh']);
  t.equal(zsh.code, ExitCode.OK);
  t.match(zsh.stdout, /bashcompinit/);
  t.match(zsh.stdout, /complete -o default -F _aerie aerie/);

  t.equal((await runCli(['completion', 'fish'])).code, ExitCode.USAGE);
  const names = await runCli(['completion', 'namespaces', '--host', `127.0.0.1:${node.address.port}`]);
  t.equal(names.stdout, 'test\n');
});
