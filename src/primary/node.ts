// The node's composition root: shared memory, worker threads, router and WebSocket server, and
// the order in which they start and stop. Each builder below makes one part; startLocked says the
// order.

import { workerPort, type NodeConfig } from '../config';
import * as C from '../constants';
import { acquireDataLock, releaseDataLock } from '../storage/data-lock';
import { partDirectory } from '../snapshot/files';
import { ReqOffset } from '../protocol/internal';
import { JobPool } from '../jobs/pool';
import { buildSharedState, type SharedState } from './shared-state';
import { ReplicaWaits } from '../replication/waits';
import { Failover } from './failover';
import { SnapshotManager } from './snapshots';
import { Verifier } from './verify-repair';
import { CompactionScheduler } from './compaction-scheduler';
import { buildInfo } from './info';
import { Router, type RouterReplication } from './router';
import { DirectReader } from './direct-reads';
import { CloseCode } from '../endpoint/session';
import { buildSessionHost, type ClientConnections } from './session-host';
import { FlushQueue } from '../endpoint/flush-queue';
import type { SessionHost } from '../endpoint/session';
import { ForwardedRequests } from './forwarded';
import { checkEndpoints, endpointDown, endpointMessages, endpointsInfo } from './worker-endpoints';
import { acceptSessions, answerHttp, buildSocketServer, listen, listenAdmin, type SocketServer } from './node-server';
import { closeLog, createLog, logSettings, type NodeLog } from '../log';
import { opsHandler } from '../ops/http';
import type { NamespaceWrites } from '../ops/readiness';
import type { Server } from 'node:http';
import { AnswerBudget } from '../endpoint/answer-budget';
import { WorkerHandle } from './worker-handle';
import { Supervisor } from './supervisor';
import type { WebSocketServer } from 'ws';
import { NODE_VERSION as VERSION } from './version';
import { NodeSecurity } from '../security/node-security';
import { AuditLog } from '../security/audit-log';

export interface AerieNode {
  readonly address: { host: string; port: number };
  /** Where service.adminPort listens (null when it is not set). */
  readonly adminAddress: { host: string; port: number } | null;
  readonly config: NodeConfig;
  info(): Record<string, unknown>;
  close(): Promise<void>;
  /** @internal For tests: the worker handles. */
  readonly workers: ReadonlyArray<WorkerHandle>;
}

export async function startNode(config: NodeConfig): Promise<AerieNode> {
  // Offline tools refuse a directory a node holds (src/storage/data-lock.ts).
  const lockedDirs = [...new Set(config.namespaces.filter((ns) => ns.storage === 'file').map((ns) => ns.dataDir))];
  const held: string[] = [];
  try {
    for (const dir of lockedDirs) {
      acquireDataLock(dir);
      held.push(dir);
    }
    return await startLocked(config, lockedDirs);
  } catch (error) {
    for (const dir of held) releaseDataLock(dir);
    throw error;
  }
}

/** Failover, the writes waiting for replicas, and what the router needs of both. */
interface ReplicationParts {
  waits: ReplicaWaits;
  failover: Failover;
  /** Null when no namespace keeps more than one copy. */
  forRouter: RouterReplication | null;
}

/** The jobs and schedulers that run beside the request path once the workers are up. */
interface BackgroundServices {
  jobs: JobPool;
  snapshots: SnapshotManager;
  compaction: CompactionScheduler;
  verifier: Verifier;
}

