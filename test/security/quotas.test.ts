// Proves the quota counters are exact across threads: three real worker threads, released at once,
// charge the same user's counter and together pass exactly the limit (never more, never less),
// a new second starts from zero, slots and kinds are apart, and quota values are checked.
import t from 'tap';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AerieError, Status } from '../../src/errors';
import { QuotaCounters, QuotaKind, parseQuota, quotaKindOf } from '../../src/security/quotas';
import { Op } from '../../src/protocol/ops';
import { waitFor } from '../helpers/wait';

const LIMIT = 300_000;
const ATTEMPTS_PER_THREAD = 200_000;
const SECOND = 1_800_000_000;

/** A thread that charges slot 7's writes ATTEMPTS_PER_THREAD times and reports how many passed. */
const CHARGER = `
const { parentPort, workerData } = require('node:worker_threads');
const { QuotaCounters } = require(workerData.module);
const q = new QuotaCounters(workerData.sab);
const gate = new Int32Array(workerData.gate);
Atomics.add(gate, 1, 1);
Atomics.wait(gate, 0, 0); // released together, so the charges race
let passed = 0;
for (let i = 0; i < workerData.attempts; i++) if (q.charge(7, 1, 1, workerData.limit, workerData.second)) passed++;
parentPort.postMessage(passed);
`;

t.test('three threads charging one counter pass exactly the limit', async (t) => {
  const q = new QuotaCounters();
  const module = path.join(__dirname, '../../src/security/quotas.js');
  const gate = new Int32Array(new SharedArrayBuffer(8));
  const data = { sab: q.sab, gate: gate.buffer, module, attempts: ATTEMPTS_PER_THREAD, limit: LIMIT, second: SECOND };
  const threads = [0, 1, 2].map(() => new Worker(CHARGER, { eval: true, workerData: data }));
  const results = threads.map((w) => new Promise<number>((resolve, reject) => w.once('message', resolve).once('error', reject)));
  await waitFor(() => Atomics.load(gate, 1) === threads.length, { what: 'every charging thread at the gate' });
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
  const passed = await Promise.all(results);
  t.equal(passed[0] + passed[1] + passed[2], LIMIT, `passed ${passed.join(' + ')}: exactly the limit of ${LIMIT}`);
  t.equal(q.used(7, QuotaKind.WRITE, SECOND), LIMIT);
  t.equal(q.used(7, QuotaKind.READ, SECOND), 0, 'reads count apart');
  t.equal(q.used(8, QuotaKind.WRITE, SECOND), 0, 'other users count apart');
  t.notOk(q.charge(7, QuotaKind.WRITE, 1, LIMIT, SECOND), 'the second is used up');
  t.ok(q.charge(7, QuotaKind.WRITE, LIMIT, LIMIT, SECOND + 1), 'the next second starts from zero');
  t.notOk(q.charge(8, QuotaKind.READ, LIMIT + 1, LIMIT, SECOND), 'a charge larger than the limit never passes');
  t.equal(q.used(8, QuotaKind.READ, SECOND), 0, 'and charges nothing');
});

t.test('quota values and which ops count', async (t) => {
  t.equal(parseQuota(undefined, 'readQuota'), 0);
  t.equal(parseQuota(250, 'readQuota'), 250);
  for (const bad of [-1, 1.5, '10', 2e9]) {
    let code = 0;
    try {
      parseQuota(bad, 'readQuota');
    } catch (err) {
      code = err instanceof AerieError ? err.code : -1;
    }
    t.equal(code, Status.INVALID_FIELD, `${bad} refused`);
  }
  t.equal(quotaKindOf(Op.GET), QuotaKind.READ);
  t.equal(quotaKindOf(Op.SCAN), QuotaKind.READ);
  t.equal(quotaKindOf(Op.OPERATE), QuotaKind.WRITE);
  t.equal(quotaKindOf(Op.TRUNCATE), -1, 'TRUNCATE is not counted');
  t.equal(quotaKindOf(Op.INFO), -1);
});
