// Run as a child process by failures.test.ts (not a test itself): backs up namespace 'test' in
// small pages and kills itself with SIGKILL once more than `bytes` are written, as a crash in the
// middle of a backup would. Arguments: host, out, bytes.
import { connect } from '../../../src/client/index';
import { backupNamespace } from '../../../src/backup/backup';

const [host, out, bytes] = process.argv.slice(2);

void (async () => {
  const client = await connect({ hosts: host });
  await backupNamespace(client, {
    ns: 'test',
    out,
    pageSize: 100,
    onProgress: (p) => {
      if (p.bytes > Number(bytes)) process.kill(process.pid, 'SIGKILL');
    },
  });
  process.exit(3); // the backup finished before the crash: the test cannot have its crash
})();
