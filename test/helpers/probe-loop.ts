// A well-behaved client's loop in the test's own thread: it writes and reads back its own records
// until stopped, and reports how many calls it made and every failure (a read that came back
// wrong, or a call that threw). Tests assert that no failure happened while they attacked the node.
import { Key } from '../../src/index';
import type { Client } from '../../src/client/index';

export interface ProbeLoop {
  /** Stops after the round under way and resolves with the calls made and the failures seen. */
  stop(): Promise<{ calls: number; failures: unknown[] }>;
}

/** Starts probing with `client`, over 64 keys of set 'probe' in namespace `ns`. */
export function probeLoop(client: Client, ns = 'test'): ProbeLoop {
  let probing = true;
  let calls = 0;
  const failures: unknown[] = [];
  const done = (async () => {
    for (let i = 0; probing; i++) {
      const k = new Key(ns, 'probe', i % 64);
      try {
        await client.put(k, { i });
        const got = (await client.get(k)).bins.i;
        if (got !== i) failures.push(`read ${String(got)} back after writing ${i}`);
        calls += 2;
      } catch (err) {
        failures.push(err);
      }
    }
  })();
  return {
    async stop() {
      probing = false;
      await done;
      return { calls, failures };
    },
  };
}
