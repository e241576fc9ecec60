// The public client: one WebSocket to the node's front at a time, with reconnection round-robin
// over the configured hosts, and (routing 'partition', the default) one to each worker endpoint,
// so that every keyed call goes straight to its partition's master (partition-routing.ts). Calls
// are pipelined over each connection. Reads are re-sent after a lost connection; writes never
// are (see outcome.ts for why an unanswered write is "in doubt").

import { copyBytes } from '../bytes';
import { BATCH_KEYS_MAX, FRAME_BYTES_MAX_DEFAULT, SCAN_PAGE_RECORDS_MAX } from '../constants';
import { AerieError, Status } from '../errors';
import { Op, type Bins, type OpCode } from '../protocol/ops';
import { encodeBody, FRAME_OVERHEAD_BYTES } from './codec';
import { Connection, helloRequest, type ServerInfo } from './connection';
import { TypedEmitter } from './events';
import type { NodeInfo } from './info';
import { Key } from './key';
import { checkOperations, type OperateOp } from './operations';
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options';
import { PartitionRouting, type EndpointState } from './partition-routing';
import { Pipeline, QueueCount, type Reply } from './pipeline';
import {
  cleanBins,
  generationFields,
  type BinsInput,
  type BinsShape,
  retriesOf,
  timeoutOf,
  writeFields,
  type BasePolicy,
  type GenerationCheckPolicy,
  type OperatePolicy,
  type ReadPolicy,
  type RecordMeta,
  type WritePolicy,
} from './policy';
import { HostRotation, reconnectDelayMs, type HostAddress } from './reconnect';
import {
  toBatchExists,
  toBatchRecords,
  toMetadata,
  toOperateResult,
  toRecord,
  toScanPage,
  type AerieRecord,
  type ExistsResult,
  type OperateResult,
  type RecordMetadata,
  type ScanPage,
} from './records';
import { ScanStream, type ScanOptions } from './scan';
import { checkBinNames, checkCount, checkNamespace, checkSet, parameterError } from './validate';
import { CLIENT_VERSION } from './version';
import { ClientAuth, type SecurityCaller } from './auth';
import { progressCallbackOf, type ProgressCallback, type ProgressPolicy, type VerifyPolicy } from './progress';

/** Bound on waiting for the server to acknowledge a graceful close. */
const CLOSE_GRACE_MS = 1000;

/** What restartWorker() answers: the worker, its state (up), its restarts so far, the time taken. */
export interface WorkerRestarted {
  worker: number;
  state: string;
  restarts: number;
  elapsedMs: number;
}

export type ClientState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface ConnectionEvent {
  host: string;
  port: number;
}

export interface ClientEvents {
  /** A connection completed HELLO (the first one, and each after a reconnect). */
  connected: [event: ConnectionEvent & { server: ServerInfo }];
  /** The connection was lost; calls in flight have been settled or queued for re-sending. */
  disconnected: [event: ConnectionEvent & { error: AerieError }];
  /** A connection to worker `worker`'s endpoint completed HELLO (routing 'partition'). */
  endpointConnected: [event: ConnectionEvent & { worker: number }];
  /** A worker endpoint's connection was lost: its calls were settled or moved to the front. */
  endpointDisconnected: [event: ConnectionEvent & { worker: number; error: AerieError }];
  /** A reconnect attempt failed. Emitted only when someone listens, so it never throws. */
  error: [error: AerieError];
}

export class Client extends TypedEmitter<ClientEvents> implements SecurityCaller {
  readonly options: Readonly<ResolvedOptions>;
  /** The node's HELLO answer on the current (or last) connection: node, namespaces, limits. */
  server: ServerInfo = {};
  private readonly pipeline: Pipeline;
  private readonly hosts: HostRotation;
  private connection: Connection | null = null;
  private clientState: ClientState = 'connecting';
  private reconnectAttempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private batchKeysMax = BATCH_KEYS_MAX;
  private frameBytesMax = FRAME_BYTES_MAX_DEFAULT;
  /** The connection a GOAWAY is draining, if any: it carries answers but takes no new requests. */
  private draining: Connection | null = null;
  private started = false;
  /** The password, then session tokens (src/client/auth.ts). */
  private readonly auth: ClientAuth;
  /** The map and the worker endpoints' connections; null with routing 'front'. */
  private readonly routing: PartitionRouting | null;
  /** The first connection attempts of the lanes the front's map named, awaited by start(). */
  private lanesOpening: Promise<void> = Promise.resolve();

