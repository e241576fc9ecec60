// The bodies of the answers the router assembles (a batch's, a scan page's), written the same
// way into a session's frame and into a forwarded answer bound for a worker endpoint.

import { Writer } from '../protocol/writer';

/**
 * The body of a write answered TIMEOUT because a replica did not acknowledge it in time
 * (src/replication/waits.ts), on the front and on a worker's endpoint alike.
 */
export const REPLICA_IN_DOUBT_BODY: Uint8Array = (() => {
  const w = new Writer(256);
  w.writeValue({ message: 'applied on the master; a replica did not acknowledge it in time (in doubt)' });
  return w.copy();
})();

/** Bytes a batch or scan answer adds around its records: map and array headers, keys, cursor. */
export const LIST_ANSWER_OVERHEAD_BYTES = 64;

/**
 * A batch element that carries only its code: [code, generation 0, ttl 0(, bins nil)], what an
 * element a worker refused (or that was never read) answers, wherever the batch was assembled.
 */
export function elementError(code: number, withBins: boolean): Buffer {
  const w = new Writer(16);
  w.writeArrayHeader(withBins ? 4 : 3);
  w.writeInt(code);
  w.writeUint(0);
  w.writeInt(0);
  if (withBins) w.writeNil();
  return w.copy() as Buffer;
}

/** {records: [element…]}; every element is one complete msgpack value. */
export function writeBatchBody(w: Writer, elements: Buffer[]): void {
  w.writeMapHeader(1);
  w.writeString('records');
  w.writeArrayHeader(elements.length);
  for (const e of elements) w.writeRaw(e, 0, e.length);
}

export function batchBodyBytes(elements: Buffer[]): number {
  let bytes = LIST_ANSWER_OVERHEAD_BYTES;
  for (const e of elements) bytes += e.length;
  return bytes;
}

/** {records, cursor}: the page's records array as the worker wrote it (null: none), and the cursor or nil. */
export function writeScanBody(w: Writer, bytes: Uint8Array | null, start: number, end: number, cursor: Buffer | null): void {
  w.writeMapHeader(2);
  w.writeString('records');
  if (bytes === null) w.writeArrayHeader(0);
  else w.writeRaw(bytes, start, end);
  w.writeString('cursor');
  if (cursor === null) w.writeNil();
  else w.writeBin(cursor);
}

export function scanBodyBytes(bytes: Uint8Array | null, start: number, end: number, cursor: Buffer | null): number {
  return LIST_ANSWER_OVERHEAD_BYTES + (bytes === null ? 0 : end - start) + (cursor === null ? 0 : cursor.length);
}
