// Proves the descriptor budget: the limit is read from /proc's format (unlimited included), a
// reserve grows with workers and file stores, and client sockets get only what is left.
import t from 'tap';
import { descriptorBudget, descriptorReserve, parseDescriptorLimit } from '../../src/primary/descriptors';
import { parseConfig } from '../../src/config';
import { DESCRIPTORS_RESERVE_BASE, DESCRIPTORS_RESERVE_PER_FILE_STORE, DESCRIPTORS_RESERVE_PER_WORKER } from '../../src/constants';

t.test('parses the Max open files line', async (t) => {
  const limits =
    'Limit                     Soft Limit           Hard Limit           Units     \nMax processes             95581                95581                processes \nMax open files            1024                 4096                 files     \n';
  t.same(parseDescriptorLimit(limits), { soft: 1024, hard: 4096 });
  t.same(parseDescriptorLimit('Max open files            unlimited            unlimited            files\n'), { soft: 2 ** 31, hard: 2 ** 31 });
  t.equal(parseDescriptorLimit('nothing here'), null);
});

t.test('the reserve grows with workers and file stores; sockets get the rest', async (t) => {
  const config = parseConfig({
    namespaces: [
      { name: 'm', storage: 'memory' },
      { name: 'f', storage: 'file' },
    ],
  });
  const reserve = descriptorReserve(config.namespaces, 2);
  t.equal(reserve, DESCRIPTORS_RESERVE_BASE + 2 * DESCRIPTORS_RESERVE_PER_WORKER + 2 * DESCRIPTORS_RESERVE_PER_FILE_STORE);
  t.equal(descriptorBudget({ soft: 1024, hard: 1024 }, 30, reserve, 10_000).socketsMax, 1024 - 30 - reserve, 'the descriptors decide');
  t.equal(descriptorBudget({ soft: 1 << 20, hard: 1 << 20 }, 30, reserve, 10_000).socketsMax, 10_000, 'connectionsMax decides');
  t.equal(descriptorBudget({ soft: 64, hard: 64 }, 30, reserve, 10_000).socketsMax, 1, 'a starved process still takes one socket');
  t.equal(descriptorBudget(null, null, reserve, 500).socketsMax, 500, 'an unknown limit leaves connectionsMax');
});