  /** Prefer connect(), which also opens the first connection. */
  constructor(options: ClientOptions) {
    super();
    this.options = resolveOptions(options);
    this.hosts = new HostRotation(this.options.hosts);
    this.auth = new ClientAuth(this.options.user, this.options.password);
    const queued = new QueueCount();
    this.pipeline = new Pipeline(
      { maxInFlight: this.options.maxInFlight, maxQueued: this.options.maxQueued },
      {
        onStalled: () => this.connection?.terminate('requests left unanswered past their timeout'),
        onPush: (code, body) => this.pushed(code, body),
      },
      queued,
    );
    this.routing = this.options.routing === 'partition' ? this.partitionRouting(queued) : null;
  }

  private partitionRouting(queued: QueueCount): PartitionRouting {
    return new PartitionRouting({
      open: (address) => this.open(address, true),
      front: this.pipeline,
      queued,
      maxQueued: this.options.maxQueued,
      inFlightMax: (server) => this.inFlightMax(server),
      askMap: () => this.askMap(),
      endpointUp: (worker, address) => this.emit('endpointConnected', { ...address, worker }),
      endpointDown: (worker, address, error) => this.emit('endpointDisconnected', { ...address, worker, error }),
    });
  }

  get state(): ClientState {
    return this.clientState;
  }

  /** A method, not a comparison inline, because close() may change the state across an await. */
  private isClosed(): boolean {
    return this.clientState === 'closed';
  }

  /** Calls sent and not yet answered, over every connection. */
  get inFlightCount(): number {
    return this.pipeline.inFlightCount + (this.routing?.inFlightCount() ?? 0);
  }

  /** Calls waiting to be sent, over every connection. */
  get queuedCount(): number {
    return this.pipeline.queueLength + (this.routing?.queuedCount() ?? 0);
  }

  /**
   * How calls are routed now: the partition map version the client routes by (null: none, so
   * every call goes through the front) and the worker endpoints it knows, each with whether its
   * connection is up (docs/client.md, Routing).
   */
  get routes(): { routing: 'partition' | 'front'; mapVersion: number | null; endpoints: EndpointState[] } {
    return { routing: this.options.routing, mapVersion: this.routing?.mapVersion ?? null, endpoints: this.routing?.endpoints() ?? [] };
  }

  /** Opens the first connection, trying each host once; rejects with the last host's error. */
  async start(): Promise<this> {
    if (this.started || this.clientState !== 'connecting') throw new AerieError(Status.CLIENT_ERROR, 'client already started');
    this.started = true;
    let lastError: AerieError | null = null;
    for (let attempt = 0; attempt < this.hosts.count; attempt++) {
      try {
        const connection = await this.open(this.hosts.next());
        if (this.isClosed()) {
          void connection.close(CLOSE_GRACE_MS);
          break;
        }
        this.adopt(connection);
        // The worker endpoints' first connections, so the first calls already go to their masters.
        await this.lanesOpening;
        return this;
      } catch (error) {
        lastError = error as AerieError;
      }
    }
    void this.shutdown();
    throw lastError ?? new AerieError(Status.SERVER_NOT_AVAILABLE, 'client closed while connecting');
  }

  // ---- single-record calls ----

  /** Writes bins; answers the record's new generation and TTL. */
  async put<T extends BinsShape<T> = BinsInput>(key: Key, bins: T, meta?: RecordMeta, policy?: WritePolicy): Promise<RecordMetadata> {
    const body = { ...keyFields(key), bins: cleanBins(bins), ...writeFields(meta, policy) };
    return toMetadata((await this.call(Op.PUT, body, true, policy, undefined, key)).body, 'put');
  }