async function startLocked(config: NodeConfig, lockedDirs: string[]): Promise<AerieNode> {
  const log = nodeLog(config);
  const startedAtMs = Date.now();
  // First, so a node with security but no first admin password stops before it starts anything.
  const security = config.security.enabled ? await NodeSecurity.open(config.security, log) : null;
  const audit = config.security.auditFile === null ? null : new AuditLog(config.security.auditFile, config.security.auditFileBytesMax);
  const shared = buildSharedState(config);
  const workers: WorkerHandle[] = [];
  const direct = config.service.directReads ? new DirectReader(config.namespaces, shared.workerCount) : null;
  // Failover and the replica waits answer through the router, which is built from them: they
  // reach it through a getter, called only once requests flow.
  const replication = buildReplication(config, shared, workers, () => router, log);
  const router = new Router(
    config.namespaces.map((ns) => ns.name),
    shared.sets,
    shared.map,
    workers,
    direct,
    replication.forRouter,
    shared.truncateCutoffs,
    config.namespaces.map((ns) => ns.recordBytesMax),
  );
  // Worker endpoints forward what they do not serve; admin requests need the session host, built
  // once the workers are up (until then they are answered PARTITION_UNAVAILABLE).
  let host: SessionHost | null = null;
  const forwarded = new ForwardedRequests(config.service.frameBytesMax, workers, router, () => host);
  const supervisor = buildSupervisor(config, shared, workers, { router, failover: replication.failover, forwarded }, log);
  for (let workerIndex = 0; workerIndex < shared.workerCount; workerIndex++) {
    workers.push(buildWorkerHandle(config, shared, workerIndex, workers, { router, supervisor, replication, forwarded }, log));
  }
  await startWorkers(workers, supervisor);
  supervisor.start();
  if (shared.replicated) replication.failover.start();
  const services = buildBackgroundServices(config, shared, workers, router, replication.failover, log);
  // The server is built once the workers hold their descriptors, so its budget counts them.
  const server = buildSocketServer(config, shared.workerCount, log, shared.connections);
  const budget = new AnswerBudget(config.service.answerBytesMax, config.service.sendBufferBytesMax, Math.max(...config.namespaces.map((ns) => ns.recordBytesMax)));
  const clients: ClientConnections = { sessions: new Set(), counts: { open: 0, opened: 0, closed: 0 }, shared: shared.connections, draining: false };
  const info = () => ({
    ...buildInfo({
      config,
      version: VERSION,
      startedAtMs,
      map: shared.map,
      workers,
      stats: shared.stats,
      connections: clients.counts,
      requestsInFlight: router.table.inUse,
      descriptors: { ...server.descriptors, sockets: server.socketGuard.counts },
      compaction: (nsIndex) => services.compaction.infoFor(nsIndex),
      directReads: direct?.served,
      replication: shared.replicated ? { ...replication.failover.info(), writesWaiting: replication.waits.count } : null,
    }),
    endpoints: endpointsInfo(workers, shared),
    answerBytes: { used: budget.used, max: budget.bytesMax, perConnectionMax: budget.perConnectionBytesMax, evictions: budget.evictions },
    security: {
      enabled: false,
      ...security?.info(),
      upgradesRefused: server.upgradesRefused.count,
      ...(audit === null ? {} : { auditWritten: audit.written, auditDropped: audit.dropped, auditError: audit.lastError }),
    },
  });
  const flushes = new FlushQueue();
  host = buildSessionHost({ config, version: VERSION, map: shared.map, router, budget, workers, supervisor, ...services, clients, flushes, security, audit, info });
  const wss = acceptSessions(server, host, config, clients, log);
  const http = opsHandler({
    info,
    requestBlocks: () => [...shared.stats.map((st) => st.requests), router.metrics],
    readiness: () => ({
      draining: clients.draining,
      map: shared.map,
      held: shared.replicated ? replication.failover.held : null,
      workers,
      namespaces: (info() as Record<string, unknown>).namespaces as NamespaceWrites[],
    }),
    replicationChannels: () => channelBacklogs(shared),
  });
  answerHttp(server, http);
  const admin = await listenAdmin(config, http);
  const addr = await listen(server.http, config);
  log.info(`listening on ${addr.address}:${addr.port} with ${shared.workerCount} workers, namespaces ${config.namespaces.map((x) => x.name).join(', ')}`);
  if (admin !== null) log.info(`admin HTTP (/livez, /readyz, /metrics) on ${admin.address.address}:${admin.address.port}`);
  const close = buildClose({
    shared,
    workers,
    router,
    supervisor,
    replication,
    services,
    server,
    wss,
    clients,
    flushes,
    lockedDirs,
    log,
    audit,
    admin: admin?.http ?? null,
    logClose: () => closeLog(config),
  });
  const adminAddress = admin === null ? null : { host: admin.address.address, port: admin.address.port };
  return { address: { host: addr.address, port: addr.port }, adminAddress, config, info, close, workers };
}

