// What every session asks of the node (src/endpoint/session.ts, SessionHost): HELLO's body, INFO,
// the admin requests (VERIFY, SNAPSHOT, WORKER_RESTART, FAULT; VERIFY and SNAPSHOT create and
// restore with progress pushes when asked), and one flush per turn.

import type { NodeConfig } from '../config';
import { AerieError, Status } from '../errors';
import type { PartitionMap } from '../partition/map';
import { helloBody } from '../endpoint/hello';
import type { AnswerBudget } from '../endpoint/answer-budget';
import type { CompactionScheduler } from './compaction-scheduler';
import type { Router } from './router';
import type { ProgressSink, Session, SessionHost } from '../endpoint/session';
import type { FlushQueue } from '../endpoint/flush-queue';
import { FRONT_ENDPOINT, type ConnectionCounts } from '../endpoint/connection-counts';
import type { SnapshotManager } from './snapshots';
import type { Supervisor } from './supervisor';
import type { Verifier } from './verify-repair';
import type { WorkerHandle } from './worker-handle';
import type { NodeSecurity } from '../security/node-security';
import type { AuditLog } from '../security/audit-log';
import type { AdminFeed } from '../ops/admin/feed';
import type { NodeLog } from '../log';

/** The node's client connections: the sessions open now, their counts for INFO, and shutdown. */
export interface ClientConnections {
  readonly sessions: Set<Session>;
  readonly counts: { open: number; opened: number; closed: number };
  /** Sockets and sessions of every endpoint of the node (the front's and each worker's). */
  readonly shared: ConnectionCounts;
  /** Set once shutdown begins: new connections and requests are refused. */
  draining: boolean;
}

export interface SessionHostParts {
  config: NodeConfig;
  version: string;
  map: PartitionMap;
  router: Router;
  budget: AnswerBudget;
  workers: WorkerHandle[];
  supervisor: Supervisor;
  compaction: CompactionScheduler;
  snapshots: SnapshotManager;
  verifier: Verifier;
  clients: ClientConnections;
  flushes: FlushQueue;
  security: NodeSecurity | null;
  audit: AuditLog | null;
  info(): Record<string, unknown>;
  /** The admin page's feed (op WATCH). */
  feed: AdminFeed;
  /** The node's log: an accepted fault drill is an event there. */
  log?: NodeLog;
}

export function buildSessionHost(parts: SessionHostParts): SessionHost {
  const { config, router, budget, compaction, verifier, clients } = parts;
  return {
    router,
    inFlightMax: config.service.inFlightPerConnectionMax,
    budget,
    frameBytesMax: config.service.frameBytesMax,
    helloTimeoutMs: config.service.helloTimeoutMs,
    helloBody: () => helloBody(config, parts.version, parts.map),
    mapVersion: () => parts.map.version >>> 0,
    infoBody: oncePerTurn(parts.info),
    // A repair reads the log while compaction could rewrite it: they take turns.
    verify: (ns, repair, onProgress) => (repair ? compaction.exclusive(() => verifier.run(ns, true, onProgress)) : verifier.run(ns, false, onProgress)),
    scheduleFlush: (s) => parts.flushes.schedule(s),
    closed: (s) => {
      parts.feed.unsubscribe(s);
      if (clients.sessions.delete(s)) {
        clients.shared.closeSession(FRONT_ENDPOINT);
        clients.counts.open--;
        clients.counts.closed++;
      }
    },
    draining: () => clients.draining,
    snapshot: (action, ns, id, onProgress) => runSnapshotAction(parts, action, ns, id, onProgress),
    restartWorker: (body) => {
      const worker = workerToRestart(body, parts.workers.length);
      return worker === null ? Promise.reject(new AerieError(Status.PARAMETER, `WORKER_RESTART needs {worker: 0..${parts.workers.length - 1}}`)) : parts.supervisor.restartNow(worker);
    },
    fault: (worker, kind) => {
      faultTarget(config, parts.workers, worker);
      // The kind is checked by the worker: a client's string, bounded here.
      const what = kind.slice(0, 20);
      parts.log?.event('warn', 'fault', `fault drill: ${what} injected into worker ${worker}`, { worker, kind: what });
    },
    security: parts.security,
    audit: parts.audit,
    watch: (s, on, allowed) => {
      if (on) return parts.feed.subscribe(s, allowed);
      parts.feed.unsubscribe(s);
      return null;
    },
  };
}

/**
 * One INFO body per event-loop turn: building one walks every partition of every worker, so a
 * frame of REQUESTS_PER_FRAME_MAX INFOs must not cost as many walks.
 */
function oncePerTurn(build: () => Record<string, unknown>): () => Record<string, unknown> {
  let thisTurn: Record<string, unknown> | null = null;
  return () => {
    if (thisTurn === null) {
      thisTurn = build();
      setImmediate(() => {
        thisTurn = null;
      });
    }
    return thisTurn;
  };
}

/**
 * SNAPSHOT: create and restore swap stores and release segments, so compaction waits for them.
 * Only they report progress; list and delete are quick.
 */
function runSnapshotAction(parts: SessionHostParts, action: string, ns: string, id: string | null, onProgress?: ProgressSink): Promise<unknown> {
  const { compaction, snapshots } = parts;
  if (action === 'create') return compaction.exclusive(() => snapshots.create(ns, onProgress));
  if (action === 'list') return Promise.resolve(snapshots.list(ns));
  if (action === 'restore') return compaction.exclusive(() => snapshots.restore(ns, id ?? '', onProgress));
  if (action === 'delete') return snapshots.delete(ns, id ?? '');
  return Promise.reject(new AerieError(Status.PARAMETER, `unknown snapshot action '${action}' (create, list, restore, delete)`));
}

/** The worker index of WORKER_RESTART's body, which must be exactly {worker: index}; null otherwise. */
function workerToRestart(body: unknown, workerCount: number): number | null {
  const b = body as { worker?: unknown } | null;
  const fields = b !== null && typeof b === 'object' ? Object.keys(b) : [];
  const worker = fields.length === 1 && fields[0] === 'worker' ? b!.worker : undefined;
  if (typeof worker !== 'number' || !Number.isInteger(worker) || worker < 0 || worker >= workerCount) return null;
  return worker;
}

/** The worker a FAULT request targets; FAIL_FORBIDDEN unless the configuration enables faults. */
function faultTarget(config: NodeConfig, workers: WorkerHandle[], worker: number): WorkerHandle {
  if (!config.supervisor.faultInjection) {
    throw new AerieError(Status.FAIL_FORBIDDEN, 'fault injection is disabled (supervisor.faultInjection)');
  }
  if (!Number.isInteger(worker) || worker < 0 || worker >= workers.length) throw new AerieError(Status.PARAMETER, `worker must be 0..${workers.length - 1}`);
  return workers[worker];
}