  /**
   * Reads a record (all bins, or the named ones). Rejects KEY_NOT_FOUND when it does not exist.
   * `get<User>(key)` types the bins as User; nothing checks them against it.
   */
  async get<T = Bins>(key: Key, bins?: string[], policy?: ReadPolicy): Promise<AerieRecord<T>> {
    const body: Record<string, unknown> = keyFields(key);
    if (bins !== undefined) body.bins = checkBinNames(bins);
    return toRecord(key, (await this.call(Op.GET, body, false, policy, undefined, key)).body) as AerieRecord<T>;
  }

  /** Generation and TTL of a record, or null when it does not exist. */
  async exists(key: Key, policy?: ReadPolicy): Promise<ExistsResult | null> {
    const reply = await this.call(Op.EXISTS, keyFields(key), false, policy, Status.KEY_NOT_FOUND, key);
    return reply.code === Status.KEY_NOT_FOUND ? null : { key, ...toMetadata(reply.body, 'exists') };
  }

  /** Deletes a record and answers its key. Rejects KEY_NOT_FOUND when it did not exist. */
  async remove(key: Key, policy?: GenerationCheckPolicy): Promise<Key> {
    await this.call(Op.REMOVE, { ...keyFields(key), ...generationFields(policy) }, true, policy, undefined, key);
    return key;
  }

  /** Resets a record's TTL (to `ttl`, or the namespace default). Rejects KEY_NOT_FOUND when absent. */
  async touch(key: Key, ttl?: number, policy?: GenerationCheckPolicy): Promise<RecordMetadata> {
    const body = { ...keyFields(key), ...writeFields(ttl === undefined ? undefined : { ttl }, undefined), ...generationFields(policy) };
    return toMetadata((await this.call(Op.TOUCH, body, true, policy, undefined, key)).body, 'touch');
  }

  /**
   * Applies operations to one record atomically. An operate made only of reads is a read (it may
   * be re-sent after a lost connection); any other is a write.
   */
  async operate<T = Bins>(key: Key, operations: OperateOp[], meta?: RecordMeta, policy?: OperatePolicy): Promise<OperateResult<T>> {
    const readOnly = checkOperations(operations);
    const body = { ...keyFields(key), ops: operations, ...writeFields(meta, policy) };
    return toOperateResult(key, operations, (await this.call(Op.OPERATE, body, !readOnly, policy, undefined, key)).body) as OperateResult<T>;
  }

  // ---- batches ----

  /** Reads many records; one answer per key, in key order, null for keys that do not exist. */
  async batchGet<T = Bins>(keys: Key[], bins?: string[], policy?: ReadPolicy): Promise<(AerieRecord<T> | null)[]> {
    const binNames = bins === undefined ? undefined : checkBinNames(bins);
    return this.batch(keys, Op.BATCH_GET, policy, binNames, toBatchRecords) as Promise<(AerieRecord<T> | null)[]>;
  }

  /** Existence of many records; one answer per key, in key order, null for keys that do not exist. */
  async batchExists(keys: Key[], policy?: ReadPolicy): Promise<(ExistsResult | null)[]> {
    return this.batch(keys, Op.BATCH_EXISTS, policy, undefined, toBatchExists);
  }

