// Worker thread entry point: attaches the shared memory the primary handed over, then drains the
// request ring in batches, answering on the response ring. Between batches it runs the background
// work (expiry sweep, defragmentation, stats) and sleeps on the ring when there is nothing to do.

import { createLog, LogEpisode } from '../log';
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import * as C from '../constants';
import { Status } from '../errors';
import { Op, isWriteOp } from '../protocol/ops';
import { ACK_SLOT, REQ_HEADER_BYTES, RES_HEADER_BYTES, ReqFlag, ReqOffset } from '../protocol/internal';
import type { ControlFromWorker, ControlToWorker, WorkerInit } from './thread-messages';
import { Reader } from '../protocol/reader';
import { Writer } from '../protocol/writer';
import { setWalkBeat } from '../protocol/walk-beat';
import { PartitionMap } from '../partition/map';
import { RecordStore, type RecordStoreOptions } from '../shm/record-store';
import { loadPart } from '../snapshot/parts';
import { Ring } from '../shm/ring';
import { SetRegistry } from '../shm/set-registry';
import { ApplyingSource, LogWatermarks, NamespaceStat, StatsBlock, StopWritesReason, WorkerStat } from '../shm/stats';
import { QuarantineTable } from '../shm/quarantine-table';
import { countedOp } from '../shm/request-metrics';
import { Engine } from './engine';
import { Namespace } from './namespace';
import { nowVoidSec } from '../shm/void-time';
import { storeLimits } from '../shm/store-limits';
import { RequestFields, parseBody } from '../protocol/request-body';
import { scanPage } from './scan';
import { NamespaceLog, type DiskLogger } from './persistence';
import { injectFault, isFaultKind, type FaultKind } from './faults';
import { StorageFaults, isStorageFaultKind } from '../storage/storage-faults';
import { StoreControl } from './store-control';
import { ReplicationChannels } from '../replication/channels';
import { ReplicationIn, ReplicationOut } from './replication';
import { Migrations } from './migrate-out';
import { WorkerEndpoint } from './endpoint';
import { LocalRequests } from './local-requests';
import { LocalWrites } from './local-writes';
import { InSyncCopies } from '../replication/in-sync';
import { PartitionHolds } from '../partition/holds';

const init = workerData as WorkerInit;
/** This thread's log, at the node's level (log.ts). */
const threadLog = createLog(init.log, `worker ${init.workerIndex}`);
const port = parentPort!;
const send = (m: ControlFromWorker) => port.postMessage(m);

const requests = Ring.attach(init.requestRing);
const responses = Ring.attach(init.responseRing);
const map = PartitionMap.attach(init.partitionMap, init.workerCount, init.copies);
const stats = StatsBlock.attach(init.stats, init.namespaces.length);
const sets = init.setRegistries.map((sab) => SetRegistry.attach(sab));
const storeOptions: RecordStoreOptions[] = [];
const namespaces = init.namespaces.map((config, nsIndex) => {
  const options = {
    ...storeLimits(config, init.workerCount),
    onIndexResize: (sab: SharedArrayBuffer) => send({ type: 'index-resized', nsIndex, sab }),
    onBlock: (blockIndex: number, sab: SharedArrayBuffer) => send({ type: 'block', nsIndex, blockIndex, sab }),
    // A rehash of millions of entries takes a second: not a hang.
    onBusy: () => stats.set(WorkerStat.HEARTBEAT_MS, Date.now()),
  };
  storeOptions.push(options);
  const left = init.adopt?.[nsIndex] ?? null;
  let store: RecordStore;
  if (left !== null && left.indexSab !== null && left.controlSab !== null && left.arenaStatsSab !== null) {
    // Fast restart: take over the store the previous thread left in shared memory.
    const adopted = RecordStore.adopt({
      ...options,
      indexSab: left.indexSab,
      controlSab: left.controlSab,
      arenaStatsSab: left.arenaStatsSab,
      blocks: left.blocks,
    });
    store = adopted.store;
    if (adopted.repair !== null) send({ type: 'repaired', nsIndex, ...adopted.repair });
  } else {
    store = RecordStore.create(options);
  }
  send({ type: 'store', nsIndex, indexSab: store.index.sab, controlSab: store.controlSab, arenaStatsSab: store.arena.statsSab });
  const ns = new Namespace(nsIndex, config, init.workerCount, store, init.workerIndex);
  ns.storeMatchesLog = left === null;
  return ns;
});

