// The node's composition root: shared memory, worker threads, router and WebSocket server, and
// the order in which they start and stop. Each builder below makes one part; startLocked says the
// order.

import type { NodeConfig } from '../config';
import * as C from '../constants';
import { acquireDataLock, releaseDataLock } from '../storage/data-lock';
import { SCAN_ALL_SETS } from '../protocol/internal';
import { AerieError, Status } from '../errors';
import type { BroadcastState } from './requests';
import { JobPool } from '../jobs/pool';
import { buildSharedState, type SharedState } from './shared-state';
import type { Failover } from './failover';
import { buildReplication, buildSupervisor, buildWorkerHandle, startWorkers, type ReplicationParts } from './node-workers';
import { SnapshotManager } from './snapshots';
import { Verifier } from './verify-repair';
import { CompactionScheduler } from './compaction-scheduler';
import { buildInfo } from './info';
import { Router } from './router';
import { DirectReader } from './direct-reads';
import { CloseCode } from '../endpoint/session';
import { buildSessionHost, type ClientConnections } from './session-host';
import { FlushQueue } from '../endpoint/flush-queue';
import type { SessionHost } from '../endpoint/session';
import { ForwardedRequests } from './forwarded';
import { endpointsInfo } from './worker-endpoints';
import { acceptSessions, answerHttp, buildSocketServer, listen, listenAdmin, type SocketServer } from './node-server';
import { closeLog, createLog, logSettings, type NodeLog } from '../log';
import { opsHandler } from '../ops/http';
import type { ChannelBacklog } from '../ops/sources';
import { AdminFeed } from '../ops/admin/feed';
import { RecentEvents, tapLog } from '../ops/admin/events';
import type { NamespaceWrites } from '../ops/readiness';
import type { Server } from 'node:http';
import { AnswerBudget } from '../endpoint/answer-budget';
import type { WorkerHandle } from './worker-handle';
import type { Supervisor } from './supervisor';
import type { WebSocketServer } from 'ws';
import { NODE_VERSION as VERSION } from './version';
import { NodeSecurity } from '../security/node-security';
import { checkTls, reloadTls } from '../security/tls';
import { AuditLog } from '../security/audit-log';

