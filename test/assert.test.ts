// Proves that a broken invariant is a coded SERVER_ERROR wherever it is asserted (a request slot
// released twice, a partition moved out of range), and that an error thrown while a worker
// handles a control message keeps its result code on its way back to the primary.

import t from 'tap';
import { assert, fail, InvariantError } from '../src/assert';
import { AerieError, Status } from '../src/errors';
import { PartitionMap } from '../src/partition/map';
import { RequestTable, SlotKind } from '../src/primary/requests';
import type { Session } from '../src/endpoint/session';
import { controlError } from '../src/worker/thread-messages';

t.test('assert and fail throw InvariantError, a SERVER_ERROR', async (t) => {
  t.doesNotThrow(() => assert(true, 'holds'));
  t.throws(() => assert(false, 'does not hold'), { code: Status.SERVER_ERROR });
  let thrown: unknown = null;
  try {
    fail('broken');
  } catch (err) {
    thrown = err;
  }
  t.ok(thrown instanceof InvariantError, 'fail throws InvariantError');
});

t.test('a request slot released twice is refused before it reaches the free list twice', async (t) => {
  const table = new RequestTable();
  // The table only stores the session and reads what it reserved: a plain object stands in.
  const session = { routeReserve: 0 } as unknown as Session;
  const slot = table.acquire(session, 1, SlotKind.SINGLE, 0);
  table.release(slot);
  t.throws(() => table.release(slot), { code: Status.SERVER_ERROR });
  const a = table.acquire(session, 2, SlotKind.SINGLE, 0);
  const b = table.acquire(session, 3, SlotKind.SINGLE, 0);
  t.not(a, b, 'two requests never share a slot');
  t.equal(table.inUse, 2);
});

t.test('a partition cannot be moved to a worker or partition id out of range', async (t) => {
  const map = PartitionMap.create(2, [1]);
  t.throws(() => map.setMaster(0, 0, 2), { code: Status.SERVER_ERROR });
  t.throws(() => map.setMaster(0, 4096, 0), { code: Status.SERVER_ERROR });
  t.doesNotThrow(() => map.setMaster(0, 4095, 1));
});

t.test('a control error crosses the thread boundary with its code', async (t) => {
  t.same(controlError(new AerieError(Status.PARAMETER, 'bad id')), { code: Status.PARAMETER, message: 'bad id' });
  t.same(controlError(new Error('boom')), { code: Status.SERVER_ERROR, message: 'boom' });
});