// Injected write/fsync/statfs errors: set only by the FAULT op, which the primary refuses unless
// supervisor.faultInjection is on.
const storageFaults = new StorageFaults();
const reportDisk: DiskLogger = (level, m, fields) => threadLog.event(level, 'disk-state', m, { worker: init.workerIndex, ...fields });
// File-backed namespaces: replay the log at a cold start, or just reopen it after adoption.
for (const ns of namespaces) {
  if (ns.config.storage !== 'file') continue;
  const adopted = (init.adopt?.[ns.index] ?? null) !== null;
  // A cold start loads the base snapshot first, then replays only the log written after it.
  const base = adopted ? null : init.bases[ns.index];
  // With recoverySkipCorrupt a damaged base is loaded without its damaged regions (their records
  // are lost, unless the log after the base or a replica holds them); without it start-up stops.
  const skip = ns.config.recoverySkipCorrupt
    ? {
        onSkipped: (what: string) =>
          threadLog.error(`namespace ${ns.config.name}: SKIPPED damaged base snapshot region ${what}; its records are lost unless a later write or a replica has them (docs/snapshots.md)`),
      }
    : undefined;
  if (base !== null) loadPart(ns.store, base.directory, nowVoidSec(Date.now()), undefined, skip);
  const { log, report } = NamespaceLog.open(ns.config, init.workerIndex, ns.store, adopted, nowVoidSec(Date.now()), new LogWatermarks(stats, ns.index), base?.sequence ?? 0, storageFaults, reportDisk);
  ns.log = log;
  send({
    type: 'recovered',
    nsIndex: ns.index,
    adopted,
    records: report.recordCount,
    elapsedMs: report.elapsedMs,
    recordsPerSecond: report.recordsPerSecond,
    tornBytes: report.tornTail?.bytesCut ?? 0,
    skippedRegions: report.skippedRegionCount,
    skippedBytes: report.skippedBytes,
    firstSkipped: report.skippedRegions.length > 0 ? `${report.skippedRegions[0].file} offset ${report.skippedRegions[0].offset} (${report.skippedRegions[0].reason})` : null,
  });
}
const fileNamespaces = namespaces.filter((ns) => ns.log !== null);
/** Per namespace: writes refused for memory, logged as one episode (begin, every minute, end). */
const stopWritesEpisodes = namespaces.map(() => new LogEpisode(threadLog, 'stop-writes', C.LOG_EPISODE_PERIOD_MS));
for (const [nsIndex, setId, beforeMs] of init.truncateCutoffs) namespaces[nsIndex]?.truncateCutoffs.set(setId, beforeMs);
const channels = ReplicationChannels.attach(init.workerCount, init.replRings, init.replFlags);
const replicated = init.copies.some((c) => c > 1);
const replOut = replicated ? new ReplicationOut(init.workerIndex, map, channels, init.peerRequestRings, stats) : null;
const replIn = replicated ? new ReplicationIn(init.workerIndex, namespaces, channels, stats) : null;
/**
 * A beat from inside long work (a costly request, an injected fault): the heap goes with it, so a
 * worker running out of memory is reported as such rather than as hung.
 */
const beatWithHeap = () => {
  stats.set(WorkerStat.HEARTBEAT_MS, Date.now());
  stats.set(WorkerStat.HEAP_USED_BYTES, getHeapStatistics().used_heap_size);
};
// Every walk of msgpack values on this thread beats too: a frame or a body of millions of values
// (one client's PUT, on this worker's endpoint or through its ring) takes seconds to walk, decode,
// check and encode, and is progress, not a hang (src/protocol/walk-beat.ts). The heartbeat only:
// a decode that exhausts the heap then ends the thread by itself, and the request is quarantined
// at that first death; a heap reported from inside it would have the supervisor restart the
// thread instead, a death the quarantine blames only at its second (src/primary/quarantine.ts).
setWalkBeat(() => stats.set(WorkerStat.HEARTBEAT_MS, Date.now()));
const engine = new Engine(
  namespaces,
  stats,
  replOut,
  (ns) => masterRecords(ns),
  beatWithHeap,
  (m) => threadLog.error(m),
);
const out = new Writer(C.RING_MESSAGE_BYTES_MAX);
const scanReader = new Reader(new Uint8Array(0));
const scanFields = new RequestFields();
let stopping = false;
/**
 * Event-loop lag, measured where it arises: the longest stretch between resuming from one await
 * that yields to the event loop and reaching the next (control messages, timers and expiry wait
 * that long). Node's monitorEventLoopDelay misses stretches spent in this loop's continuations.
 */
