// A well-behaved client in a thread of its own (not a test): it writes, reads back and pings one
// key in a loop until told to stop, then reports its failures and each round's latency. Its own
// event loop keeps a busy test thread (a fuzzer, say) out of the latencies it measures.
import { parentPort, workerData } from 'node:worker_threads';
import { connect, Key } from '../../src/index';

export interface ProbeReport {
  calls: number;
  failures: string[];
  /** Milliseconds per round of put + get + ping. */
  latenciesMs: number[];
}

async function main(): Promise<void> {
  const { host, ns } = workerData as { host: string; ns: string };
  const client = await connect({ hosts: host, timeoutMs: 10_000 });
  const key = new Key(ns, 'p', 'k');
  let stop = false;
  parentPort!.on('message', () => {
    stop = true;
  });
  parentPort!.postMessage('ready');
  const report: ProbeReport = { calls: 0, failures: [], latenciesMs: [] };
  for (let i = 0; !stop; i++) {
    const started = performance.now();
    try {
      await client.put(key, { i });
      const record = await client.get(key);
      if (record.bins.i !== i) report.failures.push(`read ${String(record.bins.i)} after writing ${i}`);
      await client.ping();
    } catch (err) {
      report.failures.push(`${(err as { code?: number }).code}: ${(err as Error).message}`);
    }
    report.latenciesMs.push(performance.now() - started);
    report.calls += 3;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await client.close();
  parentPort!.postMessage(report);
}

void main();
