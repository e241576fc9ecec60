// What a restore policy asks of each put, and what each put's outcome counts as: pure functions
// and a tally, so the rules are tested without a node.
//
// Writes are never retried. A put that failed definitely is 'failed'; one whose outcome is
// unknown (AerieError.inDoubt) is 'inDoubt', never 'failed', because it may have been applied.
// The policy's own refusals are expected answers, not failures: create-only meeting an existing
// record counts as 'existed', generation-gt meeting a record at least as new as the backup's
// counts as 'skippedOlder'.

import { BACKUP_RESTORE_ERRORS_KEPT_MAX } from '../constants';
import { AerieError, Status, statusName } from '../errors';
import type { RecordMeta, WritePolicy } from '../client/policy';
import { parameterError } from '../client/validate';

export const RESTORE_POLICIES = ['create-only', 'replace', 'generation-gt'] as const;
export type RestorePolicy = (typeof RESTORE_POLICIES)[number];

export function checkRestorePolicy(policy: unknown): RestorePolicy {
  if (typeof policy === 'string' && (RESTORE_POLICIES as readonly string[]).includes(policy)) return policy as RestorePolicy;
  throw parameterError(`policy must be one of ${RESTORE_POLICIES.join(', ')}`);
}

/**
 * The put's policy for a record: the whole record is written (replace), as in the backup, never
 * merged with bins already there. generation-gt writes only when the backup's generation is
 * greater than the stored one (or the record is absent).
 */
export function writePolicyFor(policy: RestorePolicy, backupGen: number, sendKey: boolean): { meta: RecordMeta; write: WritePolicy } {
  switch (policy) {
    case 'create-only':
      return { meta: {}, write: { exists: 'create-only', sendKey } };
    case 'replace':
      return { meta: {}, write: { exists: 'replace', sendKey } };
    case 'generation-gt':
      return { meta: { gen: backupGen }, write: { exists: 'replace', genPolicy: 'gt', sendKey } };
  }
}

export type PutOutcome = 'restored' | 'existed' | 'skippedOlder' | 'failed' | 'inDoubt';
/** A record's fate: a put's outcome, or skipped because its TTL ran out. */
export type RecordOutcome = PutOutcome | 'expired';

export function classifyError(policy: RestorePolicy, error: unknown): Exclude<PutOutcome, 'restored'> {
  if (!(error instanceof AerieError)) return 'failed';
  if (error.inDoubt) return 'inDoubt';
  if (policy === 'create-only' && error.code === Status.KEY_EXISTS) return 'existed';
  if (policy === 'generation-gt' && error.code === Status.GENERATION) return 'skippedOlder';
  return 'failed';
}

/** One failed or in-doubt write, described. */
export interface RestoreError {
  /** `ns:set:key`, or `ns:set:digest:HEX` for a record stored without its key. */
  key: string;
  code: number;
  name: string;
  message: string;
  inDoubt: boolean;
}

export interface RestoreCounts {
  /** Records read from the file so far. */
  records: number;
  restored: number;
  existed: number;
  skippedOlder: number;
  /** Records whose TTL ran out since the backup: not written. */
  expired: number;
  failed: number;
  inDoubt: number;
}

/** Counts outcomes and keeps the first BACKUP_RESTORE_ERRORS_KEPT_MAX failed or in-doubt writes. */
export class RestoreTally {
  readonly counts: RestoreCounts = { records: 0, restored: 0, existed: 0, skippedOlder: 0, expired: 0, failed: 0, inDoubt: 0 };
  readonly errors: RestoreError[] = [];

  /** Records settled: written, refused, failed or skipped as expired. */
  get settled(): number {
    const c = this.counts;
    return c.restored + c.existed + c.skippedOlder + c.expired + c.failed + c.inDoubt;
  }

  add(outcome: RecordOutcome, key?: string, error?: unknown): void {
    this.counts[outcome]++;
    if ((outcome === 'failed' || outcome === 'inDoubt') && this.errors.length < BACKUP_RESTORE_ERRORS_KEPT_MAX) {
      this.errors.push(describeError(key ?? '?', error));
    }
  }
}

function describeError(key: string, error: unknown): RestoreError {
  const code = error instanceof AerieError ? error.code : Status.CLIENT_ERROR;
  return {
    key,
    code,
    name: statusName(code),
    message: error instanceof Error ? error.message : String(error),
    inDoubt: error instanceof AerieError && error.inDoubt,
  };
}