let resumedAtMs = Date.now();
let longestStretchMs = 0;
/**
 * Called just before an await that yields to the event loop, and resumed() just after. Plain
 * calls around the await, not an async wrapper: the loop yields several times per request, and
 * every wrapper's promises are garbage the young generation collects (docs/benchmarks.md, p99).
 */
function yielding(): void {
  const now = Date.now();
  if (now - resumedAtMs > longestStretchMs) longestStretchMs = now - resumedAtMs;
}
function resumed(): void {
  resumedAtMs = Date.now();
}
// The stats block outlives threads: what a predecessor left must not condemn this one. Its last
// heartbeat is as old as the restart delay (up to 2 s), and the supervisor checks this thread
// as soon as it reports ready: without a fresh beat it was taken for hung before its first loop.
stats.set(WorkerStat.HEARTBEAT_MS, Date.now());
stats.set(WorkerStat.EVENT_LOOP_LAG_MS, 0);
stats.set(WorkerStat.HEAP_USED_BYTES, process.memoryUsage().heapUsed);
let lastBackgroundMs = 0;
let lastStatsMs = 0;

const control = new StoreControl(
  namespaces,
  storeOptions,
  send,
  (m) => threadLog.error(m),
  () => stats.set(WorkerStat.HEARTBEAT_MS, Date.now()),
  (ns) => masterRecords(ns),
);
let lastYieldMs = 0;
/** When the loop last had something to do (requests, replication, a migration): a long idle sleeps longer. */
let lastBusyMs = Date.now();
const idleWaitMs = Math.max(1, Math.min(C.WORKER_IDLE_WAIT_MS, Math.floor(init.endpoint.config.supervisor.heartbeatTimeoutMs / 5)));

const migrations = replOut === null ? null : new Migrations(namespaces, replOut, (requestId, error, value) => send({ type: 'reply', requestId, error, value }), stats);

// This thread's own client endpoint: its sockets are served from its event loop, which the loop
// below visits after every batch while any session is open.
const holds = PartitionHolds.attach(init.endpoint.holds, init.namespaces.length, init.workerCount);
/** True while the loop sleeps in its event loop: a request queued by the endpoint must wake it. */
let sleepingAsync = false;
/**
 * Applies a request the endpoint serves itself, recording where its message lies (in `source`,
 * a buffer the primary made) while it is applied, as drain() does for the ring's: a thread that
 * dies applying it names it, and the primary quarantines it (src/primary/quarantine.ts).
 */
function applyLocal(source: number): (bytes: Uint8Array, view: DataView, start: number, end: number, o: Writer) => number {
  return (bytes, view, start, end, o) => {
    stats.set(WorkerStat.APPLYING_SOURCE, source);
    stats.set(WorkerStat.APPLYING_LENGTH, end - start);
    stats.set(WorkerStat.APPLYING_OFFSET, start + 1);
    const code = engine.handle(bytes, view, start, end, o);
    stats.set(WorkerStat.APPLYING_OFFSET, 0);
    stats.set(WorkerStat.APPLYING_SOURCE, ApplyingSource.RING);
    return code;
  };
}
const localWrites = new LocalWrites({
  workerIndex: init.workerIndex,
  map,
  holds,
  inSync: InSyncCopies.attach(init.endpoint.inSync, init.namespaces.length, init.workerCount),
  channels: replicated ? channels : null,
  queue: init.localQueue,
  apply: applyLocal(ApplyingSource.LOCAL_QUEUE),
  paused: () => control.paused,
  forward: (session, id, op, bytes, start, end, reserved) => endpoint.forward(session, id, op, bytes, start, end, reserved),
  wakeLoop: () => {
    if (sleepingAsync) requests.wake();
  },
  served: (op, code, micros, batchElement) => {
    // A batch counts once, when the endpoint takes it (LocalRequests' served); its elements by op.
    if (!batchElement) stats.add(WorkerStat.LOCAL_REQUESTS);
    stats.requests.record(countedOp(op, batchElement), code, micros);
  },
});
const localRequests = new LocalRequests({
  workerIndex: init.workerIndex,
  namespaces: init.namespaces,
  sets,
  map,
  holds,
  queue: localWrites,
  frameBytesMax: init.endpoint.config.service.frameBytesMax,
  message: init.localMessage,
  quarantine: QuarantineTable.attach(init.endpoint.quarantine),
  apply: applyLocal(ApplyingSource.LOCAL_MESSAGE),
  paused: () => control.paused,
  served: () => stats.add(WorkerStat.LOCAL_REQUESTS),
  record: (op, code, micros, batchElement) => stats.requests.record(countedOp(op, batchElement), code, micros),
  forwardPart: (collector, id, op, body, start, end) => endpoint.forwardPart(collector, id, op, body, start, end),
});
const endpoint = new WorkerEndpoint(
  init.endpoint,
  init.workerIndex,
  map,
  (m) => port.postMessage(m),
  localRequests,
  { forward: init.forwardPipe, answer: init.answerPipe },
  () => stats.add(WorkerStat.FORWARDED),
);
endpoint.listen();

