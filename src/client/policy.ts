// Call options (meta and policies) and their mapping to wire fields. Policies take the numeric
// enums of protocol/ops.ts or readable strings; anything else fails here with PARAMETER.

import { BINS_PER_RECORD_MAX } from '../constants';
import { Exists, GenPolicy, type BinValue, type Bins } from '../protocol/ops';
import { checkBinName, checkCount, checkGeneration, checkTimeoutMs, checkTtl, parameterError } from './validate';

export type ExistsCode = (typeof Exists)[keyof typeof Exists];
export type GenPolicyCode = (typeof GenPolicy)[keyof typeof GenPolicy];
export type ExistsName = 'update' | 'update-only' | 'replace' | 'replace-only' | 'create-only';
export type GenPolicyName = 'none' | 'eq' | 'gt';
export type ExistsPolicy = ExistsCode | ExistsName;
export type GenerationPolicy = GenPolicyCode | GenPolicyName;

const EXISTS_BY_NAME: Readonly<Record<ExistsName, ExistsCode>> = {
  'update': Exists.UPDATE,
  'update-only': Exists.UPDATE_ONLY,
  'replace': Exists.REPLACE,
  'replace-only': Exists.REPLACE_ONLY,
  'create-only': Exists.CREATE_ONLY,
};
const GEN_POLICY_BY_NAME: Readonly<Record<GenPolicyName, GenPolicyCode>> = {
  none: GenPolicy.NONE,
  eq: GenPolicy.EXPECT_GEN_EQUAL,
  gt: GenPolicy.EXPECT_GEN_GT,
};
const EXISTS_CODES: ReadonlySet<unknown> = new Set(Object.values(Exists));
const GEN_POLICY_CODES: ReadonlySet<unknown> = new Set(Object.values(GenPolicy));

/** Bins as a caller passes them: `undefined` values are dropped, as JSON.stringify drops them. */
export type BinsInput = { [bin: string]: BinValue | undefined };

/**
 * What put<T>() accepts as T: any object type whose every field is a bin value, interfaces
 * included (they have no index signature, so they are not BinsInput themselves).
 */
export type BinsShape<T> = { [K in keyof T]: BinValue | undefined };

/** Record metadata of a write: `ttl` in seconds (or -2 keep, -1 never, 0 namespace default), expected `gen`. */
export interface RecordMeta {
  ttl?: number;
  gen?: number;
}

export interface BasePolicy {
  /** Total time the call may take, queueing and retries included. Default: the client's timeoutMs. */
  timeoutMs?: number;
}

export interface ReadPolicy extends BasePolicy {
  /** Re-sends after a lost connection before failing MAX_RETRIES_EXCEEDED. Default: the client's maxRetries. */
  maxRetries?: number;
}

/**
 * 'all' (default): the write is answered once every replica in sync holds it; 'master': once its
 * master applied it (faster; a write acknowledged this way is lost if the master dies before it
 * reaches a replica). docs/replication.md.
 */
export type CommitLevel = 'all' | 'master';

export interface WritePolicy extends BasePolicy {
  /** When the write is acknowledged. Default 'all'. */
  commitLevel?: CommitLevel;
  /** What to do when the record does or does not exist. Default 'update'. */
  exists?: ExistsPolicy;
  /** How `meta.gen` is compared with the stored generation. Default 'none'. */
  genPolicy?: GenerationPolicy;
  /** Store the user key with the record, so scans can return it. */
  sendKey?: boolean;
}

/** remove() and touch() have no meta argument: the expected generation travels in the policy. */
export interface GenerationCheckPolicy extends BasePolicy {
  /** When the write is acknowledged. Default 'all'. */
  commitLevel?: CommitLevel;
  gen?: number;
  genPolicy?: GenerationPolicy;
}

export type OperatePolicy = WritePolicy & ReadPolicy;

export function toExistsCode(value: unknown): ExistsCode {
  if (typeof value === 'string' && Object.hasOwn(EXISTS_BY_NAME, value)) return EXISTS_BY_NAME[value as ExistsName];
  if (EXISTS_CODES.has(value)) return value as ExistsCode;
  throw parameterError(`unknown exists policy: ${String(value)}`);
}

