// Proves that a request costing more than the worker's budget (issue 10 item 1: 4,096 read-all ops
// on a 4,096-bin record) is refused with QUOTA_EXCEEDED before its work is done, with no worker
// restart and a probe client served throughout, and that a large request within the budget runs.
import t from 'tap';
import { Key, lists, ops, status } from '../../src/index';
import { connect } from '../../src/client/index';
import type { Client } from '../../src/client/index';
import { OPERATE_COST_UNITS_MAX } from '../../src/constants';
import { startTestNode } from '../helpers/node';
import { probeLoop } from '../helpers/probe-loop';

const BINS = 4096;

type WorkerInfo = { state: string; restarts: number };
const restarts = async (client: Client) => ((await client.info()).workers as WorkerInfo[]).reduce((a, w) => a + w.restarts, 0);

t.test('4,096 read-all ops on a 4,096-bin record are refused, and the node keeps serving', async (t) => {
  const { client, url } = await startTestNode(t, (c) => {
    // The setting was the default 500 ms; 1 s keeps a healthy worker on a loaded machine
    // from being taken for hung, and is still far below what the unbounded request took.
    c.supervisor.heartbeatTimeoutMs = 1000;
  });
  const probe = await connect({ hosts: new URL(url).host, timeoutMs: 10_000 });
  t.teardown(() => probe.close());
  const wide = new Key('test', 'cost', 'wide');
  const bins: Record<string, number> = {};
  for (let i = 0; i < BINS; i++) bins[`b${i}`] = i;
  await client.put(wide, bins);

  // The probe writes and reads its own records all along; every call must succeed.
  const probing = probeLoop(probe);

  const readAll = Array.from({ length: BINS }, () => ops.read(null));
  const ATTACKS = 12;
  for (let n = 0; n < ATTACKS; n++) {
    await t.rejects(client.operate(wide, readAll), { code: status.QUOTA_EXCEEDED }, `attack ${n} is refused with QUOTA_EXCEEDED`);
  }
  const probed = await probing.stop();
  t.same(probed.failures, [], 'every probe call succeeded');
  t.ok(probed.calls > 0, `the probe made ${probed.calls} calls`);
  t.equal(await restarts(client), 0, 'no worker was restarted');
  t.same((await client.get(wide)).bins, bins, 'the record is untouched');
});

t.test('a large operate within the budget completes', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.supervisor.heartbeatTimeoutMs = 1000;
  });
  const wide = new Key('test', 'cost', 'within');
  const bins: Record<string, number> = {};
  for (let i = 0; i < BINS; i++) bins[`b${i}`] = i;
  await client.put(wide, bins);
  // After the first copy, each read-all of this record costs 2 units a bin (its name and value in
  // the answer): a hundred fit the budget.
  const reads = 100;
  t.ok(reads * 2 * BINS < OPERATE_COST_UNITS_MAX, 'within the budget');
  const r = await client.operate(
    wide,
    Array.from({ length: reads }, () => ops.read(null)),
  );
  t.equal(r.results.length, reads);
  t.same(r.results[reads - 1], bins);
  // A list grown by 4,096 appends in one call: each append is cheap once the call owns the list.
  const list = new Key('test', 'cost', 'list');
  const appended = await client.operate(
    list,
    Array.from({ length: BINS }, (_, i) => lists.append('l', i)),
  );
  t.equal(appended.results[BINS - 1], BINS);
  t.equal(await restarts(client), 0, 'no worker was restarted');
});

t.test('list amplifiers are bounded: a read between appends cannot make every append copy the list', async (t) => {
  const { client } = await startTestNode(t, (c) => {
    c.supervisor.heartbeatTimeoutMs = 1000;
  });
  const k = new Key('test', 'cost', 'biglist');
  // About 100k elements, within the default 1 MiB record.
  await client.put(k, { l: Array.from({ length: 100_000 }, (_, i) => i % 100) });
  const alternating = [];
  for (let i = 0; i < 2048; i++) alternating.push(ops.read('l'), lists.append('l', i));
  await t.rejects(client.operate(k, alternating), { code: status.QUOTA_EXCEEDED });
  t.equal(((await client.get(k)).bins.l as unknown[]).length, 100_000, 'nothing was applied');
  t.equal(await restarts(client), 0, 'no worker was restarted');
});
