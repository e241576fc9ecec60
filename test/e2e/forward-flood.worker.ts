// Worker-thread helper for forward-pipe.test.ts, not a test: a client on a thread of its own, so it
// keeps sending while the test's main thread (which runs the node's primary) is blocked. It sends a
// pipelined flood of PUTs to one worker endpoint, wakes the main thread through `flag` once
// `wakeAtRefusals` writes are refused with DEVICE_OVERLOAD (or every request is answered), and
// posts every answer's code once all are in. Tap's file glob also runs it as a plain script; on the main thread it does nothing.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { rawPeer } from '../helpers/raw';
import { Op } from '../../src/protocol/ops';
import { Status } from '../../src/errors';

export interface FloodData {
  url: string;
  keys: number[];
  valueBytes: number;
  /** Wake the main thread once this many writes are refused as overloaded (or all are answered). */
  wakeAtRefusals: number;
  /** Int32 [0]: set to 1 (and notified) to wake the blocked main thread. */
  flag: SharedArrayBuffer;
}

export interface FloodResult {
  /** Each key's answer code, in key order (-1: no answer, the connection closed first). */
  codes: number[];
  /** The close code and reason if the node closed the connection before every answer came. */
  closed: string | null;
  /** Whether the first answer to arrive was an overload refusal (sent while the primary was blocked). */
  firstWasOverload: boolean;
}

async function flood(data: FloodData): Promise<void> {
  const flag = new Int32Array(data.flag);
  const wake = () => {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
  const peer = await rawPeer(data.url);
  parentPort!.postMessage({ ready: true });
  await new Promise((resolve) => parentPort!.once('message', resolve));
  // Asked again while it waits (the test ran out of patience): where it stands.
  parentPort!.on('message', () => parentPort!.postMessage({ status: `${answered} of ${data.keys.length} answered, ${refused} refused, closed: ${closed}` }));
  const value = Buffer.alloc(data.valueBytes, 0x5a);
  const codes: number[] = new Array(data.keys.length).fill(-1);
  let answered = 0;
  let refused = 0;
  let firstWasOverload: boolean | null = null;
  let closed: string | null = null;
  const done = new Promise<void>((resolve) => {
    peer.closed.then(({ code, reason }) => {
      closed = `${code} ${reason}`;
      resolve();
    });
    peer.ws.on('message', () => {
      // raw.ts has decoded this frame into peer.responses already (its listener runs first);
      // responses[0] is HELLO's answer.
      while (answered + 1 < peer.responses.length) {
        const [id, code] = peer.responses[++answered] as [number, number];
        codes[id - 1] = code;
        firstWasOverload ??= code === Status.DEVICE_OVERLOAD;
        if (code === Status.DEVICE_OVERLOAD && ++refused === data.wakeAtRefusals) wake();
      }
      if (answered === data.keys.length) resolve();
    });
  });
  data.keys.forEach((key, i) => peer.request(1 + i, Op.PUT, { ns: 'test', set: 'flood', key, bins: { v: value, i } }));
  await done;
  wake();
  peer.ws.close();
  parentPort!.postMessage({ codes, closed, firstWasOverload: firstWasOverload === true } satisfies FloodResult);
}

if (!isMainThread) void flood(workerData as FloodData);
