// The wire contract between clients and the node (docs/protocol.md is its prose form).
//
// Transport: WebSocket, binary frames only. Each frame is ONE msgpack array of messages.
//   request  = [id, op, body]     id: uint32 chosen by the client, echoed back
//                                 op: one of Op below; body: msgpack map (or nil)
//   response = [id, code, body]   code: result code (src/errors.ts), body: map or nil
// Responses may arrive in any order and several may share a frame. The first request on a
// connection must be HELLO; anything before it is answered NOT_AUTHENTICATED (80).
// Every field name below is the exact msgpack map key on the wire.

export const PROTOCOL_VERSION = 1;

export const Op = {
  /** body {protocol, user?, password?|token?, client?} -> {node, protocol, namespaces, workers, limits,
   *  token?, tokenExpiresAtMs?} (the token when security is enabled: docs/security.md) */
  HELLO: 1,
  /** body {ns, set?, key|digest, bins, ttl?, gen?, exists?, genPolicy?, sendKey?} -> {gen, ttl} */
  PUT: 2,
  /** body {ns, set?, key|digest, bins?: string[]} -> {gen, ttl, bins} */
  GET: 3,
  /** body {ns, set?, key|digest} -> {gen, ttl}; KEY_NOT_FOUND when absent */
  EXISTS: 4,
  /** body {ns, set?, key|digest, gen?, genPolicy?} -> nil; KEY_NOT_FOUND when absent */
  REMOVE: 5,
  /** body {ns, set?, key|digest, ttl?, gen?, genPolicy?} -> {gen, ttl} */
  TOUCH: 6,
  /** body {ns, set?, key|digest, ops: OperateOp[], ttl?, gen?, exists?, genPolicy?, sendKey?}
   *  -> {gen, ttl, results: any[]} (results[i] answers ops[i]; nil for ops without a result) */
  OPERATE: 7,
  /** body {keys: KeyRef[], bins?: string[]} -> {records: ([code, gen, ttl, bins] )[]} in key order */
  BATCH_GET: 8,
  /** body {keys: KeyRef[]} -> {records: ([code, gen, ttl])[]} in key order */
  BATCH_EXISTS: 9,
  /** body {ns, set?, pageSize?, cursor?, bins?: string[]}
   *  -> {records: [digest, set|nil, key|nil, gen, ttl, bins][], cursor: bin|nil (nil = done)} */
  SCAN: 10,
  /** body nil -> node statistics map (docs/protocol.md lists the fields) */
  INFO: 11,
  /** body nil -> nil */
  PING: 12,
  /** body {ns?} -> {namespaces: [{name, records, checked, changing, problemCount, problems, stale}]}:
   *  checks every stored record against the index from a background thread (docs/operations.md) */
  VERIFY: 13,
  /** body nil -> nil. A client sends it after a GOAWAY push, once it has stopped sending on this
   *  connection; the node answers it after every earlier request, then closes with 1001. */
  DRAINED: 14,
  /** body {worker: int, kind: 'crash'|'exit'|'hang'|'stall'|'oom'|'lag'} -> nil. Refused with
   *  FAIL_FORBIDDEN (22) unless the node's config enables fault injection. The worker answers,
   *  then fails as asked; the supervisor detects it and restarts the worker. */
  FAULT: 15,
  /** body {ns, set?, beforeMs?} -> {deleted}. Deletes every record of the set (or of the whole
   *  namespace) last updated at or before beforeMs (default: now), on every worker, durably (a
   *  file namespace logs a truncate marker and answers after its group commit). A write: a
   *  worker failing with it in flight answers TIMEOUT, in doubt. */
  TRUNCATE: 16,
  /** body {action: 'create'|'list'|'restore'|'delete', ns, id?: str}: a namespace's snapshots
   *  (docs/snapshots.md). create -> {id, records, bytes, elapsedMs, pauseMs, segmentsReleased};
   *  list -> {snapshots: [{id, createdAtMs, records, bytes, base}]}; restore -> {id, records,
   *  elapsedMs, pauseMs, segmentsReleased}; delete -> {id}. */
  SNAPSHOT: 17,
  /** body {worker: int} -> {worker, state, restarts, elapsedMs}: restarts the worker (a thread
   *  that is up is stopped first; one given up on is started again, its failures forgotten) and
   *  answers once it is up. PARAMETER for an unknown worker; PARTITION_UNAVAILABLE if it is given
   *  up on again first; TIMEOUT if it is not up within a minute. */
  WORKER_RESTART: 18,
  /** body nil -> {token, tokenExpiresAtMs}: a fresh session token for the connection's user, so a
   *  client renews its token before it expires without sending the password again
   *  (docs/security.md). SECURITY_NOT_ENABLED (52) on a node without security. */
  TOKEN: 19,
  /** body {action: 'create'|'drop'|'passwd'|'grant'|'revoke'|'list', user?, password?, roles?}:
   *  users (docs/security.md). list -> {users: [{user, roles}]}; the others -> nil. */
  USER: 20,
  /** body {action: 'create'|'drop'|'allowlist'|'list', role?, privileges?: str[], allowlist?: str[]}:
   *  custom roles. list -> {roles: [{role, privileges, predefined, allowlist?}]}; the others -> nil. */
  ROLE: 21,
  /** body {on?: bool} -> {intervalMs, history, events, allowed}: subscribes the connection to the
   *  admin feed (on: false unsubscribes, answering nil). While subscribed, the node pushes
   *  [PUSH_ID, 0, {event: 'admin', ...}] once a second (docs/protocol.md §14, docs/operations.md).
   *  Front port only: a worker endpoint answers UNSUPPORTED_FEATURE (16). */
  WATCH: 22,
} as const;