/** Each replication channel's unacknowledged bytes (free-running u32 positions), for /metrics. */
function channelBacklogs(shared: SharedState): { from: number; to: number; backlogBytes: number; overflowed: boolean }[] {
  const { channels, workerCount } = shared;
  const out = [];
  for (let from = 0; from < workerCount; from++) {
    for (let to = 0; to < workerCount; to++) {
      if (from === to || channels.ring(from, to) === null) continue;
      out.push({ from, to, backlogBytes: (channels.tail(from, to) - channels.head(from, to)) >>> 0, overflowed: channels.overflowed(from, to) });
    }
  }
  return out;
}

function nodeLog(config: NodeConfig): NodeLog {
  return createLog(logSettings(config), 'primary');
}

function buildReplication(config: NodeConfig, shared: SharedState, workers: WorkerHandle[], router: () => Router, log: NodeLog): ReplicationParts {
  const { channels, map, workerCount } = shared;
  const waits = new ReplicaWaits(channels, {
    answer: (slot, code, bytes, start, end) => router().answerReplicated(slot, code, bytes, start, end),
    inDoubt: (slot) => router().answerReplicaInDoubt(slot),
  });
  const failover = new Failover({
    workers,
    map,
    channels,
    waits,
    namespaces: config.namespaces,
    holds: shared.holds,
    inSync: shared.inSync,
    released: () => router().releaseHeld(),
    log: (message) => log.warn(message),
  });
  const onOverflow = () => {
    for (let from = 0; from < workerCount; from++) {
      for (let to = 0; to < workerCount; to++) if (from !== to && channels.overflowed(from, to)) failover.channelOverflowed(from, to);
    }
  };
  return { waits, failover, forRouter: shared.replicated ? { failover, waits, channels, onOverflow } : null };
}

function buildSupervisor(config: NodeConfig, shared: SharedState, workers: WorkerHandle[], parts: { router: Router; failover: Failover; forwarded: ForwardedRequests }, log: NodeLog): Supervisor {
  const { replicated } = shared;
  const { router, failover, forwarded } = parts;
  return new Supervisor(workers, shared.stats, config, {
    onWorkerDown: (h) => {
      h.pump(); // answers the thread published before it died are real answers
      endpointDown(shared, forwarded, h.index);
      // A truncate the thread may not have applied leaves its copies unlike their masters'.
      const missedTruncates = replicated ? router.truncatesOn(h.index) : [];
      router.failWorker(h.index, h.backlogSlots());
      if (replicated) {
        // Its partitions fail over: what waited for this thread was never sent, so it is refused
        // (not applied) rather than left for a thread that may no longer master it.
        router.refuseSlots(h.takeBacklog());
        failover.onWorkerDown(h, missedTruncates);
      }
    },
    onWorkerFailed: (h) => {
      router.refuseSlots(h.takeBacklog());
      log.error(`worker ${h.index} given up on: ${describeUnavailable(config, shared, workers, failover, h.index)}`);
    },
    beforeRestart: (h) => {
      if (replicated) failover.beforeRestart(h);
    },
    onDiedApplying: (h, message, blamed) => {
      const quarantined = router.quarantine.noteDeath(message, blamed);
      const what = `op ${message[ReqOffset.OP]}, digest ${message.subarray(ReqOffset.DIGEST, ReqOffset.DIGEST + C.DIGEST_BYTES).toString('hex')}`;
      log.error(`worker ${h.index} died applying a request (${what}): ${quarantined ? 'it is quarantined, refused if sent again' : 'suspected; quarantined if it is in flight at another such death'}`);
    },
    log: log.error,
  });
}