export interface AerieNode {
  readonly address: { host: string; port: number };
  /** Where service.adminPort listens (null when it is not set). */
  readonly adminAddress: { host: string; port: number } | null;
  readonly config: NodeConfig;
  info(): Record<string, unknown>;
  close(): Promise<void>;
  /**
   * Reads service.tls's certificate, key and CA again for new handshakes on every endpoint (the
   * front, each worker's, the admin port); open connections keep theirs. `aerie start` calls it on
   * SIGHUP. PARAMETER, with nothing changed, when the files cannot be read or used, or TLS is off.
   */
  reloadTls(): void;
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

/** The jobs and schedulers that run beside the request path once the workers are up. */
interface BackgroundServices {
  jobs: JobPool;
  snapshots: SnapshotManager;
  compaction: CompactionScheduler;
  verifier: Verifier;
}

/** The parts every request passes through, built before any thread starts. */
interface NodeCore {
  shared: SharedState;
  workers: WorkerHandle[];
  router: Router;
  replication: ReplicationParts;
  supervisor: Supervisor;
  direct: DirectReader | null;
  security: NodeSecurity | null;
  audit: AuditLog | null;
  /**
   * Admin requests a worker endpoint forwards need the session host, built once the workers are
   * up (until then they are answered PARTITION_UNAVAILABLE).
   */
  host: SessionHost | null;
}

async function startLocked(config: NodeConfig, lockedDirs: string[]): Promise<AerieNode> {
  // The admin page lists the primary's recent log events (src/ops/admin/events.ts).
  const events = new RecentEvents();
  const log = tapLog(nodeLog(config), events);
  const startedAtMs = Date.now();
  const core = await buildCore(config, log);
  const { shared, workers, router, replication, supervisor } = core;
  await startWorkers(workers, supervisor);
  supervisor.start();
  if (shared.replicated) replication.failover.start();
  const services = buildBackgroundServices(config, shared, workers, router, replication.failover, log);
  // The server is built once the workers hold their descriptors, so its budget counts them.
  const server = buildSocketServer(config, shared.workerCount, log, shared.connections);
  const budget = new AnswerBudget(config.service.answerBytesMax, config.service.sendBufferBytesMax, Math.max(...config.namespaces.map((ns) => ns.recordBytesMax)));
  const clients: ClientConnections = { sessions: new Set(), counts: { open: 0, opened: 0, closed: 0 }, shared: shared.connections, draining: false };
  const info = buildNodeInfo({ config, startedAtMs, core, services, server, budget, clients });
  const flushes = new FlushQueue();
  const { security, audit } = core;
  const feed = buildAdminFeed(config, core, info, events);
  core.host = buildSessionHost({ config, version: VERSION, map: shared.map, router, budget, workers, supervisor, ...services, clients, flushes, security, audit, info, log, feed });
  const wss = acceptSessions(server, core.host, config, clients, log);
  const admin = await serveHttp(config, core, services, server, clients, info, feed);
  const addr = await listen(server.http, config);
  server.pagePorts.push(addr.port, ...(admin === null ? [] : [admin.address.port]));
  announce(log, config, shared.workerCount, addr, admin);
  const close = buildClose({ ...core, services, server, wss, clients, flushes, lockedDirs, log, feed, admin: admin?.http ?? null, logClose: () => closeLog(config) });
  const adminAddress = admin === null ? null : { host: admin.address.address, port: admin.address.port };
  const reloadTlsNow = () => {
    const tls = config.service.tls;
    if (tls === null) throw new AerieError(Status.PARAMETER, 'service.tls is not set: there is no certificate to reload');
    reloadTls(server.http, tls);
    if (admin !== null) reloadTls(admin.http, tls);
    for (const w of workers) w.post({ type: 'tls-reload' });
    log.info(`tls: reloaded ${tls.certFile} for new connections on every endpoint`);
  };
  return { address: { host: addr.address, port: addr.port }, adminAddress, config, info, close, workers, reloadTls: reloadTlsNow };
}

/** Security, shared memory, router, replication and the supervisor, with the worker handles (not started). */
async function buildCore(config: NodeConfig, log: NodeLog): Promise<NodeCore> {
  // First, so a node with security but no first admin password stops before it starts anything.
  const security = config.security.enabled ? await NodeSecurity.open(config.security, log) : null;
  checkTls(config.service.tls);
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
  // Worker endpoints forward what they do not serve (the host is read once requests flow).
  const forwarded = new ForwardedRequests(config.service.frameBytesMax, workers, router, () => core.host);
  const supervisor = buildSupervisor(config, shared, workers, { router, failover: replication.failover, forwarded }, log);
  for (let workerIndex = 0; workerIndex < shared.workerCount; workerIndex++) {
    workers.push(buildWorkerHandle(config, shared, workerIndex, workers, { router, supervisor, replication, forwarded, security: security?.share() ?? null }, log));
  }
  router.onTruncated = (state) => logTruncate(log, config, shared, state);
  const core: NodeCore = { shared, workers, router, replication, supervisor, direct, security, audit, host: null };
  return core;
}

/** INFO: the node's figures, read afresh at each call. */
function buildNodeInfo(parts: {
  config: NodeConfig;
  startedAtMs: number;
  core: NodeCore;
  services: BackgroundServices;
  server: SocketServer;
  budget: AnswerBudget;
  clients: ClientConnections;
}): () => Record<string, unknown> {
  const { config, startedAtMs, core, services, server, budget, clients } = parts;
  const { shared, workers, router, replication, direct, security, audit } = core;
  return () => ({
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
      sets: shared.sets,
    }),
    quarantinedRequests: router.quarantine.size,
    endpoints: endpointsInfo(workers, shared),
    answerBytes: { used: budget.used, max: budget.bytesMax, perConnectionMax: budget.perConnectionBytesMax, evictions: budget.evictions },
    security: {
      enabled: false,
      ...security?.info(),
      upgradesRefused: server.upgradesRefused.count,
      ...(audit === null ? {} : { auditWritten: audit.written, auditDropped: audit.dropped, auditError: audit.lastError }),
    },
  });
}

/** The plain HTTP answers (/livez, /readyz, /metrics) on the front port, and on service.adminPort when set. */
function serveHttp(config: NodeConfig, core: NodeCore, services: BackgroundServices, server: SocketServer, clients: ClientConnections, info: () => Record<string, unknown>, feed: AdminFeed) {
  const { shared, workers, router, replication } = core;
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
    frontPort: () => (server.http.address() as { port: number } | null)?.port ?? config.service.port,
    replicationLagMs: () => feed.replicationLagMs(),
    snapshots: () => snapshotFigures(config, services.snapshots),
  });
  answerHttp(server, http);
  return listenAdmin(config, http);
}

/** One line per truncate, once every worker answered: what it deleted, or how it failed. */
function logTruncate(log: NodeLog, config: NodeConfig, shared: SharedState, state: BroadcastState): void {
  const namespace = config.namespaces[state.nsIndex].name;
  const set = state.setId === SCAN_ALL_SETS ? null : shared.sets[state.nsIndex].nameOf(state.setId);
  // As the client is answered: a failure after some worker applied it is in doubt (TIMEOUT).
  const code = state.failedCode === 0 ? 0 : state.inDoubt || state.applied > 0 ? Status.TIMEOUT : state.failedCode;
  const what = `truncate of namespace ${namespace}${set === null ? '' : ` set ${set}`}`;
  log.event(code === 0 ? 'info' : 'warn', 'truncate', code === 0 ? `${what}: ${state.deleted} records deleted` : `${what} failed on some worker: ${state.failedMessage}`, {
    namespace,
    set,
    records: state.deleted,
    workers: state.applied,
    durationMs: Date.now() - state.startedMs,
    code,
  });
}