port.on('message', (m: ControlToWorker) => {
  // Handled here, between batches (this thread's batches never yield mid-way).
  if (m.type === 'stop') stopping = true;
  else if (m.type === 'admin-reply' || m.type === 'endpoint-drain' || m.type === 'tls-reload') {
    endpoint.onMessage(m);
    return; // these need no turn of the loop below
  } else if (m.type === 'peer-ring') replOut?.setDoorbell(m.worker, m.sab);
  else if (m.type === 'repl-ring') {
    if (m.from === init.workerIndex) replOut?.replaceRing(m.to, m.sab);
    else if (m.to === init.workerIndex) replIn?.replaceRing(m.from, m.sab);
  } else if (m.type === 'migrate') {
    if (migrations === null) send({ type: 'reply', requestId: m.requestId, error: { code: Status.SERVER_ERROR, message: 'no namespace is replicated' }, value: null });
    else migrations.start(m.requestId, m.nsIndex, m.target, m.partitions);
  } else if (m.type === 'migrate-cancel') migrations?.cancel(m.target);
  else control.enqueue(m);
  requests.wake();
});

/** A fault to inject once the current batch's responses are published (tests, operators). */
let pendingFault: string | null = null;

/** Handles one request message into `out` and returns the result code. */
function handleOne(offset: number, length: number): number {
  const bytes = requests.bytes;
  const op = bytes[offset + ReqOffset.OP];
  if (op === Op.FAULT) {
    scanReader.reset(bytes, offset + REQ_HEADER_BYTES, offset + length);
    const kind = scanReader.readValue();
    if (typeof kind === 'string' && isStorageFaultKind(kind)) {
      // A disk fault acts at once, on every log of this worker; its state shows at the next check.
      storageFaults.set(kind);
      for (const ns of fileNamespaces) ns.log!.tick(Date.now(), true);
      return 0;
    }
    if (typeof kind !== 'string' || !isFaultKind(kind)) return Status.PARAMETER;
    pendingFault = kind;
    return 0;
  }
  if (op !== Op.SCAN) return engine.handle(bytes, requests.view, offset, offset + length, out);
  const view = requests.view;
  scanReader.reset(bytes, offset + REQ_HEADER_BYTES, offset + length);
  try {
    parseBody(scanReader, offset + length, scanFields, false);
  } catch {
    return Status.PARAMETER;
  }
  const nowMs = Date.now();
  const code = scanPage(
    {
      ns: namespaces[bytes[offset + ReqOffset.NS]],
      sets: sets[bytes[offset + ReqOffset.NS]],
      map,
      workerIndex: init.workerIndex,
      setId: view.getUint16(offset + ReqOffset.SET_ID, true),
      startSlot: view.getUint32(offset + ReqOffset.SCAN_START_SLOT, true),
      indexId: view.getUint32(offset + ReqOffset.SCAN_INDEX_ID, true),
      recordsMax: view.getUint32(offset + ReqOffset.SCAN_RECORDS_MAX, true),
      bytesMax: view.getUint32(offset + ReqOffset.SCAN_BYTES_MAX, true),
      binNames: scanFields.binNames,
      nowVoid: nowVoidSec(nowMs),
      nowMs,
    },
    out,
  );
  stats.add(WorkerStat.SCAN_PAGES);
  return code;
}

// A response that did not fit in the response ring waits here (its request is already applied
// and must not be handled again) until the primary frees space.
let pendingSlot = -1;
let blocked = false;

/** Ring offsets of the codes of this batch's acknowledged writes, until the batch is committed. */
const batchWrites: number[] = [];
let pendingIsWrite = false;

