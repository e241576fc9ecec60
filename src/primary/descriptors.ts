// The process's file-descriptor budget: how many client sockets the node may hold so that worker
// restarts, log files and jobs always find a descriptor. Every socket costs one, from the moment
// the kernel hands it over (long before a WebSocket session exists), so the budget caps sockets.
//
// Node raises the soft RLIMIT_NOFILE to the hard limit when it starts, but an embedding process
// may have lowered it since; Node has no setrlimit API, so the node asks util-linux's `prlimit`
// to raise it (allowed without privileges up to the hard limit), and reads the effective limit
// from /proc/self/limits. Where neither exists (not Linux), the limit is unknown: sockets are
// capped by service.connectionsMax alone, and start-up says so once.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { NamespaceConfig } from '../config';
import { DESCRIPTORS_RESERVE_BASE, DESCRIPTORS_RESERVE_PER_FILE_STORE, DESCRIPTORS_RESERVE_PER_WORKER, PRLIMIT_TIMEOUT_MS } from '../constants';

export interface DescriptorLimit {
  soft: number;
  hard: number;
}

export interface DescriptorBudget {
  /** The effective (soft) RLIMIT_NOFILE, or null when it cannot be read. */
  limit: number | null;
  hardLimit: number | null;
  /** Descriptors open when the budget was drawn (threads, listening socket, files). */
  openAtStart: number | null;
  /** Kept free for worker restarts, files and jobs. */
  reserve: number;
  /** Client sockets the node holds at once (handshakes included): the smaller of the two caps. */
  socketsMax: number;
}

/** Parses the "Max open files" line of /proc/<pid>/limits ("unlimited" counts as 2^31). */
export function parseDescriptorLimit(limits: string): DescriptorLimit | null {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (m === null) return null;
  const value = (s: string) => (s === 'unlimited' ? 2 ** 31 : Number(s));
  const soft = value(m[1]);
  const hard = value(m[2]);
  return Number.isSafeInteger(soft) && Number.isSafeInteger(hard) ? { soft, hard } : null;
}

export function readDescriptorLimit(): DescriptorLimit | null {
  try {
    return parseDescriptorLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return null;
  }
}

/** Descriptors this process has open now, or null where /proc is missing. */
export function openDescriptors(): number | null {
  try {
    return readdirSync('/proc/self/fd').length - 1; // the directory being read is one of them
  } catch {
    return null;
  }
}

/** Raises the soft limit to the hard one where it is lower; returns the limit in effect afterwards. */
export function raiseDescriptorLimit(log: (m: string) => void): DescriptorLimit | null {
  const before = readDescriptorLimit();
  if (before === null || before.soft >= before.hard) return before;
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${before.hard}:${before.hard}`], { stdio: 'ignore', timeout: PRLIMIT_TIMEOUT_MS });
  } catch (err) {
    log(`descriptors: could not raise the soft limit ${before.soft} to the hard limit ${before.hard} (prlimit: ${(err as Error).message.split('\n')[0]})`);
  }
  return readDescriptorLimit();
}

/** Descriptors kept free for everything but client sockets. */
export function descriptorReserve(namespaces: ReadonlyArray<NamespaceConfig>, workers: number): number {
  const fileStores = namespaces.filter((ns) => ns.storage === 'file').length * workers;
  return DESCRIPTORS_RESERVE_BASE + DESCRIPTORS_RESERVE_PER_WORKER * workers + DESCRIPTORS_RESERVE_PER_FILE_STORE * fileStores;
}

/**
 * The budget from the limit, what is open now and the reserve. A limit too low to leave any
 * socket still allows one (a node nobody can reach is no safer), and start-up says so.
 */
export function descriptorBudget(limit: DescriptorLimit | null, openAtStart: number | null, reserve: number, connectionsMax: number): DescriptorBudget {
  if (limit === null || openAtStart === null) return { limit: limit?.soft ?? null, hardLimit: limit?.hard ?? null, openAtStart, reserve, socketsMax: connectionsMax };
  const usable = limit.soft - openAtStart - reserve;
  return { limit: limit.soft, hardLimit: limit.hard, openAtStart, reserve, socketsMax: Math.max(1, Math.min(connectionsMax, usable)) };
}