export function toGenPolicyCode(value: unknown): GenPolicyCode {
  if (typeof value === 'string' && Object.hasOwn(GEN_POLICY_BY_NAME, value)) return GEN_POLICY_BY_NAME[value as GenPolicyName];
  if (GEN_POLICY_CODES.has(value)) return value as GenPolicyCode;
  throw parameterError(`unknown generation policy: ${String(value)}`);
}

/** The wire fields a write adds to its body. Only fields the caller set are sent. */
export interface WriteFields {
  ttl?: number;
  gen?: number;
  exists?: ExistsCode;
  genPolicy?: GenPolicyCode;
  sendKey?: boolean;
  commitLevel?: CommitLevel;
}

/** Maps meta and policy of put()/operate() to wire fields, checking each. */
export function writeFields(meta: RecordMeta | undefined, policy: WritePolicy | undefined): WriteFields {
  const fields: WriteFields = {};
  if (meta?.ttl !== undefined) fields.ttl = checkTtl(meta.ttl);
  addGeneration(fields, meta?.gen, policy?.genPolicy);
  if (policy?.exists !== undefined) fields.exists = toExistsCode(policy.exists);
  if (policy?.sendKey !== undefined) {
    if (typeof policy.sendKey !== 'boolean') throw parameterError('sendKey must be a boolean');
    fields.sendKey = policy.sendKey;
  }
  addCommitLevel(fields, policy?.commitLevel);
  return fields;
}

function addCommitLevel(fields: WriteFields, commitLevel: unknown): void {
  if (commitLevel === undefined) return;
  if (commitLevel !== 'all' && commitLevel !== 'master') throw parameterError(`unknown commit level: ${String(commitLevel)} ('all' or 'master')`);
  fields.commitLevel = commitLevel;
}

/** Maps the generation check of remove()/touch(). */
export function generationFields(policy: GenerationCheckPolicy | undefined): WriteFields {
  const fields: WriteFields = {};
  addGeneration(fields, policy?.gen, policy?.genPolicy);
  addCommitLevel(fields, policy?.commitLevel);
  return fields;
}

function addGeneration(fields: WriteFields, gen: unknown, genPolicy: unknown): void {
  if (gen !== undefined) fields.gen = checkGeneration(gen);
  if (genPolicy === undefined) return;
  fields.genPolicy = toGenPolicyCode(genPolicy);
  if (fields.genPolicy !== GenPolicy.NONE && fields.gen === undefined) {
    throw parameterError('a generation policy other than none needs gen');
  }
}

/** The call's timeout: the policy's, else the client's default. */
export function timeoutOf(policy: BasePolicy | undefined, fallbackMs: number): number {
  return policy?.timeoutMs === undefined ? fallbackMs : checkTimeoutMs(policy.timeoutMs);
}

/** The call's retry budget: the policy's, else the client's default. */
export function retriesOf(policy: ReadPolicy | undefined, fallback: number): number {
  return policy?.maxRetries === undefined ? fallback : checkCount(policy.maxRetries, 'maxRetries', 0, 100);
}

/**
 * The bins of a put, with `undefined` values dropped as JSON.stringify drops them. Other values
 * are checked when the body is encoded (Writer.writeValue rejects what msgpack cannot carry).
 */
export function cleanBins(bins: unknown): Bins {
  if (bins === null || typeof bins !== 'object' || Array.isArray(bins) || bins instanceof Map || bins instanceof Uint8Array) {
    throw parameterError('bins must be a plain object of bin name to value');
  }
  const clean: Bins = {};
  let count = 0;
  for (const name of Object.keys(bins)) {
    const value = (bins as Record<string, BinValue | undefined>)[name];
    if (value === undefined) continue;
    clean[checkBinName(name)] = value;
    if (++count > BINS_PER_RECORD_MAX) throw parameterError(`more than ${BINS_PER_RECORD_MAX} bins`);
  }
  return clean;
}