function writeResponse(code: number): boolean {
  const at = responses.reserve(RES_HEADER_BYTES + out.length);
  if (at < 0) return false;
  if (pendingIsWrite && code === 0) batchWrites.push(at + 4);
  const view = responses.view;
  view.setUint32(at, pendingSlot, true);
  view.setInt32(at + 4, code, true);
  const n = out.length;
  if (n <= 64) {
    // Most answers are short: a loop allocates no subarray view per response.
    const src = out.buffer;
    const dst = responses.bytes;
    for (let i = 0, j = at + RES_HEADER_BYTES; i < n; i++, j++) dst[j] = src[i];
  } else {
    responses.bytes.set(out.bytes(), at + RES_HEADER_BYTES);
  }
  pendingSlot = -1;
  return true;
}
let pendingCode = 0;

/** Drains up to WORKER_DRAIN_BATCH_MAX requests; sets `blocked` when the response ring is full. */
function drain(): number {
  blocked = false;
  if (pendingSlot >= 0 && !writeResponse(pendingCode)) {
    blocked = true;
    return 0;
  }
  let handled = 0;
  const startedMs = Date.now();
  // One clock read per request: a request's time runs from the end of the one before (a clock
  // read costs about 0.2 µs on the VMs measured, docs/benchmarks.md).
  let clockMs = performance.now();
  while (handled < C.WORKER_DRAIN_BATCH_MAX) {
    const offset = requests.next();
    if (offset < 0) break;
    out.reset();
    const op = requests.bytes[offset + ReqOffset.OP];
    pendingIsWrite = isWriteOp(op);
    stats.set(WorkerStat.APPLYING_LENGTH, requests.length);
    stats.set(WorkerStat.APPLYING_OFFSET, offset + 1);
    pendingCode = handleOne(offset, requests.length);
    const doneMs = performance.now();
    const batchElement = (requests.bytes[offset + ReqOffset.FLAGS] & ReqFlag.BATCH_ELEMENT) !== 0;
    stats.requests.record(countedOp(op, batchElement), pendingCode, (doneMs - clockMs) * 1000);
    clockMs = doneMs;
    stats.set(WorkerStat.APPLYING_OFFSET, 0);
    pendingSlot = requests.view.getUint32(offset + ReqOffset.SLOT, true);
    handled++;
    // A long batch on a busy core must not look like a hang to the supervisor.
    if ((handled & (C.WORKER_HEARTBEAT_EVERY_REQUESTS - 1)) === 0) stats.set(WorkerStat.HEARTBEAT_MS, Date.now());
    if (!writeResponse(pendingCode)) {
      blocked = true;
      break;
    }
    // Costly requests (each bounded: src/worker/operate-cost.ts) end the drain early, so their
    // answers and everyone else's are published, and the heartbeat beats, at least this often.
    if (engine.nowMs - startedMs >= C.WORKER_DRAIN_MS_MAX) break;
  }
  if (handled > 0) requests.release();
  return handled;
}

/**
 * drain() between the log watermarks' drain marks: every write a drain logs is appended before
 * the drain is marked done, which is what a compaction job's durability barrier waits on. A
 * thread that dies inside a drain leaves the mark odd, and its successor knows the store may hold
 * writes the log never got.
 */
function drainMarked(): number {
  for (const ns of fileNamespaces) ns.log!.watermarks?.beginDrain();
  // What the masters sent first: a partition promoted to this worker must hold everything its
  // old master replicated before this worker serves it (the primary also waits for that).
  const applied = replIn === null ? 0 : replIn.drain();
  const handled = drain();
  // What this worker's endpoint queued: its replication is committed before the busy word drops.
  const local = localWrites.drain(() => replOut?.commit());
  for (const ns of fileNamespaces) ns.log!.watermarks?.endDrain(ns.log!.writer.lastSequence);
  if (migrations !== null) migrationState = migrations.step(Date.now());
  // Before the responses: the primary may read a write's answer only once the write is on its way.
  replOut?.commit();
  if (replicated && channels.overflowEpoch !== overflowEpochSeen) {
    // A channel overflowed (maybe under writes the primary never saw): an ACK makes it look.
    overflowEpochSeen = channels.overflowEpoch;
    ackPending = true;
  }
  return handled + applied + local;
}
let overflowEpochSeen = 0;
let migrationState: 'idle' | 'progress' | 'blocked' = 'idle';
/** An acknowledgement of replication that did not fit in the response ring yet. */
let ackPending = false;

