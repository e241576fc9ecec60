// Proves the shared quarantine table: a request is found by op, namespace, digest and body (not
// by anything else), a table attached in another thread sees what the primary adds, and it holds
// the last QUARANTINED_REQUESTS_MAX requests, forgetting the oldest first.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { QUARANTINED_REQUESTS_MAX } from '../../src/constants';
import { QuarantineTable } from '../../src/shm/quarantine-table';

const digest = (n: number) => {
  const d = new Uint8Array(20);
  new DataView(d.buffer).setUint32(0, n, true);
  return d;
};
const body = Uint8Array.from([0x81, 0xa1, 0x76, 0x01]);

t.test('a request is found by op, namespace, digest and body', async (t) => {
  const q = QuarantineTable.create();
  t.equal(q.size, 0);
  t.equal(q.has(3, 0, digest(1), 0, body, 0, body.length), false, 'an empty table holds nothing');
  q.add(3, 0, digest(1), 0, body, 0, body.length);
  t.equal(q.size, 1);
  t.equal(q.has(3, 0, digest(1), 0, body, 0, body.length), true);
  // The digest may lie inside a larger message (the primary reads it from a ring header).
  const message = new Uint8Array(40);
  message.set(digest(1), 8);
  t.equal(q.has(3, 0, message, 8, body, 0, body.length), true, 'the digest found at an offset');
  t.equal(q.has(4, 0, digest(1), 0, body, 0, body.length), false, 'another op');
  t.equal(q.has(3, 1, digest(1), 0, body, 0, body.length), false, 'another namespace');
  t.equal(q.has(3, 0, digest(2), 0, body, 0, body.length), false, 'another key');
  t.equal(q.has(3, 0, digest(1), 0, body, 0, body.length - 1), false, 'another body');
  q.add(3, 0, digest(1), 0, body, 0, body.length);
  t.equal(q.size, 1, 'added twice, held once');
});

t.test('another thread sees what is added', async (t) => {
  const q = QuarantineTable.create();
  q.add(3, 0, digest(7), 0, body, 0, body.length);
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { QuarantineTable } = require(${JSON.stringify(require.resolve('../../src/shm/quarantine-table'))});
    const q = QuarantineTable.attach(workerData.sab);
    const d = new Uint8Array(20); new DataView(d.buffer).setUint32(0, 7, true);
    const b = Uint8Array.from(workerData.body);
    parentPort.postMessage([q.size, q.has(3, 0, d, 0, b, 0, b.length), q.has(3, 1, d, 0, b, 0, b.length)]);
  `;
  const worker = new Worker(code, { eval: true, workerData: { sab: q.sab, body: [...body] } });
  const seen = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  t.same(seen, [1, true, false]);
});

t.test('the table holds the last QUARANTINED_REQUESTS_MAX requests', async (t) => {
  const q = QuarantineTable.create();
  for (let n = 0; n < QUARANTINED_REQUESTS_MAX + 5; n++) q.add(3, 0, digest(n), 0, body, 0, body.length);
  t.equal(q.size, QUARANTINED_REQUESTS_MAX);
  for (let n = 0; n < 5; n++) t.equal(q.has(3, 0, digest(n), 0, body, 0, body.length), false, `the oldest (${n}) forgotten`);
  const missing: number[] = [];
  for (let n = 5; n < QUARANTINED_REQUESTS_MAX + 5; n++) if (!q.has(3, 0, digest(n), 0, body, 0, body.length)) missing.push(n);
  t.same(missing, [], 'the newest are all held');
});
