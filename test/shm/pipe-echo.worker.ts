// Worker-thread helper for pipe.test.ts, not a test: it echoes every message of one pipe into
// another from its event loop (as a worker's endpoint and the primary use pipes: never blocking),
// then exits after `messageCount`. Tap's file glob also runs it as a plain script; on the main
// thread it does nothing.
import { isMainThread, workerData } from 'node:worker_threads';
import { PipeReader, PipeWriter } from '../../src/shm/pipe';

export interface PipeEchoData {
  inbound: SharedArrayBuffer;
  outbound: SharedArrayBuffer;
  messageBytesMax: number;
  messageCount: number;
}

async function echo(data: PipeEchoData): Promise<void> {
  const inbound = new PipeReader(data.inbound, data.messageBytesMax);
  const outbound = new PipeWriter(data.outbound);
  let echoed = 0;
  while (echoed < data.messageCount) {
    // The body is copied into the outbound ring (or its writer's queue) before the drain releases it.
    echoed += inbound.drain((kind, a, b, c, d, bytes, start, end) => outbound.write(kind, a, b, c, d, bytes, start, end));
    outbound.flush();
    const wait = inbound.waitAsync(50);
    if (wait !== null) await wait;
  }
  // What the outbound ring could not take yet is written as the reader frees room.
  while (outbound.queuedBytes > 0) await new Promise((r) => setTimeout(r, 1));
}

if (!isMainThread) void echo(workerData as PipeEchoData);