/** Ops that change records: a worker failing with one in flight leaves its outcome unknown. */
export function isWriteOp(op: number): boolean {
  return op === Op.PUT || op === Op.REMOVE || op === Op.TOUCH || op === Op.OPERATE || op === Op.TRUNCATE;
}

/**
 * Server pushes use this id, which clients must never use for a request:
 *   [PUSH_ID, 0, {event: 'goaway', reason}]: the node is shutting down; send nothing new on this
 *   connection, send DRAINED, and reconnect (to this or another node) once it closes.
 */
export const PUSH_ID = 0xffffffff;
export type OpCode = (typeof Op)[keyof typeof Op];

/** A key inside BATCH_GET / BATCH_EXISTS: {ns, set?, key|digest}. */
export interface KeyRef {
  ns: string;
  set?: string | null;
  key?: UserKey | null;
  digest?: Uint8Array | null;
}

/** User keys: string (non-empty), integer (safe number or 64-bit bigint), or bytes (non-empty). */
export type UserKey = string | number | bigint | Uint8Array;

/** Record-exists policy (`exists` field). Default UPDATE. */
export const Exists = {
  UPDATE: 0,
  UPDATE_ONLY: 1,
  REPLACE: 2,
  REPLACE_ONLY: 3,
  CREATE_ONLY: 4,
} as const;

/** Generation policy (`genPolicy` field), compared against the `gen` field. Default NONE. */
export const GenPolicy = {
  NONE: 0,
  EXPECT_GEN_EQUAL: 1,
  EXPECT_GEN_GT: 2,
} as const;

/** TTL values with special meaning (`ttl` field); any other value is seconds, 1..TTL_SEC_MAX. */
export const Ttl = {
  NAMESPACE_DEFAULT: 0,
  NEVER_EXPIRE: -1,
  DONT_UPDATE: -2,
} as const;

/**
 * Operate sub-operations: each is a msgpack array [opType, bin, ...args].
 * Scalar ops act on a bin; list and map ops act on a bin holding a list or a map.
 */
export const OpType = {
  /** [1, bin|nil] -> the bin's value (nil bin: a map of all bins) */
  READ: 1,
  /** [2, bin, value] -> nil; value nil deletes the bin */
  WRITE: 2,
  /** [3, bin, number] -> nil; integer bins add integers, float bins add numbers; missing bin starts at 0 */
  INCR: 3,
  /** [4, bin, string|bytes] -> nil */
  APPEND: 4,
  /** [5, bin, string|bytes] -> nil */
  PREPEND: 5,
  /** [6] -> nil; resets the TTL */
  TOUCH: 6,
  /** [7] -> nil; deletes the record */
  DELETE: 7,
  /** [20, bin, value] -> new list size; missing bin becomes [value] */
  LIST_APPEND: 20,
  /** [21, bin, index] -> element (negative index counts from the end) */
  LIST_GET: 21,
  /** [22, bin] -> size (0 when the bin is missing) */
  LIST_SIZE: 22,
  /** [23, bin, index] -> number of elements removed (1) */
  LIST_REMOVE: 23,
  /** [24, bin, index] -> the removed element */
  LIST_POP: 24,
  /** [40, bin, key, value] -> new map size; missing bin becomes {key: value} */
  MAP_PUT: 40,
  /** [41, bin, key] -> value, or nil when the key is absent */
  MAP_GET_BY_KEY: 41,
  /** [42, bin, key] -> the removed value, or nil when the key was absent */
  MAP_REMOVE_BY_KEY: 42,
  /** [43, bin] -> size (0 when the bin is missing) */
  MAP_SIZE: 43,
  /** [44, bin, key, number] -> new value; missing key starts at 0 */
  MAP_INCREMENT: 44,
} as const;
export type OpTypeCode = (typeof OpType)[keyof typeof OpType];

/** A bin value as stored and as it crosses the wire. Maps with non-string keys are JS Maps. */
export type BinValue = null | boolean | number | bigint | string | Uint8Array | BinValue[] | { [key: string]: BinValue } | Map<string | number | bigint, BinValue>;
export type Bins = { [bin: string]: BinValue };
