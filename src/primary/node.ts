// The node's composition root: shared memory, worker threads, router and WebSocket server, and
// the order in which they start and stop.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { replicationOf, workerCount, type NodeConfig } from '../config';
import { ReplicationChannels } from '../replication/channels';
import { ReplicaWaits } from './replica-waits';
import { Failover } from './failover';
import { PartitionMap } from '../partition/map';
import { PROTOCOL_VERSION } from '../protocol/ops';
import * as C from '../constants';
import { SetRegistry } from '../shm/set-registry';
import { loadSetNames, namespaceDirectory, saveSetNames } from '../storage/set-names';
import { acquireDataLock, releaseDataLock } from '../storage/data-lock';
import { partDirectory, readBase, readManifest, removeIncomplete, snapshotDirectory } from '../snapshot/files';
import { SnapshotManager } from './snapshots';
import { Verifier } from './verify-repair';
import { CompactionScheduler } from './compaction-scheduler';
import { StatsBlock } from '../shm/stats';
import { buildInfo } from './info';
import { Router } from './router';
import { DirectReader } from './direct-reads';
import { CloseCode, Session, type SessionHost } from './session';
import { AnswerBudget } from './answer-budget';
import { WorkerHandle } from './worker-handle';
import { Supervisor } from './supervisor';
import { JobPool } from '../jobs/pool';
import { descriptorBudget, descriptorReserve, openDescriptors, raiseDescriptorLimit, type DescriptorBudget } from './descriptors';
import { SocketGuard } from './socket-guard';
import { AerieError, Status } from '../errors';
import { ReqOffset } from '../protocol/internal';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const VERSION: string = require('../../../package.json').version;

/** How long shutdown waits for requests in flight before closing connections anyway. */
const SHUTDOWN_DRAIN_MS = 5000;

