// Proves ensureDirectory is safe when several threads create the same missing parents at once, as
// the workers of a node do for `<dataDir>/<namespace>` on a first start.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { ensureDirectory } from '../../src/storage/segment-files';
import { makeTempDir } from './helpers/records';

const MODULE = path.join(__dirname, '..', '..', 'src', 'storage', 'segment-files.js');
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { ensureDirectory } = require(workerData.module);
const gate = new Int32Array(workerData.gate);
Atomics.wait(gate, 0, 0);
try { ensureDirectory(workerData.dir); parentPort.postMessage(null); }
catch (e) { parentPort.postMessage(String(e && e.message)); }
`;

t.test('threads racing to create shared parents all succeed', async (t) => {
  const { dir, cleanup } = makeTempDir('mkdir');
  t.teardown(cleanup);
  for (let round = 0; round < 10; round++) {
    const gate = new SharedArrayBuffer(4);
    const threads = Array.from(
      { length: 4 },
      (_, i) =>
        new Worker(THREAD, {
          eval: true,
          workerData: { module: MODULE, gate, dir: path.join(dir, `r${round}`, 'data', 'ns', `worker-0${i}`) },
        }),
    );
    const results = threads.map(
      (w) =>
        new Promise<string | null>((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        }),
    );
    await new Promise((r) => setTimeout(r, 20)); // every thread is parked on the gate
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    t.same(await Promise.all(results), [null, null, null, null], `round ${round}`);
    for (const w of threads) await w.terminate();
    for (let i = 0; i < 4; i++) t.ok(fs.statSync(path.join(dir, `r${round}`, 'data', 'ns', `worker-0${i}`)).isDirectory());
  }
});

t.test('a path that exists as a file is refused with a coded storage error', async (t) => {
  const { dir, cleanup } = makeTempDir('mkdir');
  t.teardown(cleanup);
  fs.writeFileSync(path.join(dir, 'plain'), 'x');
  let failure: unknown = null;
  try {
    ensureDirectory(path.join(dir, 'plain'));
  } catch (error) {
    failure = (error as { failure?: unknown }).failure;
  }
  t.equal(failure, 'bad-directory');
});