/** The node's first event: where it listens, with what. */
function announce(log: NodeLog, config: NodeConfig, workerCount: number, addr: { address: string; port: number }, admin: { address: { address: string; port: number } } | null): void {
  const namespaces = config.namespaces.map((x) => x.name).join(', ');
  log.event('info', 'node-start', `listening on ${addr.address}:${addr.port} with ${workerCount} workers, namespaces ${namespaces}`, {
    host: addr.address,
    port: addr.port,
    workers: workerCount,
    namespaces,
    adminPort: admin?.address.port ?? null,
  });
  if (admin !== null) log.info(`admin HTTP (/livez, /readyz, /metrics) on ${admin.address.address}:${admin.address.port}`);
}

/** Each replication channel's unacknowledged bytes (free-running u32 positions), for /metrics. */
function channelBacklogs(shared: SharedState): ChannelBacklog[] {
  const { channels, workerCount } = shared;
  const out = [];
  for (let from = 0; from < workerCount; from++) {
    for (let to = 0; to < workerCount; to++) {
      if (from === to || channels.ring(from, to) === null) continue;
      const written = channels.tail(from, to) >>> 0;
      const acknowledged = channels.head(from, to) >>> 0;
      out.push({ from, to, backlogBytes: (written - acknowledged) >>> 0, overflowed: channels.overflowed(from, to), written, acknowledged });
    }
  }
  return out;
}

/** Per namespace, its snapshots on disk and the newest one's time, for /metrics (read at each scrape). */
function snapshotFigures(config: NodeConfig, snapshots: SnapshotManager): { namespace: string; count: number; newestAtMs: number | null }[] {
  return config.namespaces.map((ns) => {
    let list: { createdAtMs: number }[] = [];
    try {
      list = (snapshots.list(ns.name) as { snapshots: { createdAtMs: number }[] }).snapshots;
    } catch {
      // An unreadable snapshot directory shows as none; `aerie snapshot list` says why.
    }
    const newest = list.reduce((max, s) => Math.max(max, s.createdAtMs), -1);
    return { namespace: ns.name, count: list.length, newestAtMs: newest < 0 ? null : newest };
  });
}

/** The admin page's feed, sampling from now on (src/ops/admin/feed.ts). */
function buildAdminFeed(config: NodeConfig, core: NodeCore, info: () => Record<string, unknown>, events: RecentEvents): AdminFeed {
  const { shared, workers, router, replication } = core;
  const failover = replication.failover;
  const feed = new AdminFeed(
    {
      info,
      requestBlocks: () => [...shared.stats.map((st) => st.requests), router.metrics],
      grid: () => ({ map: shared.map, held: shared.replicated ? failover.held : null, workers, sync: shared.replicated ? failover.sync : null }),
      channels: () => channelBacklogs(shared),
      faultInjection: config.supervisor.faultInjection,
    },
    events,
    config.namespaces.length,
  );
  feed.start();
  return feed;
}

function nodeLog(config: NodeConfig): NodeLog {
  return createLog(logSettings(config), 'primary');
}

function buildBackgroundServices(config: NodeConfig, shared: SharedState, workers: WorkerHandle[], router: Router, failover: Failover, log: NodeLog): BackgroundServices {
  const jobs = new JobPool();
  const snapshots = new SnapshotManager(config, workers, jobs, shared.sets, log, {
    holdTruncates: (ns) => router.holdTruncates(ns, C.SNAPSHOT_STEP_TIMEOUT_MS),
    releaseTruncates: (ns) => router.releaseTruncates(ns),
    committing: (ns) => router.forgetTruncateCutoffs(ns),
    restored: (ns) => failover.resync(ns),
    replicasInSync: (ns) => failover.waitInSync(ns, C.RESTORE_RESYNC_WAIT_MS),
  });
  // Log compaction of file namespaces; snapshots swap stores and release segments, so they run alone.
  const compaction = new CompactionScheduler({ config, workers, stats: shared.stats, jobs, log });
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
  feed: AdminFeed;
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
  const startedMs = Date.now();
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
  node.feed.stop();
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
  node.log.event('info', 'node-stop', 'stopped', { durationMs: Date.now() - startedMs, clean: stoppedClean.every((c) => c) });
  node.logClose();
}