  private async batch<T>(keys: Key[], op: OpCode, policy: ReadPolicy | undefined, bins: string[] | undefined, shape: (keys: Key[], body: unknown) => (T | null)[]): Promise<(T | null)[]> {
    if (!Array.isArray(keys)) throw parameterError('keys must be an array of Key');
    const wireKeys = keys.map(keyFields);
    const routing = this.routing;
    if (routing === null || routing.mapVersion === null) return this.batchOn(this.pipeline, keys, wireKeys, op, policy, bins, shape);
    // Split per connection (each key's master's endpoint, or the front), then merged in key order.
    const indexesByPipeline = new Map<Pipeline, number[]>();
    for (let index = 0; index < keys.length; index++) {
      const pipeline = routing.pipelineFor(keys[index]);
      const indexes = indexesByPipeline.get(pipeline);
      if (indexes === undefined) indexesByPipeline.set(pipeline, [index]);
      else indexes.push(index);
    }
    if (indexesByPipeline.size <= 1) return this.batchOn(indexesByPipeline.keys().next().value ?? this.pipeline, keys, wireKeys, op, policy, bins, shape);
    const results = new Array<T | null>(keys.length);
    const parts: Promise<void>[] = [];
    for (const [pipeline, indexes] of indexesByPipeline) {
      const part = this.batchOn(
        pipeline,
        indexes.map((index) => keys[index]),
        indexes.map((index) => wireKeys[index]),
        op,
        policy,
        bins,
        shape,
      );
      parts.push(part.then((answers) => indexes.forEach((index, n) => (results[index] = answers[n]))));
    }
    await Promise.all(parts);
    return results;
  }

  /** A batch on one connection. Larger batches travel as several requests; each is a read on its own and may be re-sent alone. */
  private async batchOn<T>(
    pipeline: Pipeline,
    keys: Key[],
    wireKeys: Record<string, unknown>[],
    op: OpCode,
    policy: ReadPolicy | undefined,
    bins: string[] | undefined,
    shape: (keys: Key[], body: unknown) => (T | null)[],
  ): Promise<(T | null)[]> {
    const requests: Promise<(T | null)[]>[] = [];
    for (let start = 0; start < keys.length; start += this.batchKeysMax) {
      const end = Math.min(keys.length, start + this.batchKeysMax);
      const body: Record<string, unknown> = { keys: wireKeys.slice(start, end) };
      if (bins !== undefined) body.bins = bins;
      const chunk = keys.slice(start, end);
      requests.push(this.send(pipeline, op, body, false, policy).then((reply) => shape(chunk, reply.body)));
    }
    return (await Promise.all(requests)).flat();
  }

  // ---- scans ----

  /** Every record of a namespace (or one set of it), as an async iterable fetched page by page. */
  scan<T = Bins>(ns: string, set?: string | null, options: ScanOptions = {}): ScanStream<T> {
    const request = this.scanRequest(ns, set, options);
    return new ScanStream<T>((cursor) => this.fetchScanPage<T>(ns, request, cursor, options), ownCursor(options.cursor));
  }

  /** One page of a scan; pass `cursor` back for the next page, until it is null. */
  async scanPage<T = Bins>(ns: string, set?: string | null, options: ScanOptions = {}): Promise<ScanPage<T>> {
    const request = this.scanRequest(ns, set, options);
    return this.fetchScanPage<T>(ns, request, ownCursor(options.cursor), options);
  }

  private scanRequest(ns: string, set: string | null | undefined, options: ScanOptions): Record<string, unknown> {
    const request: Record<string, unknown> = { ns: checkNamespace(ns) };
    const setName = checkSet(set);
    if (setName !== null) request.set = setName;
    if (options.pageSize !== undefined) request.pageSize = checkCount(options.pageSize, 'pageSize', 1, SCAN_PAGE_RECORDS_MAX);
    if (options.bins !== undefined) request.bins = checkBinNames(options.bins);
    if (options.cursor !== undefined && options.cursor !== null && !(options.cursor instanceof Uint8Array)) {
      throw parameterError('cursor must be bytes from an earlier scan');
    }
    return request;
  }

  private async fetchScanPage<T>(ns: string, request: Record<string, unknown>, cursor: Uint8Array | null, policy: BasePolicy): Promise<ScanPage<T>> {
    const body = cursor === null ? request : { ...request, cursor };
    return toScanPage(ns, (await this.call(Op.SCAN, body, false, policy)).body) as ScanPage<T>;
  }

  // ---- node ----

  /** The node's statistics (docs/protocol.md §11 lists the fields; NodeInfo types them). */
  async info(policy?: ReadPolicy): Promise<NodeInfo> {
    const body = (await this.call(Op.INFO, null, false, policy)).body;
    return (body ?? {}) as NodeInfo;
  }