export interface AerieNode {
  readonly address: { host: string; port: number };
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

async function startLocked(config: NodeConfig, lockedDirs: string[]): Promise<AerieNode> {
  const log = (msg: string) => {
    if (config.log.level === 'debug' || config.log.level === 'info') console.log(`aerie: ${msg}`);
  };
  const startedAtMs = Date.now();
  const n = workerCount(config);
  // Copies per partition, per namespace; channels between workers only when some namespace has two.
  const copies = config.namespaces.map((ns) => replicationOf(ns, n));
  const replicated = copies.some((c) => c > 1);
  const map = PartitionMap.create(n, copies);
  const channels = ReplicationChannels.create(n, replicated ? config.workers.replicationChannelBytes : 0);
  const peerRings: (SharedArrayBuffer | null)[] = new Array(n).fill(null);
  const sets = config.namespaces.map((ns) => {
    const registry = SetRegistry.create();
    if (ns.storage === 'file') {
      // Same names, same ids as before the restart; new ones are saved before they are used.
      const dir = namespaceDirectory(ns.dataDir, ns.name);
      for (const name of loadSetNames(dir)) registry.assign(name);
      registry.onAssign = (names) => saveSetNames(dir, names);
    }
    return registry;
  });
  // A file namespace's cold start loads its base snapshot, then the log after it; what a crash
  // left of a snapshot being written or deleted is removed first.
  const bases = config.namespaces.map((ns) => {
    removeIncomplete(ns.dataDir, ns.name);
    const base = ns.storage === 'file' ? readBase(ns.dataDir, ns.name) : null;
    if (base === null) return null;
    const dir = snapshotDirectory(ns.dataDir, ns.name, base.snapshot);
    if (readManifest(dir) === null) throw new AerieError(Status.SERVER_ERROR, `namespace ${ns.name}: its base snapshot ${base.snapshot} is missing from ${dir}`);
    if (base.sequences.length !== n) {
      throw new AerieError(Status.SERVER_ERROR, `namespace ${ns.name}: its base snapshot was taken with ${base.sequences.length} workers; set workers.count to ${base.sequences.length}`);
    }
    return { dir, sequences: base.sequences };
  });
  const stats = Array.from({ length: n }, () => StatsBlock.create(config.namespaces.length));
  const sessions = new Set<Session>();
  const connections = { open: 0, opened: 0, closed: 0 };
  let draining = false;

  const workers: WorkerHandle[] = [];
  const direct = config.service.directReads ? new DirectReader(config.namespaces, n) : null;
  const logError = (m: string) => console.error(`aerie: ${m}`);
  // eslint-disable-next-line prefer-const
  let router: Router;
  const waits = new ReplicaWaits(channels, { answer: (slot, code, bytes, start, end) => router.answerReplicated(slot, code, bytes, start, end) });
  const failover = new Failover({ workers, map, channels, waits, namespaces: config.namespaces, released: () => router.releaseHeld(), log: logError });
  const replication = replicated
    ? {
        failover, waits, channels,
        onOverflow: () => {
          for (let from = 0; from < n; from++) for (let to = 0; to < n; to++) if (from !== to && channels.overflowed(from, to)) failover.channelOverflowed(from, to);
        },
      }
    : null;
  const truncateCutoffs: [number, number, number][] = [];
  router = new Router(config.namespaces.map((ns) => ns.name), sets, map, workers, direct, replication, truncateCutoffs, config.namespaces.map((ns) => ns.recordBytesMax));
  const supervisor = new Supervisor(workers, stats, config, {
    onWorkerDown: (h) => {
      h.pump(); // answers the thread published before it died are real answers
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
      logError(`worker ${h.index} given up on: ${describeUnavailable(h.index)}`);
    },
    beforeRestart: (h) => {
      if (replicated) failover.beforeRestart(h);
    },
    onDiedApplying: (h, message, blamed) => {
      const quarantined = router.quarantine.noteDeath(message, blamed);
      const what = `op ${message[ReqOffset.OP]}, digest ${message.subarray(ReqOffset.DIGEST, ReqOffset.DIGEST + C.DIGEST_BYTES).toString('hex')}`;
      logError(`worker ${h.index} died applying a request (${what}): ${quarantined ? 'it is quarantined, refused if sent again' : 'suspected; quarantined if it is in flight at another such death'}`);
    },
    log: logError,
  });
  /**
   * What a given-up worker leaves unserved, per namespace: of the partitions it was configured to
   * master, those another holder in sync serves (or will, once failover moves them), and the rest.
   */
  const describeUnavailable = (w: number): string => {
    const parts: string[] = [];
    for (let ns = 0; ns < config.namespaces.length; ns++) {
      let served = 0;
      let unavailable = 0;
      for (let p = 0; p < C.PARTITION_COUNT; p++) {
        if (map.holder(ns, p, 0) !== w) continue;
        let other = false;
        for (let k = 1; k < map.copies[ns] && !other; k++) {
          const d = map.holder(ns, p, k);
          other = workers[d].state === 'up' && failover.sync[ns][d][p] === 1;
        }
        if (other) served++;
        else unavailable++;
      }
      const name = config.namespaces[ns].name;
      if (unavailable > 0) parts.push(`namespace ${name}: ${unavailable} of its partitions are UNAVAILABLE (no other copy in sync)${served > 0 ? `, ${served} served by replicas` : ''}`);
      else if (served > 0) parts.push(`namespace ${name}: its ${served} partitions are served by replicas`);
    }
    return parts.join('; ');
  };
  for (let i = 0; i < n; i++) {
    workers.push(
      new WorkerHandle(
        {
          workerIndex: i,
          workerCount: n,
          partitionMap: map.sab,
          copies,
          replRings: channels.rings,
          replFlags: channels.flagsSab,
          peerRequestRings: peerRings,
          truncateCutoffs,
          stats: stats[i].sab,
          setRegistries: sets.map((s) => s.sab),
          namespaces: config.namespaces,
          bases: bases.map((b) => (b === null ? null : { directory: partDirectory(b.dir, i), sequence: b.sequences[i] })),
        },
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
              log(`worker ${h.index} is back (restart ${h.restarts})`);
              if (replicated) failover.onWorkerReady(h);
            }
          },
          onAck: (h) => {
            waits.onAck(h.index);
            failover.tick();
          },
          log: (m) => console.error(`aerie: ${m}`),
        },
        config.workers.heapMbMax,
      ),
    );
  }
  try {
    await Promise.all(workers.map((w) => w.start(false)));
  } catch (error) {
    // One worker could not start (its log is unreadable, say): stop the others, so the process
    // ends with the error instead of living on with a partial node that never listens.
    supervisor.stop();
    await Promise.all(workers.map((w) => w.stop()));
    throw error;
  }
  supervisor.start();
  if (replicated) failover.start();
  const jobs = new JobPool();
  const snapshots = new SnapshotManager(config, workers, jobs, sets, (m) => log(m), {
    holdTruncates: (ns) => router.holdTruncates(ns, C.SNAPSHOT_STEP_TIMEOUT_MS),
    releaseTruncates: (ns) => router.releaseTruncates(ns),
    committing: (ns) => router.forgetTruncateCutoffs(ns),
    restored: (ns) => failover.resync(ns),
    replicasInSync: (ns) => failover.waitInSync(ns, C.RESTORE_RESYNC_WAIT_MS),
  });
  // Log compaction of file namespaces; snapshots swap stores and release segments, so they run alone.
  const compaction = new CompactionScheduler({ config, workers, stats, jobs, log, logError: (m) => console.error(`aerie: ${m}`) });
  compaction.start();

  const verifier = new Verifier(config, workers, jobs, map);
  const budget = new AnswerBudget(config.service.answerBytesMax, config.service.sendBufferBytesMax, Math.max(...config.namespaces.map((ns) => ns.recordBytesMax)));
  // Drawn once the server exists, below; INFO reads them.
  // eslint-disable-next-line prefer-const
  let socketGuard: SocketGuard;
  // eslint-disable-next-line prefer-const
  let descriptorInfo: DescriptorBudget;
  const info = () => ({
    ...buildInfo({
      config, version: VERSION, startedAtMs, map, workers, stats, connections, requestsInFlight: router.table.inUse,
      descriptors: { ...descriptorInfo, sockets: socketGuard.counts },
      compaction: (n) => compaction.infoFor(n), directReads: direct?.served,
      replication: replicated ? { ...failover.info(), writesWaiting: waits.count } : null,
    }),
    answerBytes: { used: budget.used, max: budget.bytesMax, perConnectionMax: budget.perConnectionBytesMax, evictions: budget.evictions },
  });

  let infoThisTurn: Record<string, unknown> | null = null;
  const pendingFlush: Session[] = [];
  let flushScheduled = false;
  const flushAll = () => {
    flushScheduled = false;
    for (const s of pendingFlush) s.flush();
    pendingFlush.length = 0;
  };
  const host: SessionHost = {
    router,
    inFlightMax: config.service.inFlightPerConnectionMax,
    budget,
    frameBytesMax: config.service.frameBytesMax,
    helloTimeoutMs: config.service.helloTimeoutMs,
    helloBody: () => ({
      node: 'aerie',
      version: VERSION,
      protocol: PROTOCOL_VERSION,
      workers: n,
      namespaces: config.namespaces.map((ns) => ns.name),
      limits: {
        frameBytesMax: config.service.frameBytesMax,
        requestsPerFrameMax: C.REQUESTS_PER_FRAME_MAX,
        inFlightPerConnectionMax: config.service.inFlightPerConnectionMax,
        batchKeysMax: C.BATCH_KEYS_MAX,
        scanPageRecordsMax: C.SCAN_PAGE_RECORDS_MAX,
        recordBytesMax: Math.max(...config.namespaces.map((ns) => ns.recordBytesMax)),
      },
    }),
    // One INFO body per event-loop turn: building one walks every partition of every worker, so
    // a frame of 4096 INFOs must not cost 4096 walks.
    infoBody: () => {
      if (infoThisTurn === null) {
        infoThisTurn = info();
        setImmediate(() => {
          infoThisTurn = null;
        });
      }
      return infoThisTurn;
    },
    // A repair reads the log while compaction could rewrite it: they take turns.
    verify: (ns, repair) => (repair ? compaction.exclusive(() => verifier.run(ns, true)) : verifier.run(ns, false)),
    scheduleFlush: (s) => {
      pendingFlush.push(s);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    },
    closed: (s) => {
      if (sessions.delete(s)) {
        connections.open--;
        connections.closed++;
      }
    },
    draining: () => draining,
    snapshot: (action, ns, id) => {
      if (action === 'create') return compaction.exclusive(() => snapshots.create(ns));
      if (action === 'list') return Promise.resolve(snapshots.list(ns));
      if (action === 'restore') return compaction.exclusive(() => snapshots.restore(ns, id ?? ''));
      if (action === 'delete') return snapshots.delete(ns, id ?? '');
      return Promise.reject(new AerieError(Status.PARAMETER, `unknown snapshot action '${action}' (create, list, restore, delete)`));
    },
    restartWorker: (body) => {
      const b = body as { worker?: unknown } | null;
      const fields = b !== null && typeof b === 'object' ? Object.keys(b) : [];
      if (fields.length !== 1 || fields[0] !== 'worker' || !Number.isInteger(b!.worker) || (b!.worker as number) < 0 || (b!.worker as number) >= n) {
        return Promise.reject(new AerieError(Status.PARAMETER, `WORKER_RESTART needs {worker: 0..${n - 1}}`));
      }
      return supervisor.restartNow(b!.worker as number);
    },
    fault: (worker, kind) => {
      if (!config.supervisor.faultInjection) {
        throw new AerieError(Status.FAIL_FORBIDDEN, 'fault injection is disabled (supervisor.faultInjection)');
      }
      if (!Number.isInteger(worker) || worker < 0 || worker >= n) throw new AerieError(Status.PARAMETER, `worker must be 0..${n - 1}`);
      return workers[worker];
    },
  };

  const http: Server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('Aerie speaks WebSocket only\n');
  });
  // Sockets are capped from their first byte, by the descriptors left once everything else that
  // needs one is counted (src/primary/descriptors.ts).
  const descriptors = descriptorBudget(raiseDescriptorLimit(logError), openDescriptors(), descriptorReserve(config.namespaces, n), config.service.connectionsMax);
  if (descriptors.limit === null) logError(`descriptors: the limit is unknown here (no /proc); sockets are capped by service.connectionsMax (${config.service.connectionsMax}) alone`);
  else if (descriptors.socketsMax < config.service.connectionsMax) {
    logError(`descriptors: limit ${descriptors.limit} (hard ${descriptors.hardLimit}), ${descriptors.openAtStart} open, ${descriptors.reserve} reserved: at most ${descriptors.socketsMax} client sockets, below service.connectionsMax ${config.service.connectionsMax} (raise ulimit -n)`);
  } else log(`descriptors: limit ${descriptors.limit}, ${descriptors.openAtStart} open, ${descriptors.reserve} reserved: up to ${descriptors.socketsMax} client sockets (service.connectionsMax)`);
  socketGuard = new SocketGuard(http, descriptors.socketsMax, config.service.handshakeTimeoutMs);
  descriptorInfo = descriptors;
  const wss = new WebSocketServer({
    server: http,
    maxPayload: config.service.frameBytesMax,
    perMessageDeflate: false,
    clientTracking: false,
  });
  wss.on('connection', (ws, req) => {
    socketGuard.upgraded(req.socket);
    if (sessions.size >= config.service.connectionsMax || draining) {
      ws.close(CloseCode.TRY_AGAIN_LATER, draining ? 'shutting down' : 'too many connections');
      return;
    }
    const session = new Session(ws, host, `${req.socket.remoteAddress}:${req.socket.remotePort}`);
    sessions.add(session);
    connections.open++;
    connections.opened++;
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.service.port, config.service.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const addr = http.address() as AddressInfo;
  log(`listening on ${addr.address}:${addr.port} with ${n} workers, namespaces ${config.namespaces.map((x) => x.name).join(', ')}`);

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      http.close();
      socketGuard.close();
      // Each client is told to stop sending; a connection closes once its client says DRAINED
      // and every request before that is answered, so nothing it sent is left in doubt. Clients
      // that never answer are closed at the deadline.
      for (const s of sessions) s.goAway('node shutting down');
      const deadline = Date.now() + SHUTDOWN_DRAIN_MS;
      while ((sessions.size > 0 || router.table.inUse > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      flushAll();
      for (const s of sessions) s.close(CloseCode.GOING_AWAY, 'node shutting down');
      supervisor.stop();
      failover.stop();
      waits.stop();
      compaction.stop();
      const stoppedClean = await Promise.all(workers.map((w) => w.stop()));
      // Every worker closed its log and applied every channel to its end: the copies are equal,
      // and the next start need not copy the replicas (docs/replication.md, cold start).
      if (replicated && stoppedClean.every((c) => c) && channels.allDrained()) failover.recordCleanStop();
      await jobs.close();
      wss.close();
      http.closeAllConnections();
      for (const dir of lockedDirs) releaseDataLock(dir);
      log('stopped');
    })();
    return closing;
  };

  return { address: { host: addr.address, port: addr.port }, config, info, close, workers };
}
