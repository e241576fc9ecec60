// A worker's entry in INFO as the tests read it, and the wait for one to reach a state.

import type { Client } from '../../src/client/index';
import { waitForValue } from './wait';

/** The fields of INFO's `workers[i]` the tests look at. */
export type WorkerInfo = { state: string; restarts: number; lastFailure: string | null; partitions: number };

/** Worker `i`'s INFO entry now. */
export const workerInfo = async (client: Client, i: number): Promise<WorkerInfo> => ((await client.info()).workers as WorkerInfo[])[i];

/** Waits for worker `i`'s INFO entry to satisfy `pred`, and returns it; fails the test on a timeout. */
export const workerWhen = (client: Client, i: number, pred: (w: WorkerInfo) => boolean, what: string, timeoutMs?: number): Promise<WorkerInfo> =>
  waitForValue(() => workerInfo(client, i), pred, { what: `worker ${i}: ${what}`, timeoutMs });