  /**
   * Checks every stored record against the index, in a background thread of the node
   * (docs/operations.md); answers {namespaces: [{name, records, checked, changing, problemCount,
   * problems, stale}]}. It reads a whole namespace: give it a generous `timeoutMs`.
   * `policy.onProgress` is told how far it is while it runs (docs/client.md, "Progress").
   */
  async verify(ns?: string, policy?: VerifyPolicy): Promise<Record<string, unknown>> {
    const body = ns === undefined ? null : { ns: checkNamespace(ns) };
    return ((await this.progressCall(Op.VERIFY, body, false, policy)) ?? {}) as Record<string, unknown>;
  }

  /**
   * Verifies, then repairs what it found: a file namespace's damaged record is replaced by its
   * newest durable version (base snapshot, then log), unless it was written meanwhile; a memory
   * namespace's is only reported. Each namespace's answer gains `repair: {repaired, removed,
   * skipped, unrepairable, notAttempted, outcomes}` (docs/storage.md). Never retried.
   * `policy.onProgress` is told how far its verify is.
   */
  async repair(ns?: string, policy?: ProgressPolicy): Promise<Record<string, unknown>> {
    const body = ns === undefined ? { repair: true } : { ns: checkNamespace(ns), repair: true };
    return ((await this.progressCall(Op.VERIFY, body, true, policy)) ?? {}) as Record<string, unknown>;
  }

  /**
   * Deletes every record of `set` (or, without a set, of the whole namespace) last updated at or
   * before `beforeMs` (ms since 1970, a Date, or by default the node's now), as Aerospike's
   * truncate does; durable on a file namespace. Answers how many records were deleted. A write:
   * never retried, and in doubt (TIMEOUT) if a worker failed while applying it.
   */
  async truncate(ns: string, set?: string | null, options: { beforeMs?: number | Date } = {}, policy?: BasePolicy): Promise<{ deleted: number }> {
    const body: Record<string, unknown> = { ns: checkNamespace(ns) };
    const setName = checkSet(set);
    if (setName !== null) body.set = setName;
    if (options.beforeMs !== undefined) {
      const ms = options.beforeMs instanceof Date ? options.beforeMs.getTime() : options.beforeMs;
      if (!Number.isSafeInteger(ms) || ms < 0) throw parameterError('beforeMs must be a non-negative integer or a valid Date');
      body.beforeMs = ms;
    }
    const reply = (await this.call(Op.TRUNCATE, body, true, policy)).body as { deleted?: unknown } | null;
    return { deleted: typeof reply?.deleted === 'number' ? reply.deleted : 0 };
  }

  // ---- snapshots (docs/snapshots.md); none is ever retried ----

  /**
   * Takes a point-in-time snapshot of a namespace: each worker pauses only to copy its memory;
   * the node's background pool writes the files. A file namespace then starts from it after a
   * restart. Answers {id, records, bytes, elapsedMs, pauseMs, segmentsReleased}; give it a
   * generous `timeoutMs` for a large namespace. `policy.onProgress` is told how far the files are.
   */
  async createSnapshot(ns: string, policy?: ProgressPolicy): Promise<SnapshotCreated> {
    return (await this.progressCall(Op.SNAPSHOT, { action: 'create', ns: checkNamespace(ns) }, true, policy)) as SnapshotCreated;
  }

  /** The namespace's complete snapshots, oldest first; `base` marks the one cold starts load. */
  async listSnapshots(ns: string, policy?: ReadPolicy): Promise<SnapshotInfo[]> {
    const body = (await this.call(Op.SNAPSHOT, { action: 'list', ns: checkNamespace(ns) }, false, policy)).body as { snapshots: SnapshotInfo[] };
    return body.snapshots;
  }

  /**
   * Returns the namespace to exactly the snapshot's state, as one step for clients: requests
   * wait while the workers swap stores, and nobody sees a mix. Writes made since are gone.
   * `policy.onProgress` is told how far the reading of the snapshot's files is.
   */
  async restoreSnapshot(ns: string, id: string, policy?: ProgressPolicy): Promise<SnapshotRestored> {
    return (await this.progressCall(Op.SNAPSHOT, { action: 'restore', ns: checkNamespace(ns), id: checkSnapshotIdArg(id) }, true, policy)) as SnapshotRestored;
  }

