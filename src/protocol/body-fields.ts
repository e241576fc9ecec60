// Every field a request body may name, and which thread reads it: the primary reads the fields
// it routes on (src/endpoint/routing-fields.ts), the worker the ones it applies
// (src/protocol/request-body.ts), and each skips the other's. One table, so a field one side
// accepts is never refused by the other as unknown.

/** Fields the primary reads, each a bit of RoutingFields.seen. */
export const RoutingField = {
  ns: 1,
  set: 2,
  key: 4,
  digest: 8,
  bins: 16,
  keys: 32,
  cursor: 64,
  pageSize: 128,
  beforeMs: 256,
  commitLevel: 512,
} as const;

/** Fields the worker reads; `key` (its raw bytes, for sendKey) and `bins` are read by both. */
export const WORKER_FIELDS: ReadonlySet<string> = new Set(['bins', 'ops', 'ttl', 'gen', 'exists', 'genPolicy', 'sendKey', 'key']);

/** Fields the worker skips unread: the primary read and checked them. */
export const PRIMARY_ONLY_FIELDS: ReadonlySet<string> = new Set(Object.keys(RoutingField).filter((name) => !WORKER_FIELDS.has(name)));
