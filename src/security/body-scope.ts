// Where a request acts, for a user whose rights are scoped to namespaces or sets: the (ns, set)
// pairs its body names. Only such users pay for this read; everyone else is judged by op alone.

import { Op } from '../protocol/ops';
import { Reader } from '../protocol/reader';

const reader = new Reader(new Uint8Array(0));

/** One place a request acts: set null for none (or a whole namespace). */
export interface Scope {
  ns: string;
  set: string | null;
}

/**
 * The scopes of the request body frame[start, end), or null when it names none readably (the
 * request is then refused as a role violation rather than guessed at).
 */
export function scopesOf(op: number, frame: Uint8Array, start: number, end: number): Scope[] | null {
  let body: unknown;
  try {
    body = reader.reset(frame, start, end).readValue();
  } catch {
    return null;
  }
  if (op === Op.BATCH_GET || op === Op.BATCH_EXISTS) {
    const keys = fieldOf(body, 'keys');
    if (!Array.isArray(keys) || keys.length === 0) return null;
    const scopes: Scope[] = [];
    for (const key of keys) {
      const scope = scopeOf(key);
      if (scope === null) return null;
      scopes.push(scope);
    }
    return scopes;
  }
  const scope = scopeOf(body);
  return scope === null ? null : [scope];
}

function scopeOf(value: unknown): Scope | null {
  const ns = fieldOf(value, 'ns');
  const set = fieldOf(value, 'set') ?? null;
  if (typeof ns !== 'string' || (set !== null && typeof set !== 'string')) return null;
  return { ns, set: set === '' ? null : set };
}

function fieldOf(value: unknown, name: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Map) return undefined;
  return Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
}
