// Proves the SPSC ring delivers variable-length messages intact and in order across wrap-around
// (of the region and of the u32 positions), reports fullness, wakes sleepers, and carries 200k
// messages through a real worker thread and back.
import t from 'tap';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Ring } from '../../src/shm/ring';
import type { EchoWorkerData } from './ring-echo.worker';
import { prng, testSeed } from '../helpers/prng';

/** Message `seq` of `length` bytes: its bytes are a function of both, so any mix-up shows. */
function fill(bytes: Uint8Array, at: number, length: number, seq: number): void {
  for (let i = 0; i < length; i++) bytes[at + i] = (seq * 131 + i * 7) & 0xff;
}
function matches(bytes: Uint8Array, at: number, length: number, seq: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[at + i] !== ((seq * 131 + i * 7) & 0xff)) return false;
  return true;
}

/** A ring pair (producer and consumer views) whose positions start just below 2^32. */
function ringNearWrap(dataBytes: number, start: number): { producer: Ring; consumer: Ring } {
  const ring = Ring.create(dataBytes);
  const words = new Int32Array(ring.sab);
  words[0] = start | 0;
  words[16] = start | 0;
  return { producer: Ring.attach(ring.sab), consumer: Ring.attach(ring.sab) };
}

t.test('round trips of variable-length messages across region and position wrap-around', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const rand = prng(seed);
  const { producer, consumer } = ringNearWrap(4096, 0xffff0000);
  let sent = 0;
  let received = 0;
  let bytesMoved = 0;
  let misaligned = 0;
  for (let round = 0; round < 3000; round++) {
    const batch = 1 + Math.floor(rand() * 8);
    for (let i = 0; i < batch; i++) {
      const length = rand() < 0.1 ? Math.floor(rand() * (producer.payloadBytesMax + 1)) : Math.floor(rand() * 100);
      const at = producer.reserve(length);
      if (at < 0) break;
      if (at % 8 !== 4) misaligned++;
      fill(producer.bytes, at, length, sent++);
      bytesMoved += length;
    }
    producer.commit();
    if (producer.used() > producer.dataBytes) misaligned = Infinity;
    for (let at = consumer.next(); at >= 0; at = consumer.next()) {
      const expectLength = consumer.length;
      if (!matches(consumer.bytes, at, expectLength, received)) {
        t.fail(`seed ${seed}: message ${received} corrupted`);
        return;
      }
      received++;
    }
    consumer.release();
  }
  t.equal(received, sent, `seed ${seed}: every message arrived`);
  t.equal(misaligned, 0, 'every payload follows an 8-aligned header and used() stays in bounds');
  t.equal(consumer.used(), 0);
  t.ok(bytesMoved > 2 ** 16, 'the positions passed 2^32');
});

t.test('a full ring refuses until the consumer releases', async (t) => {
  const ring = Ring.create(256);
  let count = 0;
  while (ring.reserve(24) >= 0) count++;
  t.equal(count, 256 / 32, 'each 24-byte payload takes 32 bytes');
  t.notOk(ring.canReserve(1));
  ring.commit();
  t.equal(ring.next() >= 0, true);
  t.equal(ring.reserve(24), -1, 'reading without release frees nothing');
  ring.release();
  t.ok(ring.reserve(24) >= 0, 'room after release');
  t.throws(() => ring.reserve(ring.payloadBytesMax + 1), 'an oversized payload is a caller bug');
  t.throws(() => ring.reserve(-1));
  t.throws(() => Ring.create(1000), 'the data size must be a power of two');
  t.throws(() => Ring.attach(new SharedArrayBuffer(512)), 'a buffer without the header is refused');
});

t.test('the largest payload always fits an empty ring, wherever the positions are', async (t) => {
  for (const start of [0, 4, 8, 120, 128, 136, 248]) {
    const { producer, consumer } = ringNearWrap(256, start);
    const at = producer.reserve(producer.payloadBytesMax);
    t.ok(at >= 0, `start ${start}`);
    producer.commit();
    t.equal(consumer.next(), at);
    t.equal(consumer.length, producer.payloadBytesMax);
    consumer.release();
  }
});

