// Password hashes: scrypt from node:crypto (memory-hard, so a stolen users file costs an attacker
// 16 MiB and tens of milliseconds per guess), run on libuv's thread pool so the primary's event
// loop never waits for one. At most PASSWORD_HASHES_IN_FLIGHT_MAX run at once, with a bounded
// queue behind them: a flood of logins cannot make the node allocate without limit.

import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import * as C from '../constants';
import { AerieError, Status } from '../errors';

const PREFIX = 'scrypt';

let running = 0;
const waiting: (() => void)[] = [];

async function turn<T>(work: () => Promise<T>): Promise<T> {
  if (running >= C.PASSWORD_HASHES_IN_FLIGHT_MAX) {
    if (waiting.length >= C.PASSWORD_HASHES_WAITING_MAX) throw new AerieError(Status.QUOTA_EXCEEDED, 'too many logins at once: try again');
    await new Promise<void>((resolve) => waiting.push(resolve));
  }
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function derive(password: string, salt: Buffer, n: number, r: number, p: number, keyBytes: number): Promise<Buffer> {
  return turn(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        scrypt(password, salt, keyBytes, { N: n, r, p, maxmem: C.SCRYPT_MAXMEM_BYTES }, (err, key) => (err === null ? resolve(key) : reject(err)));
      }),
  );
}

/** Refuses a password that cannot be set: INVALID_PASSWORD (62). */
export function checkPassword(password: unknown): string {
  if (typeof password !== 'string') throw new AerieError(Status.INVALID_PASSWORD, 'a password is a string');
  const bytes = Buffer.byteLength(password);
  if (bytes < C.PASSWORD_BYTES_MIN || bytes > C.PASSWORD_BYTES_MAX) {
    throw new AerieError(Status.INVALID_PASSWORD, `a password is ${C.PASSWORD_BYTES_MIN} to ${C.PASSWORD_BYTES_MAX} bytes`);
  }
  return password;
}

/** `scrypt$N$r$p$salt$key` (base64): the parameters travel with the hash, so they can change later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(C.SCRYPT_SALT_BYTES);
  const key = await derive(password, salt, C.SCRYPT_COST_N, C.SCRYPT_BLOCK_SIZE_R, C.SCRYPT_PARALLEL_P, C.SCRYPT_KEY_BYTES);
  return [PREFIX, C.SCRYPT_COST_N, C.SCRYPT_BLOCK_SIZE_R, C.SCRYPT_PARALLEL_P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Whether `password` matches `stored`; false for a stored hash this build cannot read. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64');
  const key = Buffer.from(parts[5], 'base64');
  if (![n, r, p].every(Number.isSafeInteger) || n > 1 << 20 || r > 32 || p > 16 || key.length === 0 || key.length > 64) return false;
  const derived = await derive(password, salt, n, r, p, key.length);
  return timingSafeEqual(derived, key);
}

/** A hash no password matches, checked against when the user does not exist so both cost the same. */
export const UNMATCHABLE_HASH = `${PREFIX}$${C.SCRYPT_COST_N}$${C.SCRYPT_BLOCK_SIZE_R}$${C.SCRYPT_PARALLEL_P}$${Buffer.alloc(C.SCRYPT_SALT_BYTES).toString('base64')}$${Buffer.alloc(C.SCRYPT_KEY_BYTES, 0xff).toString('base64')}`;
