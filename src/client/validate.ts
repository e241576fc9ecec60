// Client-side checks of names and numbers, so that a malformed call fails at once with
// AerieError(PARAMETER) instead of costing a round trip. The server checks everything again.

import { BIN_NAME_BYTES_MAX, GENERATION_MAX, NAMESPACE_NAME_BYTES_MAX, SET_NAME_BYTES_MAX, TTL_SEC_MAX } from '../constants';
import { utf8ByteLength } from '../bytes';
import { AerieError, Status } from '../errors';
import { Ttl } from '../protocol/ops';

export function parameterError(message: string): AerieError {
  return new AerieError(Status.PARAMETER, message);
}

export function checkNamespace(ns: unknown): string {
  if (typeof ns !== 'string' || ns.length === 0) throw parameterError('namespace must be a non-empty string');
  if (utf8ByteLength(ns) > NAMESPACE_NAME_BYTES_MAX) {
    throw parameterError(`namespace longer than ${NAMESPACE_NAME_BYTES_MAX} bytes`);
  }
  return ns;
}

/** A set name, or null for "no set" (the empty string also means no set, as in Aerospike). */
export function checkSet(set: unknown): string | null {
  if (set === null || set === undefined || set === '') return null;
  if (typeof set !== 'string') throw parameterError('set must be a string or null');
  if (utf8ByteLength(set) > SET_NAME_BYTES_MAX) {
    throw parameterError(`set name longer than ${SET_NAME_BYTES_MAX} bytes`);
  }
  return set;
}

export function checkBinName(bin: unknown): string {
  if (typeof bin !== 'string' || bin.length === 0) throw parameterError('bin name must be a non-empty string');
  if (utf8ByteLength(bin) > BIN_NAME_BYTES_MAX) {
    throw new AerieError(Status.BIN_NAME_TOO_LONG, `bin name longer than ${BIN_NAME_BYTES_MAX} bytes: ${bin}`);
  }
  return bin;
}

export function checkBinNames(bins: unknown): string[] {
  if (!Array.isArray(bins)) throw parameterError('bins must be an array of bin names');
  for (const bin of bins) checkBinName(bin);
  return bins as string[];
}

/** TTL in seconds, or one of the special values of Ttl (-2, -1, 0). */
export function checkTtl(ttl: unknown): number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < Ttl.DONT_UPDATE || ttl > TTL_SEC_MAX) {
    throw parameterError(`ttl must be an integer from ${Ttl.DONT_UPDATE} to ${TTL_SEC_MAX}`);
  }
  return ttl;
}

export function checkGeneration(gen: unknown): number {
  if (typeof gen !== 'number' || !Number.isInteger(gen) || gen < 0 || gen > GENERATION_MAX) {
    throw parameterError(`gen must be an integer from 0 to ${GENERATION_MAX}`);
  }
  return gen;
}

export function checkTimeoutMs(timeoutMs: unknown, what = 'timeoutMs'): number {
  // 2^31 - 1 is the largest delay setTimeout honours; anything larger would fire at once.
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 0x7fffffff) {
    throw parameterError(`${what} must be a positive integer of milliseconds`);
  }
  return timeoutMs;
}

export function checkCount(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw parameterError(`${what} must be an integer from ${min} to ${max}`);
  }
  return value;
}