/** A master holding writes its endpoint served is woken by its doorbell when this replica releases. */
const wakeMaster = (from: number): void => replOut?.wake(from);

/** Tells the primary that channels were released (a response without a request). */
function writeAck(): void {
  const at = responses.reserve(RES_HEADER_BYTES);
  if (at < 0) {
    ackPending = true;
    return;
  }
  ackPending = false;
  responses.view.setUint32(at, ACK_SLOT, true);
  responses.view.setInt32(at + 4, 0, true);
}

/**
 * Publishes the batch's responses, after the logs of file namespaces say its writes may be
 * acknowledged: at once (null) when no log has anything to flush, as with memory namespaces,
 * else once the flushes settle (the returned promise). If a log fails, the batch's writes are
 * answered TIMEOUT instead (in doubt: their bytes may be on disk) and the namespace refuses
 * writes from then on.
 */
function publish(): Promise<void> | null {
  let dirty: Namespace[] | null = null;
  for (const ns of fileNamespaces) if (ns.log!.dirty) (dirty ??= []).push(ns);
  if (dirty === null) {
    finishPublish(false);
    return null;
  }
  return publishAfterFlush(dirty);
}

async function publishAfterFlush(dirty: Namespace[]): Promise<void> {
  yielding();
  const results = await Promise.allSettled(dirty.map((ns) => ns.log!.flush()));
  resumed();
  const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed !== undefined) {
    // A full device (the log stalls) or an I/O error (it fails for good): the batch's writes
    // may be on disk or not, so they are in doubt. The log's new state refuses further work
    // and is logged once (src/worker/persistence.ts), not once per batch.
    for (const at of batchWrites) responses.view.setInt32(at, Status.TIMEOUT, true);
    if (pendingSlot >= 0 && pendingIsWrite && pendingCode === 0) pendingCode = Status.TIMEOUT;
    const nowMs = Date.now();
    for (const ns of dirty) ns.log!.tick(nowMs, true);
  }
  finishPublish(failed !== undefined);
}

function finishPublish(logFailed: boolean): void {
  batchWrites.length = 0;
  localWrites.publish(logFailed);
  // Channels are released only after the group commit: the released position is this replica's
  // acknowledgement. While a log is stalled or failed nothing is: its masters' writes stay
  // waiting, and replication stops taking more (ReplicationIn.drain) until the log writes again.
  if (!logFailed && logsWriting() && (replIn?.release(wakeMaster) || ackPending)) writeAck();
  else if (ackPending) writeAck();
  responses.commit();
  if (pendingFault !== null) {
    const kind = pendingFault as FaultKind;
    pendingFault = null;
    injectFault(kind, beatWithHeap);
  }
}

function logsWriting(): boolean {
  for (const ns of fileNamespaces) if (ns.log!.blocked) return false;
  return true;
}

/** Expiry sweep, defragmentation and stats, at most every EXPIRY_SWEEP_INTERVAL_MS. */
function background(nowMs: number): void {
  stats.set(WorkerStat.HEARTBEAT_MS, nowMs);
  // Free space: re-read when due; a stalled log is retried once space is back.
  for (const ns of fileNamespaces) ns.log!.tick(nowMs);
  if (nowMs - lastStatsMs >= C.WORKER_STATS_INTERVAL_MS) {
    lastStatsMs = nowMs;
    for (const ns of namespaces) publishNamespaceStats(ns);
  }
  if (nowMs - lastBackgroundMs < C.EXPIRY_SWEEP_INTERVAL_MS) return;
  lastBackgroundMs = nowMs;
  const nowVoid = nowVoidSec(nowMs);
  for (const ns of namespaces) {
    const before = ns.store.expiredCount;
    ns.sweepSlot = ns.store.sweepExpired(nowVoid, ns.sweepSlot, C.EXPIRY_SWEEP_SLOTS_PER_TICK);
    stats.add(stats.nsSlot(ns.index, NamespaceStat.EXPIRED), ns.store.expiredCount - before);
    stats.add(WorkerStat.DEFRAG_BYTES, ns.store.defragStep(C.ARENA_BLOCK_BYTES));
    publishNamespaceStats(ns);
  }
  stats.set(WorkerStat.HEAP_USED_BYTES, process.memoryUsage().heapUsed);
  // The longest stretch without yielding since the last tick, the one under way included.
  stats.set(WorkerStat.EVENT_LOOP_LAG_MS, Math.max(longestStretchMs, nowMs - resumedAtMs));
  longestStretchMs = 0;
}

