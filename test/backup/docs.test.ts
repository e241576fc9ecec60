// Proves the backup documentation stays complete: every BackupFailure with its code, every backup
// limit in constants.ts, both commands in cli.md and in the command's own usage.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as constants from '../../src/constants';
import { statusName } from '../../src/errors';
import { BACKUP_FAILURES, BackupError } from '../../src/backup/backup-error';
import { MAIN_USAGE } from '../../src/cli/main';

// Compiled tests run from dist/test/backup, two levels below the repository root's dist.
const docs = (name: string) => readFileSync(join(__dirname, '..', '..', '..', 'docs', name), 'utf8');

t.test('backup.md names every failure with its code, and every backup limit', async (t) => {
  const backupDoc = docs('backup.md');
  for (const failure of BACKUP_FAILURES) {
    const code = new BackupError(failure, '').code;
    t.match(backupDoc, new RegExp(`\\| \`${failure}\` \\| ${statusName(code)}`), `${failure} (${statusName(code)})`);
  }
  for (const name of Object.keys(constants).filter((n) => n.startsWith('BACKUP_'))) {
    t.match(backupDoc, name.replace(/_(DEFAULT|MAX)$/, ''), name);
  }
});

t.test('cli.md and the main usage list both commands', async (t) => {
  const cliDoc = docs('cli.md');
  for (const command of ['backup', 'restore']) {
    t.match(cliDoc, `## aerie ${command}`);
    t.match(MAIN_USAGE, new RegExp(`^  ${command} `, 'm'));
  }
});
