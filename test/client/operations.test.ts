// Proves that the operation builders produce exactly the wire arrays of protocol/ops.ts and that
// operate() lists are classified as reads only when every operation only reads.
import t from 'tap';
import { checkOperations, lists, maps, ops, operationBin } from '../../src/client/operations';
import { Status } from '../../src/errors';
import { OpType } from '../../src/protocol/ops';

t.test('scalar operations', async (t) => {
  t.same(ops.read('a'), [OpType.READ, 'a']);
  t.same(ops.read(), [OpType.READ, null]);
  t.same(ops.write('a', { x: [1] }), [OpType.WRITE, 'a', { x: [1] }]);
  t.same(ops.write('a', null), [OpType.WRITE, 'a', null]);
  t.same(ops.incr('n', 5), [OpType.INCR, 'n', 5]);
  t.same(ops.incr('n', -2n), [OpType.INCR, 'n', -2n]);
  t.same(ops.append('s', 'x'), [OpType.APPEND, 's', 'x']);
  t.same(ops.prepend('s', Buffer.from('x')), [OpType.PREPEND, 's', Buffer.from('x')]);
  t.same(ops.touch(), [OpType.TOUCH]);
  t.same(ops.delete(), [OpType.DELETE]);
});

t.test('list and map operations', async (t) => {
  t.same(lists.append('l', 3), [20, 'l', 3]);
  t.same(lists.get('l', -1), [21, 'l', -1]);
  t.same(lists.size('l'), [22, 'l']);
  t.same(lists.remove('l', 0), [23, 'l', 0]);
  t.same(lists.pop('l', 2), [24, 'l', 2]);
  t.same(maps.put('m', 'k', 'v'), [40, 'm', 'k', 'v']);
  t.same(maps.getByKey('m', 1), [41, 'm', 1]);
  t.same(maps.removeByKey('m', 'k'), [42, 'm', 'k']);
  t.same(maps.size('m'), [43, 'm']);
  t.same(maps.increment('m', 'k', 1.5), [44, 'm', 'k', 1.5]);
});

t.test('bad arguments fail at once', async (t) => {
  t.throws(() => ops.read('a-bin-name-too-long'), { code: Status.BIN_NAME_TOO_LONG });
  t.throws(() => ops.write('', 1), { code: Status.PARAMETER });
  t.throws(() => ops.incr('n', '1' as never), { code: Status.PARAMETER });
  t.throws(() => ops.incr('n', Infinity), { code: Status.PARAMETER });
  t.throws(() => ops.append('s', 1 as never), { code: Status.PARAMETER });
  t.throws(() => lists.get('l', 0.5), { code: Status.PARAMETER });
  t.throws(() => maps.put('m', {} as never, 1), { code: Status.PARAMETER });
  t.throws(() => maps.getByKey('m', 1.5), { code: Status.PARAMETER });
});

t.test('read-only classification', async (t) => {
  t.equal(checkOperations([ops.read('a'), lists.size('l'), maps.getByKey('m', 'k'), lists.get('l', 0), maps.size('m')]), true);
  t.equal(checkOperations([ops.read('a'), ops.incr('n', 1)]), false);
  t.equal(checkOperations([ops.touch()]), false);
  t.equal(checkOperations([lists.pop('l', 0)]), false);
  t.throws(() => checkOperations([]), { code: Status.PARAMETER });
  t.throws(() => checkOperations('read' as never), { code: Status.PARAMETER });
  t.throws(() => checkOperations([[99, 'a']] as never), { code: Status.PARAMETER });
  t.equal(operationBin(ops.delete()), null);
  t.equal(operationBin(maps.size('m')), 'm');
});
