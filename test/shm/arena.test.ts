// Proves the block arena appends 8-aligned records, seals and reuses blocks, counts live bytes,
// picks defragmentation candidates, and refuses to pass its memory and block limits.
import t from 'tap';
import { Arena, alignBytes } from '../../src/shm/arena';
import { Status } from '../../src/errors';

const BLOCK = 1024;

t.test('locations encode block and 8-aligned offset', async (t) => {
  const arena = new Arena({ blockBytes: BLOCK });
  const a = arena.allocate(10);
  const b = arena.allocate(1);
  t.equal(Arena.blockIndexOf(a), 0);
  t.equal(arena.offsetOf(a), 0);
  t.equal(arena.offsetOf(b), 16, '10 bytes round up to 16');
  t.equal(Arena.location(2047, 8 * ((1 << 21) - 1)), 0xffffffff, 'the largest location is a valid u32');
  t.equal(arena.liveBytes, 24);
  t.equal(arena.blockOf(a).byteLength, BLOCK);
  t.equal(arena.dataViewOf(b).byteLength, BLOCK);
  t.equal(alignBytes(17), 24);
});

t.test('a record that does not fit seals the block and opens another', async (t) => {
  const created: number[] = [];
  const arena = new Arena({ blockBytes: BLOCK, onBlock: (i, sab) => created.push(i, sab.byteLength) });
  const first = arena.allocate(1000);
  const second = arena.allocate(100);
  t.equal(Arena.blockIndexOf(second), 1);
  t.same(created, [0, BLOCK, 1, BLOCK]);
  t.ok(arena.isSealed(0));
  t.notOk(arena.isSealed(1), 'the write block is not sealed');
  t.equal(arena.blocks().length, arena.blocksMax);
  t.equal(arena.blocks()[1]?.byteLength, BLOCK);
  t.equal(arena.bytesAllocated, 2 * BLOCK);
  arena.free(first, 1000);
  t.equal(arena.blocksFree, 1, 'a sealed block with no live bytes is freed at once');
  t.equal(arena.blockEpoch(0), 1);
  const third = arena.allocate(BLOCK - 104);
  t.equal(Arena.blockIndexOf(third), 1, 'still fits in the write block');
  const fourth = arena.allocate(64);
  t.equal(Arena.blockIndexOf(fourth), 0, 'the freed block is reused before a new one is created');
  t.equal(arena.blocksAllocated, 2);
  t.throws(() => arena.free(fourth, 128), 'freeing more than is live is an invariant violation');
});

t.test('defragmentation candidates are sealed blocks under the live threshold', async (t) => {
  const arena = new Arena({ blockBytes: BLOCK });
  const locations: number[] = [];
  for (let i = 0; i < 24; i++) locations.push(arena.allocate(128));
  // 8 records per block: blocks 0, 1 sealed, block 2 the write block.
  t.equal(arena.defragCandidate(), -1);
  for (let i = 0; i < 4; i++) arena.free(locations[i], 128);
  t.equal(arena.defragCandidate(), -1, 'exactly half live is not below the threshold');
  arena.free(locations[4], 128);
  t.equal(arena.defragCandidate(), 0);
  for (let i = 8; i < 15; i++) arena.free(locations[i], 128);
  t.equal(arena.defragCandidate(), 1, 'the emptiest candidate is chosen');
  for (let i = 16; i < 24; i++) arena.free(locations[i], 128);
  t.equal(arena.defragCandidate(), 1, 'the write block is never a candidate');
  t.equal(arena.liveBytesOf(2), 0);
  t.equal(arena.usedBytes(2), BLOCK);
});

t.test('limits answer SERVER_MEM without changing the arena', async (t) => {
  const byBlocks = new Arena({ blockBytes: BLOCK, blocksMax: 2 });
  byBlocks.allocate(BLOCK);
  byBlocks.allocate(BLOCK);
  t.throws(() => byBlocks.allocate(8), { code: Status.SERVER_MEM });
  t.equal(byBlocks.liveBytes, 2 * BLOCK);
  t.notOk(byBlocks.isSealed(1), 'the write block was not sealed by the failed allocation');

  const byMemory = new Arena({ blockBytes: BLOCK, memoryBytesMax: BLOCK * 1.5 });
  byMemory.allocate(BLOCK - 8);
  t.throws(() => byMemory.allocate(16), { code: Status.SERVER_MEM });
  t.equal(byMemory.allocate(8) >>> 0, 0 | ((BLOCK - 8) >>> 3), 'the write block still takes what fits');
  t.throws(() => byMemory.allocate(BLOCK + 8), { code: Status.RECORD_TOO_BIG });
  t.throws(() => new Arena({ blockBytes: 100 }), 'block size must be a multiple of 8');
});
