// Proves the holds' shared memory: what the primary holds a worker thread sees, and the busy word
// a worker raises around a read it serves itself is what a move waits on (src/partition/holds.ts).
import t from 'tap';
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { PartitionHolds } from '../../src/partition/holds';

t.test('a hold and a busy word cross threads', async (t) => {
  const holds = PartitionHolds.create(2, 3);
  holds.hold(1, 4095);
  t.ok(holds.isHeld(1, 4095));
  t.notOk(holds.isHeld(0, 4095), 'per namespace');
  // A real thread attaches the same memory, sees the hold, and marks itself busy.
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { PartitionHolds } = require(workerData.module);
    const holds = PartitionHolds.attach(workerData.sab, 2, 3);
    holds.beginLocal(2);
    parentPort.postMessage(holds.isHeld(1, 4095) ? 1 : 0);
  `;
  const module = path.join(__dirname, '..', '..', 'src', 'partition', 'holds.js');
  const w = new Worker(code, { eval: true, workerData: { sab: holds.sab, module } });
  const seen = await new Promise((resolve) => w.once('message', resolve));
  await w.terminate();
  t.equal(seen, 1, 'the worker saw the hold');
  t.ok(holds.localBusy(2), 'the primary sees worker 2 busy');
  t.notOk(holds.localBusy(1));
  holds.clearLocal(2);
  t.notOk(holds.localBusy(2), 'a dead worker is busy no more');
  holds.beginLocal(0);
  t.ok(holds.localBusy(0));
  holds.endLocal(0);
  t.notOk(holds.localBusy(0));
  t.throws(() => holds.endLocal(0), 'ending what never began is a bug');
});
