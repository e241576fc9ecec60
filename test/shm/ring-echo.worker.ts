// Worker-thread helper for ring.test.ts, not a test: it echoes every message of one ring into
// another, sleeping with waitSync when its input is empty and waitForSpaceSync when its output is
// full. Tap's file glob also runs it as a plain script; on the main thread it does nothing.
import { isMainThread, workerData } from 'node:worker_threads';
import { Ring } from '../../src/shm/ring';

export interface EchoWorkerData {
  inbound: SharedArrayBuffer;
  outbound: SharedArrayBuffer;
  messageCount: number;
}

/** Messages echoed between two releases of the input, so the producer regains space promptly. */
const RELEASE_EVERY = 256;
const WAIT_MS = 50;

function echo(data: EchoWorkerData): void {
  const inbound = Ring.attach(data.inbound);
  const outbound = Ring.attach(data.outbound);
  let echoed = 0;
  while (echoed < data.messageCount) {
    const at = inbound.next();
    if (at < 0) {
      outbound.commit();
      inbound.release();
      inbound.waitSync(WAIT_MS);
      continue;
    }
    const length = inbound.length;
    let out = outbound.reserve(length);
    while (out < 0) {
      // The input is not released here: the payload at `at` is still being read.
      outbound.commit();
      outbound.waitForSpaceSync(length, WAIT_MS);
      out = outbound.reserve(length);
    }
    outbound.bytes.set(inbound.bytes.subarray(at, at + length), out);
    echoed++;
    if (echoed % RELEASE_EVERY === 0) {
      outbound.commit();
      inbound.release();
    }
  }
  outbound.commit();
  inbound.release();
}

if (!isMainThread) echo(workerData as EchoWorkerData);