t.test('sleepers are woken by commit and release', async (t) => {
  const ring = Ring.create(256);
  t.equal(ring.waitAsync(0) instanceof Promise, false, 'a zero timeout does not sleep');
  const sleeping = ring.waitAsync(60_000);
  t.ok(sleeping instanceof Promise, 'an empty ring sleeps');
  ring.view.setUint32(ring.reserve(4), 42, true);
  ring.commit();
  await sleeping;
  t.equal(ring.waitAsync(60_000), null, 'a ring with a message does not sleep');
  ring.waitSync(60_000); // returns at once: a message is waiting
  const at = ring.next();
  t.equal(ring.view.getUint32(at, true), 42);

  while (ring.reserve(24) >= 0);
  ring.commit();
  const waiting = ring.waitForSpaceAsync(24, 60_000);
  t.ok(waiting instanceof Promise, 'a full ring makes the producer wait');
  setImmediate(() => {
    while (ring.next() >= 0);
    ring.release();
  });
  await waiting;
  t.ok(ring.canReserve(24));
  t.equal(ring.waitForSpaceAsync(24, 60_000), null);
  ring.waitForSpaceSync(24, 60_000); // returns at once: there is room

  const idle = Ring.create(64);
  const woken = idle.waitAsync(60_000);
  idle.wake();
  await woken;
  t.pass('wake() ends a wait with nothing to read');
});

t.test('200k messages echo through a worker thread, intact and in order', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (AERIE_SEED=${seed} replays it)`);
  const messageCount = 200_000;
  const toWorker = Ring.create(1 << 16);
  const fromWorker = Ring.create(1 << 16);
  // Sizes come from the seed so a failure replays; most are small, a few near the maximum.
  const sizes = new Uint32Array(messageCount);
  const rand = prng(seed);
  for (let i = 0; i < messageCount; i++) {
    const r = rand();
    sizes[i] = r < 0.001 ? Math.floor(rand() * (toWorker.payloadBytesMax + 1)) : r < 0.05 ? Math.floor(rand() * 2000) : Math.floor(rand() * 64);
  }
  const data: EchoWorkerData = { inbound: toWorker.sab, outbound: fromWorker.sab, messageCount };
  const worker = new Worker(path.join(__dirname, 'ring-echo.worker.js'), { workerData: data });
  let workerError: unknown = null;
  let exited = false;
  worker.on('error', (err) => (workerError = err));
  const exit = new Promise<number>((resolve) =>
    worker.once('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );

  let sent = 0;
  let received = 0;
  let failure: string | null = null;
  while (received < messageCount && failure === null && workerError === null) {
    while (sent < messageCount) {
      const at = toWorker.reserve(sizes[sent]);
      if (at < 0) break;
      fill(toWorker.bytes, at, sizes[sent], sent);
      sent++;
    }
    toWorker.commit();
    let gotAny = false;
    for (let at = fromWorker.next(); at >= 0; at = fromWorker.next()) {
      gotAny = true;
      if (fromWorker.length !== sizes[received] || !matches(fromWorker.bytes, at, fromWorker.length, received)) {
        failure = `seed ${seed}: echo ${received} wrong`;
        break;
      }
      received++;
    }
    fromWorker.release();
    if (!gotAny && received < messageCount) {
      if (exited) failure = `worker exited after ${received} echoes`;
      else await fromWorker.waitAsync(100);
    }
  }
  if (failure !== null || workerError !== null) await worker.terminate();
  t.equal(failure, null);
  t.equal(workerError, null);
  t.equal(received, messageCount, `seed ${seed}: all echoes received`);
  t.equal(await exit, 0, 'the worker finished by itself');
});