  /** Deletes a snapshot; refused (FAIL_FORBIDDEN) for the base of a file namespace. */
  async deleteSnapshot(ns: string, id: string, policy?: BasePolicy): Promise<void> {
    await this.call(Op.SNAPSHOT, { action: 'delete', ns: checkNamespace(ns), id: checkSnapshotIdArg(id) }, true, policy);
  }

  /**
   * Asks a worker to fail in the given way (tests and drills): 'crash' (uncaught exception),
   * 'exit', 'hang' (busy loop), 'stall' (blocked thread), 'oom' (heap exhausted) or 'lag' (event
   * loop blocked for 2 s, heartbeat still beating); or, on that worker's logs until 'disk-ok',
   * 'disk-full' (write() fails ENOSPC), 'disk-eio', 'sync-eio' (fdatasync fails EIO) or 'disk-low'
   * (free space reads under the reserve): docs/storage.md, "A full device". The node must
   * have supervisor.faultInjection enabled, else FAIL_FORBIDDEN (22). Never retried.
   */
  async injectFault(
    fault: { worker: number; kind: 'crash' | 'exit' | 'hang' | 'stall' | 'oom' | 'lag' | 'disk-full' | 'disk-eio' | 'sync-eio' | 'disk-low' | 'disk-ok' },
    policy?: BasePolicy,
  ): Promise<void> {
    await this.call(Op.FAULT, { worker: fault.worker, kind: fault.kind }, true, policy);
  }

  /**
   * Restarts worker `worker` (one that is up is stopped first; one the node gave up on after a
   * crash loop is started again) and resolves once it is up. Never retried: PARTITION_UNAVAILABLE
   * if the node gives up on it again first, TIMEOUT if it is not up within the call's timeout.
   */
  async restartWorker(worker: number, policy?: BasePolicy): Promise<WorkerRestarted> {
    if (!Number.isSafeInteger(worker) || worker < 0) throw parameterError('worker must be a worker index');
    return (await this.call(Op.WORKER_RESTART, { worker }, true, policy)).body as WorkerRestarted;
  }

  async ping(policy?: ReadPolicy): Promise<void> {
    await this.call(Op.PING, null, false, policy);
  }

  /**
   * Closes the client. Calls still queued fail SERVER_NOT_AVAILABLE (never sent); calls in flight
   * fail CONNECTION_CLOSED, writes among them in doubt. Await your calls before closing.
   */
  async close(): Promise<void> {
    if (this.clientState === 'closed') return;
    const connection = this.connection;
    const lanesClosed = this.shutdown();
    if (connection !== null) await connection.close(CLOSE_GRACE_MS);
    await lanesClosed;
  }

  // ---- internals ----

  /** A call; one on `key` goes to its partition master's endpoint when routing by partition. */
  private call(op: OpCode, body: unknown, write: boolean, policy: ReadPolicy | undefined, acceptCode?: number, key?: Key): Promise<Reply> {
    const pipeline = key === undefined || this.routing === null ? this.pipeline : this.routing.pipelineFor(key);
    return this.send(pipeline, op, body, write, policy, acceptCode);
  }

  /**
   * An admin call on the front's connection, where the node pushes progress; with
   * `policy.onProgress` its body asks for them (`progress: true`), else it is sent as it is.
   */
  private async progressCall(op: OpCode, body: Record<string, unknown> | null, write: boolean, policy: (ProgressPolicy & ReadPolicy) | undefined): Promise<unknown> {
    const onProgress = progressCallbackOf(policy);
    const sent = onProgress === undefined ? body : { ...body, progress: true };
    return (await this.send(this.pipeline, op, sent, write, policy, undefined, onProgress)).body;
  }

