// Proves the one-message-per-turn batches between a worker's endpoint and the primary carry every
// request's numbers and body intact, in order, across growth, and leave the packer empty.
import t from 'tap';
import { FORWARD_FIELDS, ANSWER_FIELDS, Packer } from '../../src/worker/thread-messages';

t.test('a packed turn holds every item, in order, whatever their sizes', async (t) => {
  const packer = new Packer(FORWARD_FIELDS);
  const bodies: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const body = Buffer.alloc(i % 7 === 0 ? 5000 : i % 3, i & 0xff);
    bodies.push(body);
    // Taken from the middle of a larger buffer, as a frame's body is.
    const frame = Buffer.concat([Buffer.from('xx'), body, Buffer.from('yy')]);
    packer.add(i, 1000 + i, 2 + (i % 5), 65536, frame, 2, 2 + body.length);
  }
  t.equal(packer.size, 300);
  const p = packer.take();
  t.equal(packer.size, 0, 'empty again');
  t.equal(p.ends.length, 300);
  let start = 0;
  for (let i = 0; i < 300; i++) {
    const at = FORWARD_FIELDS * i;
    if (p.meta[at] !== i || p.meta[at + 1] !== 1000 + i || p.meta[at + 2] !== 2 + (i % 5) || p.meta[at + 3] !== 65536) t.fail(`item ${i}: fields`);
    if (!Buffer.from(p.bodies.subarray(start, p.ends[i])).equals(bodies[i])) t.fail(`item ${i}: body`);
    start = p.ends[i];
  }
  t.equal(start, p.bodies.length, 'the bodies end to end, nothing else');
  t.equal(p.bodies.buffer.byteLength, p.bodies.length, 'exactly sized, so a transfer moves no more');
});

t.test('answers use two fields per item', async (t) => {
  const packer = new Packer(ANSWER_FIELDS);
  packer.add(7, 2, 99, 99, Buffer.from('ab'), 0, 2);
  packer.add(8, 0, 99, 99, Buffer.alloc(0), 0, 0);
  const p = packer.take();
  t.same([...p.meta], [7, 2, 8, 0]);
  t.same([...p.ends], [2, 2]);
});