function publishNamespaceStats(ns: Namespace): void {
  const s = ns.store.stats();
  stats.set(stats.nsSlot(ns.index, NamespaceStat.RECORDS), s.records);
  stats.set(stats.nsSlot(ns.index, NamespaceStat.MEMORY_BYTES), s.memoryBytes);
  stats.set(stats.nsSlot(ns.index, NamespaceStat.INDEX_BYTES), s.indexBytes);
  stats.set(stats.nsSlot(ns.index, NamespaceStat.ARENA_BYTES), s.arenaBytes);
  stats.set(stats.nsSlot(ns.index, NamespaceStat.LIVE_BYTES), s.liveBytes);
  const stopWrites = ns.stopWritesReason();
  stats.set(stats.nsSlot(ns.index, NamespaceStat.STOP_WRITES), stopWrites);
  stats.set(stats.nsSlot(ns.index, NamespaceStat.MASTER_RECORDS), masterRecords(ns));
  logStopWrites(ns, stopWrites, s.memoryBytes);
  const log = ns.log;
  // The figures before the state: an INFO that sees a new state sees the free bytes behind it.
  stats.set(stats.nsSlot(ns.index, NamespaceStat.DISK_FREE_BYTES), log === null ? -1 : log.freeBytesEstimate);
  stats.set(stats.nsSlot(ns.index, NamespaceStat.DISK_STATE), log === null ? -1 : log.diskState);
  stats.set(stats.nsSlot(ns.index, NamespaceStat.DISK_RESERVE_BYTES), log === null ? 0 : log.disk.reserveBytes);
  stats.set(stats.nsSlot(ns.index, NamespaceStat.DISK_REFUSED), log === null ? 0 : log.refusedCount);
}

/** A namespace refusing writes for memory is one episode in the log, not a line per refused write. */
function logStopWrites(ns: Namespace, reason: number, memoryBytes: number): void {
  const episode = stopWritesEpisodes[ns.index];
  const nowMs = Date.now();
  const namespace = ns.config.name;
  const fields = { worker: init.workerIndex, namespace, memoryBytes, code: Status.SERVER_MEM };
  if (reason !== 0 && !episode.active) {
    const why = reason === StopWritesReason.STOP_WRITES_PCT ? ns.stopWritesMessage() : `worker ${init.workerIndex}'s share has no room for another block or a larger index`;
    episode.begin(nowMs, 'warn', `namespace ${namespace}: writes refused for memory: ${why}`, { ...fields, reason });
  }
  episode.note(ns.memoryRefusals);
  ns.memoryRefusals = 0;
  if (reason !== 0) episode.tick(nowMs, 'warn', `namespace ${namespace}: still refusing writes for memory`, { ...fields, reason });
  else episode.end(nowMs, 'info', `namespace ${namespace}: writes accepted again`, { ...fields, reason });
}

