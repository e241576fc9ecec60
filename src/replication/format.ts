// Messages on a master -> replica channel (a Ring per ordered worker pair, docs/replication.md).
// A channel carries record images, never requests: the replica stores exactly what the master
// stored (generation, void-time, last-update time, key, bins), so applying a message twice is
// harmless and the replica's copy is always a prefix of the master's history.
//
// little-endian:
//   0  u8  kind        Kind below
//   1  u8  nsIndex
//   2  u16 setId       PUT
//   4  u32 voidTime    PUT
//   8  f64 lastUpdateMs PUT
//   16 u16 generation  PUT
//   18 u16 count       BEGIN/END: partitions listed from byte 20 as u16
//   20 20B digest      PUT/DELETE
//   40 u32 keyBytes    PUT
//   44 u32 binsBytes   PUT
//   48 ...             PUT: key then bins

import { DIGEST_BYTES } from '../constants';

export const ReplKind = {
  /** Store this record image (a live write, or a record copied by a migration). */
  PUT: 1,
  /** Remove the record if present. */
  DELETE: 2,
  /** A migration of the listed partitions starts: drop what you hold of them. */
  BEGIN: 3,
  /** Every record of the listed partitions has been sent. */
  END: 4,
} as const;

export const ReplOffset = {
  KIND: 0,
  NS: 1,
  SET_ID: 2,
  VOID_TIME: 4,
  LAST_UPDATE_MS: 8,
  GENERATION: 16,
  COUNT: 18,
  DIGEST: 20,
  KEY_BYTES: 40,
  BINS_BYTES: 44,
  PAYLOAD: 48,
  PARTITIONS: 20,
} as const;

export const REPL_DELETE_BYTES = ReplOffset.DIGEST + DIGEST_BYTES;
export const replMarkerBytes = (count: number): number => ReplOffset.PARTITIONS + 2 * count;