  private send(pipeline: Pipeline, op: OpCode, body: unknown, write: boolean, policy: ReadPolicy | undefined, acceptCode?: number, onProgress?: ProgressCallback): Promise<Reply> {
    const encoded = encodeBody(body);
    if (encoded.length + FRAME_OVERHEAD_BYTES > this.frameBytesMax) {
      // The server would close the connection over it, failing every other call in flight.
      throw new AerieError(Status.RECORD_TOO_BIG, `request of ${encoded.length} bytes exceeds the server's frame limit of ${this.frameBytesMax}`);
    }
    return pipeline.request({
      op,
      body: encoded,
      write,
      timeoutMs: timeoutOf(policy, this.options.timeoutMs),
      maxRetries: write ? 0 : retriesOf(policy, this.options.maxRetries),
      acceptCode,
      onProgress,
    });
  }

  /** Opens a connection and says HELLO; `endpoint`: to a worker endpoint (its token is kept too). */
  private open(address: HostAddress, endpoint = false): Promise<Connection> {
    return Connection.open(address, {
      connectTimeoutMs: this.options.connectTimeoutMs,
      maxFrameBytes: this.options.maxFrameBytes,
      pingIntervalMs: this.options.pingIntervalMs,
      hello: this.auth.hello(helloRequest(CLIENT_VERSION, this.options.maxFrameBytes)),
      secure: this.options.secure,
      tls: this.options.tls,
    }).then(
      (connection) => {
        if (endpoint) this.auth.accepted(connection.server, () => this.securityRequest(Op.TOKEN, null));
        return connection;
      },
      (error: unknown) => {
        this.auth.failed(error);
        throw error;
      },
    );
  }

  /** HELLO again on the front, for the current partition map (docs/protocol.md §13). */
  private async askMap(): Promise<ServerInfo> {
    const hello = this.auth.hello(helloRequest(CLIENT_VERSION, this.options.maxFrameBytes));
    const server = ((await this.call(Op.HELLO, hello, false, undefined)).body ?? {}) as ServerInfo;
    this.auth.accepted(server, () => this.securityRequest(Op.TOKEN, null));
    return server;
  }

  /** A TOKEN, USER or ROLE request (docs/security.md; src/client/auth.ts has the typed calls). */
  async securityRequest(op: number, body: unknown, policy?: BasePolicy): Promise<unknown> {
    return (await this.call(op as OpCode, body, op !== Op.TOKEN, policy)).body;
  }

  private adopt(connection: Connection): void {
    this.connection = connection;
    this.auth.accepted(connection.server, () => this.securityRequest(Op.TOKEN, null));
    this.server = connection.server;
    this.applyServerLimits(connection.server);
    this.clientState = 'connected';
    this.reconnectAttempt = 0;
    connection.attach({
      onFrame: (frame) => this.pipeline.receive(frame),
      onClose: (error) => this.lost(connection, error),
    });
    this.pipeline.attach(connection);
    if (this.routing !== null) this.lanesOpening = this.routing.frontConnected(connection.server, connection.address.host);
    this.emit('connected', { ...connection.address, server: connection.server });
  }

  /** A connection's in-flight cap: the client's, or the node's per-connection limit if smaller. */
  private inFlightMax(server: ServerInfo): number {
    const inFlightMax = positiveNumber(server.limits?.inFlightPerConnectionMax);
    return Math.min(this.options.maxInFlight, inFlightMax ?? this.options.maxInFlight);
  }

  /** Honours the server's own caps, so the client never sends what the server would refuse. */
  private applyServerLimits(server: ServerInfo): void {
    const limits = server.limits ?? {};
    this.pipeline.setMaxInFlight(this.inFlightMax(server));
    this.batchKeysMax = Math.min(BATCH_KEYS_MAX, positiveNumber(limits.batchKeysMax) ?? BATCH_KEYS_MAX);
    this.frameBytesMax = positiveNumber(limits.frameBytesMax) ?? FRAME_BYTES_MAX_DEFAULT;
  }