/**
 * What a given-up worker leaves unserved, per namespace: of the partitions it was configured to
 * master, those another holder in sync serves (or will, once failover moves them), and the rest.
 */
function describeUnavailable(config: NodeConfig, shared: SharedState, workers: WorkerHandle[], failover: Failover, workerIndex: number): string {
  const { map } = shared;
  const parts: string[] = [];
  for (let nsIndex = 0; nsIndex < config.namespaces.length; nsIndex++) {
    let served = 0;
    let unavailable = 0;
    for (let partition = 0; partition < C.PARTITION_COUNT; partition++) {
      if (map.holder(nsIndex, partition, 0) !== workerIndex) continue;
      let otherInSync = false;
      for (let copy = 1; copy < map.copies[nsIndex] && !otherInSync; copy++) {
        const holder = map.holder(nsIndex, partition, copy);
        otherInSync = workers[holder].state === 'up' && failover.sync[nsIndex][holder][partition] === 1;
      }
      if (otherInSync) served++;
      else unavailable++;
    }
    const name = config.namespaces[nsIndex].name;
    if (unavailable > 0) parts.push(`namespace ${name}: ${unavailable} of its partitions are UNAVAILABLE (no other copy in sync)${served > 0 ? `, ${served} served by replicas` : ''}`);
    else if (served > 0) parts.push(`namespace ${name}: its ${served} partitions are served by replicas`);
  }
  return parts.join('; ');
}

function buildWorkerHandle(
  config: NodeConfig,
  shared: SharedState,
  workerIndex: number,
  workers: WorkerHandle[],
  parts: { router: Router; supervisor: Supervisor; replication: ReplicationParts; forwarded: ForwardedRequests },
  log: NodeLog,
): WorkerHandle {
  const { router, supervisor, replication, forwarded } = parts;
  const { replicated, peerRings, channels } = shared;
  const base = {
    workerIndex,
    workerCount: shared.workerCount,
    partitionMap: shared.map.sab,
    copies: shared.copies,
    replRings: channels.rings,
    replFlags: channels.flagsSab,
    peerRequestRings: peerRings,
    truncateCutoffs: shared.truncateCutoffs,
    stats: shared.stats[workerIndex].sab,
    setRegistries: shared.sets.map((s) => s.sab),
    namespaces: config.namespaces,
    log: logSettings(config),
    bases: shared.bases.map((b) => (b === null ? null : { directory: partDirectory(b.dir, workerIndex), sequence: b.sequences[workerIndex] })),
    endpoint: { port: workerPort(config, workerIndex), config, version: VERSION, connections: shared.connections.sab, holds: shared.holds.sab, inSync: shared.inSync.sab },
  };
  return new WorkerHandle(
    base,
    {
      onResponse: (slot, code, bytes, start, end) => router.onResponse(slot, code, bytes, start, end),
      onExit: (h, why) => supervisor.onExit(h, why),
      onReady: (h) => {
        supervisor.onReady(h);
        // Its peers ring this ring's doorbell after writing its channels; a peer started
        // before it learns it here (one started later finds it in its init).
        peerRings[h.index] = h.requestRingSab;
        const sab = h.requestRingSab;
        if (replicated && sab !== null) for (const other of workers) if (other !== h) other.post({ type: 'peer-ring', worker: h.index, sab });
        if (h.restarts > 0) {
          log.info(`worker ${h.index} is back (restart ${h.restarts})`);
          if (replicated) replication.failover.onWorkerReady(h);
        }
      },
      onEndpoint: endpointMessages(shared, forwarded, log.error),
      onAck: (h) => {
        router.checkOverflow();
        replication.waits.onAck(h.index);
        replication.failover.tick();
      },
      log: log.error,
      info: log.info,
    },
    config.workers.heapMbMax,
  );
}

