// Proves graceful shutdown of a real `aerie start` process: on SIGTERM it stops taking requests,
// answers every request in flight, and exits 0; no write is left in doubt.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connect, Key, status } from '../../src/index';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');

t.test('SIGTERM drains in-flight requests and exits 0', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aerie-shutdown-'));
  const config = path.join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ service: { port: 0 }, workers: { count: 2 }, namespaces: [{ name: 'test' }] }));
  const child = spawn(process.execPath, [CLI, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ws:\/\/([\d.]+):(\d+)/.exec(out);
      if (m) resolve(`${m[1]}:${m[2]}`);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const client = await connect({ hosts: url, reconnect: false, timeoutMs: 10_000 });
  await client.put(new Key('test', 's', 'before'), { v: 1 });

  // Keep writes flowing across the signal, so some arrive while the node drains.
  const writes: Promise<unknown>[] = [];
  let sending = true;
  const pump = async () => {
    for (let round = 0; sending && round < 2000; round++) {
      for (let i = 0; i < 100; i++) {
        const n = writes.length;
        writes.push(
          client.put(new Key('test', 's', n), { v: n }).then(
            () => 'ok',
            (e: { code: number; inDoubt: boolean }) => e,
          ),
        );
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  const pumping = pump();
  await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  const code = await exited;
  sending = false;
  await pumping;
  const results = await Promise.all(writes);
  const ok = results.filter((r) => r === 'ok').length;
  const refused = results.filter((r) => r !== 'ok' && (r as { code: number }).code === status.PARTITION_UNAVAILABLE);
  const other = results.filter((r) => r !== 'ok' && (r as { code: number }).code !== status.PARTITION_UNAVAILABLE);
  t.ok(ok > 0, `${ok} writes acknowledged`);
  t.equal(ok + refused.length + other.length, writes.length, `every one of ${writes.length} writes settled (${refused.length} refused while draining, ${other.length} not sent)`);
  t.ok(
    refused.every((r) => !(r as { inDoubt: boolean }).inDoubt),
    'writes refused while draining are definite, not in doubt',
  );
  // Writes the client had not yet sent when the socket closed fail as not sent, never as in doubt.
  const doubtful = other.filter((r) => (r as { inDoubt: boolean }).inDoubt);
  t.same(
    doubtful.slice(0, 3).map((e) => ({ code: (e as { code: number }).code, message: (e as Error).message })),
    [],
    'no write left in doubt by a graceful shutdown',
  );
  t.equal(code, 0, 'exit code 0');
  t.match(out, /shutting down/);
  await client.close();
});
