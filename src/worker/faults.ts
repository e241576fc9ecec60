// Faults a worker can be asked to suffer (tests and operators exercising the supervisor). Each
// imitates a real failure: an uncaught exception, an exit, a busy loop, a blocked thread, running
// out of heap, and a thread that keeps its heartbeat but stops yielding to its event loop.

import { FAULT_LAG_MS } from '../constants';

export const FAULT_KINDS = ['crash', 'exit', 'hang', 'stall', 'oom', 'lag'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export function isFaultKind(kind: string): kind is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(kind);
}

/**
 * Does not return, except for crash (which throws from a later microtask) and lag (which returns
 * after blocking the event loop for FAULT_LAG_MS while calling `beat` as a busy batch would).
 * oom calls `beat` too, with each allocation.
 */
export function injectFault(kind: FaultKind, beat: () => void): void {
  switch (kind) {
    case 'lag': {
      const until = Date.now() + FAULT_LAG_MS;
      while (Date.now() < until) beat();
      return;
    }
    case 'crash':
      queueMicrotask(() => {
        throw new Error('injected crash');
      });
      return;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: process.exit does not return.
    case 'exit':
      process.exit(70);
    case 'hang':
      // A busy loop: the thread never returns to its event loop and stops heartbeating.
      for (;;);
    case 'stall': {
      // Blocked forever in Atomics.wait, as a thread waiting for a peer that never comes.
      const word = new Int32Array(new SharedArrayBuffer(4));
      for (;;) Atomics.wait(word, 0, 0);
    }
    case 'oom': {
      // Grow the heap until the supervisor (heapRestartPct) or the worker's resourceLimits stop
      // it, beating as a request allocating without bound would: out of memory, not hung.
      const hoard: number[][] = [];
      for (;;) {
        hoard.push(new Array<number>(1 << 20).fill(Math.random()));
        beat();
      }
    }
  }
}