async function startWorkers(workers: WorkerHandle[], supervisor: Supervisor): Promise<void> {
  try {
    await Promise.all(workers.map((w) => w.start(false)));
    await checkEndpoints(workers);
  } catch (error) {
    // One worker could not start (its log is unreadable, say): stop the others, so the process
    // ends with the error instead of living on with a partial node that never listens.
    supervisor.stop();
    await Promise.all(workers.map((w) => w.stop()));
    throw error;
  }
}

function buildBackgroundServices(config: NodeConfig, shared: SharedState, workers: WorkerHandle[], router: Router, failover: Failover, log: NodeLog): BackgroundServices {
  const jobs = new JobPool();
  const snapshots = new SnapshotManager(config, workers, jobs, shared.sets, log.info, {
    holdTruncates: (ns) => router.holdTruncates(ns, C.SNAPSHOT_STEP_TIMEOUT_MS),
    releaseTruncates: (ns) => router.releaseTruncates(ns),
    committing: (ns) => router.forgetTruncateCutoffs(ns),
    restored: (ns) => failover.resync(ns),
    replicasInSync: (ns) => failover.waitInSync(ns, C.RESTORE_RESYNC_WAIT_MS),
  });
  // Log compaction of file namespaces; snapshots swap stores and release segments, so they run alone.
  const compaction = new CompactionScheduler({ config, workers, stats: shared.stats, jobs, log: log.info, logError: log.error });
  compaction.start();
  const verifier = new Verifier(config, workers, jobs, shared.map);
  return { jobs, snapshots, compaction, verifier };
}

interface NodeParts {
  shared: SharedState;
  workers: WorkerHandle[];
  router: Router;
  supervisor: Supervisor;
  replication: ReplicationParts;
  services: BackgroundServices;
  server: SocketServer;
  wss: WebSocketServer;
  clients: ClientConnections;
  flushes: FlushQueue;
  lockedDirs: string[];
  log: NodeLog;
  /** The admin port's server: closed last, so probes see the drain. */
  admin: Server | null;
  audit: AuditLog | null;
  /** Closes the log file once nothing logs any more (src/log.ts). */
  logClose: () => void;
}

/** The node's clean stop, run once however often close() is called. */
function buildClose(node: NodeParts): () => Promise<void> {
  let closing: Promise<void> | null = null;
  return () => {
    closing ??= stopNode(node);
    return closing;
  };
}

async function stopNode(node: NodeParts): Promise<void> {
  const { clients, router, replication, server } = node;
  clients.draining = true;
  server.http.close();
  server.socketGuard.close();
  for (const w of node.workers) w.post({ type: 'endpoint-drain' });
  // Each client is told to stop sending; a connection closes once its client says DRAINED and
  // every request before that is answered, so nothing it sent is left in doubt. Clients that
  // never answer are closed at the deadline.
  for (const s of clients.sessions) s.goAway('node shutting down');
  const deadline = Date.now() + C.SHUTDOWN_DRAIN_MS;
  while ((clients.shared.sessionsTotal() > 0 || router.table.inUse > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, C.SHUTDOWN_POLL_MS));
  node.flushes.flushAll();
  for (const s of clients.sessions) s.close(CloseCode.GOING_AWAY, 'node shutting down');
  node.supervisor.stop();
  replication.failover.stop();
  replication.waits.stop();
  node.services.compaction.stop();
  const stoppedClean = await Promise.all(node.workers.map((w) => w.stop()));
  // Every worker closed its log and applied every channel to its end: the copies are equal, and
  // the next start need not copy the replicas (docs/replication.md, cold start).
  if (node.shared.replicated && stoppedClean.every((c) => c) && node.shared.channels.allDrained()) replication.failover.recordCleanStop();
  await node.services.jobs.close();
  node.wss.close();
  server.http.closeAllConnections();
  await node.audit?.flush();
  for (const dir of node.lockedDirs) releaseDataLock(dir);
  node.admin?.close();
  node.admin?.closeAllConnections();
  node.log.info('stopped');
  node.logClose();
}