  /**
   * A server push. GOAWAY: the node is shutting down. Stop sending on this connection, tell it
   * DRAINED, and let it answer what is in flight and close; then reconnect as after any loss.
   * Nothing is in doubt this way: every request sent is answered before the close.
   */
  private pushed(code: number, body: unknown): void {
    const event = body !== null && typeof body === 'object' ? (body as { event?: unknown }).event : undefined;
    if (event === 'map') {
      this.routing?.pushed(code, body);
      return;
    }
    const connection = this.connection;
    if (code !== Status.OK || event !== 'goaway' || connection === null || this.draining === connection) return;
    this.draining = connection;
    connection.send(this.pipeline.drain());
  }

  private lost(connection: Connection, error: AerieError): void {
    if (this.connection !== connection) return;
    const afterGoaway = this.draining === connection;
    this.connection = null;
    this.draining = null;
    if (!this.options.reconnect) {
      // No next connection: reads in flight cannot be re-sent, so they end with the connection.
      // After a GOAWAY the node still answers what the worker endpoints' connections carry.
      void this.shutdown(afterGoaway, true);
      this.emit('disconnected', { ...connection.address, error });
      return;
    }
    this.pipeline.detach();
    this.emit('disconnected', { ...connection.address, error });
    this.clientState = 'reconnecting';
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delayMs = reconnectDelayMs(this.reconnectAttempt++);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open(this.hosts.next()).then(
        (connection) => {
          if (this.clientState === 'closed') void connection.close(CLOSE_GRACE_MS);
          else this.adopt(connection);
        },
        (error: AerieError) => {
          if (this.clientState === 'closed') return;
          if (this.listenerCount('error') > 0) this.emit('error', error);
          this.scheduleReconnect();
        },
      );
    }, delayMs);
  }

  /**
   * Ends everything; resolves once the worker endpoints' connections are closed (`afterGoaway`:
   * once the node shutting down has answered what they carry and closed them). `lost`: the
   * connection dropped and the client does not reconnect.
   */
  private shutdown(afterGoaway = false, lost = false): Promise<void> {
    this.clientState = 'closed';
    this.auth.stop();
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.connection = null;
    const lanesClosed = this.routing?.close(afterGoaway) ?? Promise.resolve();
    this.pipeline.close(lost);
    return lanesClosed;
  }
}

function keyFields(key: Key): Record<string, unknown> {
  if (!(key instanceof Key)) throw parameterError('key must be a Key (new Key(ns, set, value))');
  return key.toWire() as unknown as Record<string, unknown>;
}

/** A copy of the caller's cursor, which they may reuse while the scan goes on. */
function ownCursor(cursor: Uint8Array | null | undefined): Uint8Array | null {
  return cursor === undefined || cursor === null ? null : copyBytes(cursor, 0, cursor.length);
}

function positiveNumber(value: unknown): number | null {
  const n = typeof value === 'bigint' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 1 ? Math.floor(n) : null;
}

/** Creates a client and opens its first connection (HELLO included). */
export async function connect(options: ClientOptions): Promise<Client> {
  return new Client(options).start();
}

export interface SnapshotCreated {
  id: string;
  records: number;
  bytes: number;
  elapsedMs: number;
  /** The longest time one worker paused to copy its memory. */
  pauseMs: number;
  segmentsReleased: number;
}

export interface SnapshotInfo {
  id: string;
  createdAtMs: number;
  records: number;
  bytes: number;
  /** Whether a cold start of the (file) namespace loads this snapshot. */
  base: boolean;
}

export interface SnapshotRestored {
  id: string;
  records: number;
  elapsedMs: number;
  /** How long requests were held while the workers swapped stores. */
  pauseMs: number;
  segmentsReleased: number;
  /**
   * True when every replica was copied from its restored master before the answer; false when
   * that took longer than RESTORE_RESYNC_WAIT_MS (it goes on; INFO shows it) or a worker is down.
   */
  replicasInSync: boolean;
}

function checkSnapshotIdArg(id: unknown): string {
  if (typeof id !== 'string' || !/^\d{13,16}$/.test(id)) throw parameterError('a snapshot id is a string of 13 to 16 digits');
  return id;
}
