// Proves a pipe (src/shm/pipe.ts) carries messages of any size intact and in order over a ring
// much smaller than some of them: whole, in chunks, and queued while the ring is full; across a
// real worker thread and back; and that a corrupt ring is refused, not misread.
import t from 'tap';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PIPE_HEADER_BYTES, PipeReader, PipeWriter, createPipe } from '../../src/shm/pipe';
import { prng, testSeed } from '../helpers/prng';
import type { PipeEchoData } from './pipe-echo.worker';

/** Body of message `seq`: its bytes are a function of both, so any mix-up or tear shows. */
function body(seq: number, length: number): Uint8Array {
  const b = new Uint8Array(length + 3);
  for (let i = 0; i < length; i++) b[i + 3] = (seq * 131 + i * 7) & 0xff;
  return b; // the body starts at 3, as a request's body lies inside its frame
}
function bodyMatches(bytes: Uint8Array, start: number, end: number, seq: number): boolean {
  for (let i = 0; i < end - start; i++) if (bytes[start + i] !== ((seq * 131 + i * 7) & 0xff)) return false;
  return true;
}

/** Sizes: mostly small, some a few times the ring's largest payload (4 KiB ring: 2 KiB payloads). */
function sizes(rand: () => number, count: number, large: number): number[] {
  return Array.from({ length: count }, () => {
    const r = rand();
    return r < 0.05 ? Math.floor(rand() * large) : r < 0.3 ? Math.floor(rand() * 3000) : Math.floor(rand() * 64);
  });
}

/**
 * Drains `reader` on every turn of the event loop until `done` holds (the other side moves on as
 * the drains free room); fails after `timeoutMs`.
 */
async function drainUntil(reader: PipeReader, check: Parameters<PipeReader['drain']>[0], done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    reader.drain(check);
    await new Promise((r) => setImmediate(r));
  }
}

interface Seen {
  bad: string[];
  next: number;
}

function checker(seen: Seen, lengths: number[]) {
  return (kind: number, a: number, b: number, c: number, d: number, bytes: Uint8Array, start: number, end: number) => {
    const seq = seen.next++;
    if (kind !== 1 + (seq % 3) || a !== seq || b !== -seq || c !== 0x7fffffff || d !== (-0x80000000 | 0)) seen.bad.push(`fields of ${seq}: ${kind} ${a} ${b} ${c} ${d}`);
    else if (end - start !== lengths[seq]) seen.bad.push(`length of ${seq}: ${end - start} != ${lengths[seq]}`);
    else if (!bodyMatches(bytes, start, end, seq)) seen.bad.push(`bytes of ${seq}`);
  };
}

t.test('one thread: every message arrives once, in order, whole, chunked or queued', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed}`);
  const rand = prng(seed);
  const sab = createPipe(4096);
  const writer = new PipeWriter(sab);
  const reader = new PipeReader(sab, PIPE_HEADER_BYTES + 40_000);
  const lengths = sizes(rand, 3000, 40_000);
  const seen: Seen = { bad: [], next: 0 };
  const check = checker(seen, lengths);
  for (let seq = 0; seq < lengths.length; seq++) {
    const b = body(seq, lengths[seq]);
    writer.write(1 + (seq % 3), seq, -seq, 0x7fffffff, -0x80000000, b, 3, 3 + lengths[seq]);
    if (rand() < 0.3) writer.flush();
    if (rand() < 0.2) reader.drain(check);
    // The queue moves on when the reader frees room (its release wakes the writer's wait).
    if (rand() < 0.05) await new Promise((r) => setImmediate(r));
  }
  writer.flush();
  await drainUntil(reader, check, () => seen.next === lengths.length && writer.queuedBytes === 0, 20_000, 'every message read');
  t.same(seen.bad.slice(0, 5), [], 'no message torn, reordered or mixed up');
  t.equal(seen.next, lengths.length);
  t.ok(reader.isEmpty(), 'nothing more');
});

t.test('through a worker thread and back, both sides on their event loops', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed}`);
  const rand = prng(seed);
  const messageBytesMax = PIPE_HEADER_BYTES + 100_000;
  const toWorker = createPipe(65536);
  const fromWorker = createPipe(65536);
  const lengths = sizes(rand, 5000, 100_000); // up to three times a 32 KiB payload
  const data: PipeEchoData = { inbound: toWorker, outbound: fromWorker, messageBytesMax, messageCount: lengths.length };
  const worker = new Worker(path.join(__dirname, 'pipe-echo.worker.js'), { workerData: data });
  let workerError: unknown = null;
  worker.on('error', (err) => (workerError = err));
  const writer = new PipeWriter(toWorker);
  const reader = new PipeReader(fromWorker, messageBytesMax);
  const seen: Seen = { bad: [], next: 0 };
  const check = checker(seen, lengths);
  for (let seq = 0; seq < lengths.length; seq++) {
    const b = body(seq, lengths[seq]);
    writer.write(1 + (seq % 3), seq, -seq, 0x7fffffff, -0x80000000, b, 3, 3 + lengths[seq]);
    if (seq % 50 === 49) {
      writer.flush();
      reader.drain(check);
      await new Promise((r) => setImmediate(r));
    }
  }
  writer.flush();
  await drainUntil(reader, check, () => seen.next === lengths.length || workerError !== null, 30_000, 'every message echoed');
  t.equal(workerError, null, 'the echo thread did not fail');
  t.same(seen.bad.slice(0, 5), [], 'no message torn, reordered or mixed up');
  t.equal(seen.next, lengths.length);
  await worker.terminate();
});

t.test('a corrupt ring is refused; a closed writer drops its queue', async (t) => {
  const sab = createPipe(4096);
  const writer = new PipeWriter(sab);
  const reader = new PipeReader(sab, PIPE_HEADER_BYTES + 100);
  const b = body(0, 10);
  writer.write(1, 0, 0, 0x7fffffff, -0x80000000, b, 3, 13);
  writer.flush();
  // The message's total length (after the ring's own 4-byte length, at byte 256 + 4 + 4).
  new DataView(sab).setUint32(256 + 8, 1 << 30, true);
  t.throws(() => reader.drain(() => t.fail('a corrupt message is never handed over')), /corrupt/);

  const sab2 = createPipe(4096);
  const w2 = new PipeWriter(sab2);
  const r2 = new PipeReader(sab2, PIPE_HEADER_BYTES + 100_000);
  const big = new Uint8Array(50_000);
  w2.write(1, 0, 0, 0, 0, big, 0, big.length);
  t.ok(w2.queuedBytes > 0, 'a message larger than the ring waits in part');
  w2.close();
  t.equal(w2.queuedBytes, 0, 'dropped at close');
  let handed = 0;
  r2.drain(() => handed++);
  t.equal(handed, 0, 'the part written never completes a message');
});
