// Fills a namespace with records until the node refuses one (memory or disk limits).

import { Key, type AerieError, type Client } from '../../src/index';

/** Writes records of `bytes` to set `fill` until one is refused; returns the refusal (and fails past `max`). */
export async function fillUntilRefused(client: Client, bytes: number, max: number): Promise<AerieError> {
  for (let i = 0; i < max; i++) {
    try {
      await client.put(new Key('test', 'fill', i), { v: Buffer.alloc(bytes, i & 0xff) });
    } catch (err) {
      return err as AerieError;
    }
  }
  throw new Error(`${max} writes and none refused`);
}
