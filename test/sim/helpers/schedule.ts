// A seeded schedule for the simulation: traffic phases with faults landing inside them, every
// documented admin operation (each on a quiet node, some with a fault or a kill -9 landing while
// it runs), kills of the whole node, and checks. The same seed always gives the same schedule; the
// threads' timing does not replay exactly, so a failing seed is replayed from its shortest prefix.

import { prng } from '../../helpers/prng';

export const WORKER_FAULTS = ['crash', 'exit', 'hang', 'stall', 'oom', 'lag'] as const;
/**
 * Faults of a worker's log device (docs/storage.md, "A full device"): full and low clear at the
 * end of their step (space returns); an fsync error fails the log until the node restarts, so the
 * step ends with a kill -9 and a restart.
 */
export const DISK_FAULTS = ['disk-full', 'disk-low', 'disk-eio', 'sync-eio'] as const;
export type WorkerFault = (typeof WORKER_FAULTS)[number] | (typeof DISK_FAULTS)[number];

export const ADMIN_OPS = [
  'snapshot-create',
  'snapshot-restore',
  'snapshot-delete',
  'truncate',
  'truncate-before',
  'backup',
  'restore-create-only',
  'restore-replace',
  'restore-generation-gt',
  'verify',
  'repair',
  'worker-restart',
] as const;
export type AdminOp = (typeof ADMIN_OPS)[number];

/** A fault that lands `afterMs` into a step: one worker failing, or the whole node killed. */
export type Fault = { afterMs: number; worker: number; kind: WorkerFault } | { afterMs: number; kind: 'kill9' };

export type Step = { kind: 'traffic'; ms: number; fault: Fault | null } | { kind: 'admin'; op: AdminOp; ns: string; fault: Fault | null } | { kind: 'check' };

export interface ScheduleOptions {
  seed: number;
  steps: number;
  workers: number;
  namespaces: string[];
  /** Kill -9 of the node as one of the faults (the node runs as a child process). */
  kill9: boolean;
}

export function makeSchedule(o: ScheduleOptions): Step[] {
  const rand = prng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const fault = (windowMs: number): Fault | null => {
    const r = rand();
    const afterMs = Math.floor(rand() * windowMs);
    if (o.kill9 && r < 0.08) return { afterMs, kind: 'kill9' };
    if (r < 0.42) return { afterMs, worker: Math.floor(rand() * o.workers), kind: pick(WORKER_FAULTS) };
    if (r < 0.5) return { afterMs, worker: Math.floor(rand() * o.workers), kind: pick(DISK_FAULTS) };
    return null;
  };
  const steps: Step[] = [];
  while (steps.length < o.steps) {
    if (rand() < 0.55) {
      const ms = 150 + Math.floor(rand() * 350);
      steps.push({ kind: 'traffic', ms, fault: fault(ms) });
    } else {
      steps.push({ kind: 'admin', op: pick(ADMIN_OPS), ns: pick(o.namespaces), fault: fault(250) });
    }
    if (rand() < 0.3) steps.push({ kind: 'check' });
  }
  steps.push({ kind: 'check' });
  return steps;
}

/** One line per step, for a failure report. */
export function describe(steps: Step[]): string {
  return steps
    .map((s, i) => {
      const f = s.kind !== 'check' && s.fault !== null ? ` + ${s.fault.kind === 'kill9' ? 'kill -9' : `${s.fault.kind} of worker ${s.fault.worker}`} at ${s.fault.afterMs} ms` : '';
      if (s.kind === 'traffic') return `${i}: traffic ${s.ms} ms${f}`;
      if (s.kind === 'admin') return `${i}: ${s.op} ${s.ns}${f}`;
      return `${i}: check`;
    })
    .join('\n');
}