/** Records of the partitions this worker masters now (the rest of its records are replicas). */
function masterRecords(ns: Namespace): number {
  const counts = ns.store.index.partitionCounts;
  let sum = 0;
  for (let p = 0; p < counts.length; p++) if (map.master(ns.index, p) === init.workerIndex) sum += counts[p];
  return sum;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function run(): Promise<void> {
  send({ type: 'ready' });
  while (!stopping) {
    control.run(Date.now());
    if (control.paused) {
      // A restore holds every request until the primary commits or aborts it; what the primary
      // answered is still handed to the endpoint's sessions.
      endpoint.drainAnswers();
      stats.set(WorkerStat.HEARTBEAT_MS, Date.now());
      yielding();
      await new Promise((r) => setTimeout(r, 1));
      resumed();
      continue;
    }
    // Answers to what the endpoint forwarded (the primary rings the request ring's doorbell after
    // publishing them, so a sleeping loop wakes for them too).
    const answered = endpoint.drainAnswers();
    const handled = drainMarked() + answered;
    const flushing = publish();
    if (flushing !== null) await flushing;
    localWrites.poll();
    const nowMs = Date.now();
    background(nowMs);
    const serving = endpoint.sessionCount > 0;
    if (handled > 0 || migrationState !== 'idle') lastBusyMs = nowMs;
    if ((handled > 0 || migrationState === 'progress') && !blocked) {
      // Let control messages and timers in between batches under sustained load, and this
      // endpoint's sockets after every batch while it has clients.
      if (serving || handled >= C.WORKER_DRAIN_BATCH_MAX || nowMs - lastYieldMs >= C.WORKER_CONTROL_YIELD_MS) {
        lastYieldMs = nowMs;
        yielding();
        await yieldToLoop();
        resumed();
      }
      continue;
    }
    if (blocked) {
      const wait = responses.waitForSpaceAsync(RES_HEADER_BYTES + out.length, C.WORKER_IDLE_WAKE_MS);
      if (wait !== null) {
        yielding();
        await wait;
        resumed();
      }
      continue;
    }
    // Poll before sleeping only when configured to (RING_SPIN_MS: measured not to pay here).
    if (C.RING_SPIN_MS > 0) {
      const spinUntil = performance.now() + C.RING_SPIN_MS;
      while (requests.isEmpty() && performance.now() < spinUntil);
      if (!requests.isEmpty()) continue;
    }
    // An idle worker blocks in Atomics.wait rather than waitAsync: the primary's notify of a
    // blocked thread is cheaper than waking an event loop (docs/benchmarks.md, +10 % pinned).
    // It wakes for requests, for a control message (the primary wakes the ring after posting
    // one) and every SYNC_WAIT_MS, and visits its event loop every WORKER_CONTROL_YIELD_MS.
    // Masters ring this ring's doorbell after writing this worker's channels: announce the
    // sleep first, then look at the channels, so a message is either seen now or wakes us.
    const observed = requests.prepareSleep();
    // Writes this endpoint holds for replicas are looked at after the sleep is announced: a
    // replica releasing after this look rings the doorbell.
    const settled = localWrites.poll();
    const idle = observed >= 0 && (replIn === null || replIn.isEmpty()) && localWrites.isEmpty() && settled === 0 && !endpoint.answersWaiting;
    if (!idle || localWrites.waiting > 0) lastBusyMs = nowMs;
    const longIdle = idle && migrationState === 'idle' && nowMs - lastBusyMs >= C.WORKER_IDLE_AFTER_MS;
    if (serving || longIdle) {
      // Clients on this thread's endpoint: sleep in the event loop, where their sockets are read.
      // Idle for a while: there too, and longer, so that its timers and I/O run without the
      // thread waking a hundred times a second.
      const waitMs = longIdle ? idleWaitMs : migrationState === 'blocked' ? 1 : C.WORKER_SYNC_WAIT_MS;
      const wait = idle && migrationState !== 'progress' ? requests.finishSleepAsync(observed, waitMs) : requests.finishSleepAsync(-1, 0);
      // The heartbeat counts from the sleep's end: a long idle sleep must not eat into the time a
      // busy event loop has before the supervisor takes the thread for hung.
      if (wait !== null) stats.set(WorkerStat.HEARTBEAT_MS, Date.now() + waitMs);
      lastYieldMs = Date.now();
      sleepingAsync = wait !== null;
      yielding();
      await (wait ?? yieldToLoop());
      resumed();
      sleepingAsync = false;
      continue;
    }
    // A migration waiting for its channel to drain sleeps briefly; the replica frees it.
    requests.finishSleep(observed, migrationState === 'blocked' ? 1 : C.WORKER_SYNC_WAIT_MS, idle && migrationState !== 'progress');
    const now = Date.now();
    if (now - lastYieldMs >= C.WORKER_CONTROL_YIELD_MS) {
      lastYieldMs = now;
      yielding();
      await yieldToLoop();
      resumed();
    }
  }
  endpoint.close();
  localWrites.stop();
  for (const ns of namespaces) publishNamespaceStats(ns);
  // A log that failed before (or fails its last sync) may lack writes its replicas hold: the
  // primary then does not record a clean stop, and the next start copies every replica.
  const closed = await Promise.allSettled(
    fileNamespaces.map(async (ns) => {
      const failedBefore = ns.log!.checkWritable() !== 0;
      await ns.log!.close();
      if (failedBefore) throw new Error('the log had failed');
    }),
  );
  send({ type: 'stopped', logsClosed: closed.every((c) => c.status === 'fulfilled') });
  port.close();
}

run().catch((err: unknown) => {
  send({ type: 'fatal', message: String((err as Error)?.stack ?? err) });
  // Rethrown as uncaught, so the primary's 'error' event carries the reason before 'exit'.
  setImmediate(() => {
    throw err;
  });
});
