// Message layouts on the shared-memory rings between the primary and a worker. Every request is
// one explicit, self-contained operation (namespace, set id, digest, the client's msgpack body),
// so the same message could later be shipped to a replica or appended to a log.
//
// request (primary -> worker), little-endian:
//   0  u32 slot       the primary's request slot, echoed in the response
//   4  u8  op         Op code (src/protocol/ops.ts)
//   5  u8  nsIndex    index into config.namespaces
//   6  u8  flags      ReqFlag bits
//   7  u8  reserved
//   8  u16 setId      0 = no set; for SCAN, SCAN_ALL_SETS = every set
//   10 u16 reserved
//   12 20B digest     for SCAN: u32 startSlot, u32 pageRecordsMax, u32 pageBytesMax,
//                     u32 indexId (the index the cursor was made on; 0 on a worker's first page);
//                     for TRUNCATE: f64 beforeMs (setId SCAN_ALL_SETS = every set)
//   32 ...            the request body as the client sent it (msgpack map), possibly empty
// response (worker -> primary):
//   0  u32 slot
//   4  i32 code       result code (src/errors.ts)
//   8  ...            the response body (msgpack), empty = nil;
//                     for SCAN: u32 nextSlot (SCAN_DONE = finished), u32 indexId, then the records
//                     array; SCAN_ABORT and no body when the index is not the cursor's

import { DIGEST_BYTES } from '../constants';

export const REQ_HEADER_BYTES = 32;
export const RES_HEADER_BYTES = 8;

export const ReqOffset = {
  SLOT: 0,
  OP: 4,
  NS: 5,
  FLAGS: 6,
  SET_ID: 8,
  DIGEST: 12,
  SCAN_START_SLOT: 12,
  SCAN_RECORDS_MAX: 16,
  SCAN_BYTES_MAX: 20,
  SCAN_INDEX_ID: 24,
  TRUNCATE_BEFORE_MS: 12,
} as const;

/**
 * Writes a request message's 32-byte header at `at` (every byte: the buffer is reused), the
 * digest (DIGEST_BYTES at `digest[0]`) included. Byte by byte rather than fill and set: those are
 * calls into the runtime, dearer than the stores for a header this short.
 */
export function writeRequestHeader(b: Uint8Array, v: DataView, at: number, slot: number, op: number, nsIndex: number, flags: number, reserved: number, setId: number, digest: Uint8Array): void {
  v.setUint32(at + ReqOffset.SLOT, slot, true);
  b[at + ReqOffset.OP] = op;
  b[at + ReqOffset.NS] = nsIndex;
  b[at + ReqOffset.FLAGS] = flags;
  b[at + ReqOffset.FLAGS + 1] = reserved;
  // The set id and the two reserved bytes after it.
  v.setUint32(at + ReqOffset.SET_ID, setId, true);
  for (let i = 0; i < DIGEST_BYTES; i++) b[at + ReqOffset.DIGEST + i] = digest[i];
}

export const ReqFlag = {
  /** Answer as a batch element: [code, gen, ttl, bins] (GET) or [code, gen, ttl] (EXISTS). */
  BATCH_ELEMENT: 1,
} as const;

export const SCAN_ALL_SETS = 0xffff;
/**
 * A response with this slot answers no request: the worker acknowledged replication messages
 * (released a channel), so the primary looks at the writes waiting for their replicas.
 */
export const ACK_SLOT = 0xffffffff;
export const SCAN_DONE = 0xffffffff;
