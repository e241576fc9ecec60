// Snapshots of a namespace: create, list, restore, delete. One operation runs at a time per node.
//
// create:  every worker copies its store between two batches (a memcpy: its only pause), the
//          background pool writes each copy to <id>.tmp/worker-NN, the manifest goes in, and one
//          rename makes the snapshot exist. A file namespace then makes it the base of cold
//          starts (base.json, one rename) and releases the log segments it covers.
// restore: the pool builds each worker's store from the snapshot off-thread; every worker swaps it
//          in and holds its requests; the primary points its own record of the workers' memory at
//          the new stores and, for a file namespace, makes the snapshot the base (one rename: the
//          point of no return); then every worker serves again. Before that point any failure
//          puts the old stores back, so clients see the old state or the new one, never a mix.

import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { NodeConfig, NamespaceConfig } from '../config';
import { RESTORE_COMMIT_TIMEOUT_MS, SNAPSHOT_FORMAT_VERSION, SNAPSHOT_STEP_TIMEOUT_MS } from '../constants';
import { AerieError, Status } from '../errors';
import type { JobPool } from '../jobs/pool';
import type { NodeLog } from '../log';
import type { RecordStoreAdoption } from '../shm/record-store';
import type { SetRegistry } from '../shm/set-registry';
import { storeLimits } from '../shm/store-limits';
import {
  checkSnapshotId,
  compareIds,
  deleteSnapshotFiles,
  listSnapshots,
  partDirectory,
  readBase,
  readManifest,
  snapshotDirectory,
  snapshotsDirectory,
  writeBase,
  writeManifest,
  type SnapshotManifest,
} from '../snapshot/files';
import { releaseSegments } from '../snapshot/release';
import { ensureDirectory, logDirectory, syncDirectory } from '../storage/segment-files';
import type { WorkerHandle } from './worker-handle';
import { nowVoidSec } from '../shm/void-time';
import type { ProgressSink } from '../endpoint/session';
import { progressTicker, type ProgressTicker } from './progress-ticker';

interface CopyReply {
  memory: RecordStoreAdoption | null;
  sequence: number;
  records: number;
  /** The records of the partitions the worker mastered at the copy (absent from older workers). */
  masterRecords?: number;
  pauseMs: number;
}

/** What the rest of the node does around a restore's swap (src/primary/node.ts). */
export interface RestoreHooks {
  /** Before the swap: the namespace's truncates wait, and none is on its way (rejects, SERVER_ERROR, if one stays). */
  holdTruncates(nsIndex: number): Promise<void>;
  /** After the restore, committed or not: truncates go again. */
  releaseTruncates(nsIndex: number): void;
  /** At the commit, before the workers serve: cut-offs of older truncates no longer apply. */
  committing(nsIndex: number): void;
  /** Committed: the namespace's replicas are to be copied from their masters. */
  restored(nsIndex: number): void;
  /** Resolves true once every copy of the namespace is in sync, false past a bound (RESTORE_RESYNC_WAIT_MS). */
  replicasInSync(nsIndex: number): Promise<boolean>;
}

const NO_HOOKS: RestoreHooks = {
  holdTruncates: () => Promise.resolve(),
  releaseTruncates: () => undefined,
  committing: () => undefined,
  restored: () => undefined,
  replicasInSync: () => Promise.resolve(true),
};

export class SnapshotManager {
  private queue: Promise<unknown> = Promise.resolve();
  private lastId = 0;

  constructor(
    private readonly config: NodeConfig,
    private readonly workers: WorkerHandle[],
    private readonly jobs: JobPool,
    private readonly sets: SetRegistry[],
    private readonly log: NodeLog,
    private readonly hooks: RestoreHooks = NO_HOOKS,
  ) {}

  /** `onProgress`: told the copies' entries written to files, of all the copies held (docs/protocol.md, "Progress"). */
  create(ns: string, onProgress?: ProgressSink): Promise<Record<string, unknown>> {
    return this.logged('create', ns, null, () => this.serial(() => this.withProgress(onProgress, (progress) => this.doCreate(this.namespace(ns), progress))));
  }

  /** `onProgress`: told the records read from the snapshot's parts, of all the parts hold. */
  restore(ns: string, id: string, onProgress?: ProgressSink): Promise<Record<string, unknown>> {
    return this.logged('restore', ns, id, () => this.serial(() => this.withProgress(onProgress, (progress) => this.doRestore(this.namespace(ns), checkSnapshotId(id), progress))));
  }

  /** Runs an operation with a ticker when its client asked for progress; the last report precedes the answer. */
  private async withProgress<T>(onProgress: ProgressSink | undefined, run: (progress: ProgressTicker | null) => Promise<T>): Promise<T> {
    const progress = progressTicker(onProgress);
    try {
      return await run(progress);
    } finally {
      progress?.stop();
    }
  }

  /** One `snapshot` event per create, restore or delete: its figures, or its failure's code. */
  private async logged(action: 'create' | 'restore' | 'delete', ns: string, id: string | null, run: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
    const startedMs = Date.now();
    try {
      const result = await run();
      const records = typeof result.records === 'number' ? result.records : null;
      const pauseMs = typeof result.pauseMs === 'number' ? result.pauseMs : null;
      const segmentsReleased = typeof result.segmentsReleased === 'number' ? result.segmentsReleased : null;
      // The operation's own time, without its wait behind another one.
      const durationMs = typeof result.elapsedMs === 'number' ? result.elapsedMs : Date.now() - startedMs;
      const done = action === 'create' ? 'created' : action === 'restore' ? 'restored' : 'deleted';
      const figures = records === null ? '' : `: ${records} records in ${durationMs} ms (paused ${pauseMs} ms, ${segmentsReleased} log segments released)`;
      this.log.event('info', 'snapshot', `snapshot ${String(result.id)} of ${ns} ${done}${figures}`, {
        action,
        namespace: ns,
        id: String(result.id),
        records,
        durationMs,
        pauseMs,
        segmentsReleased,
        code: 0,
      });
      return result;
    } catch (err) {
      const code = err instanceof AerieError ? err.code : Status.SERVER_ERROR;
      const reason = (err as Error).message;
      this.log.event('warn', 'snapshot', `snapshot ${action} of ${ns}${id === null ? '' : ` (${id})`} failed: ${reason}`, {
        action,
        namespace: ns,
        id,
        durationMs: Date.now() - startedMs,
        reason,
        code,
      });
      throw err;
    }
  }

  list(ns: string): Record<string, unknown> {
    const { config } = this.namespace(ns);
    const base = config.storage === 'file' ? readBase(config.dataDir, config.name) : null;
    return {
      snapshots: listSnapshots(config.dataDir, config.name).map((m) => ({
        id: m.id,
        createdAtMs: m.createdAtMs,
        records: m.records,
        bytes: m.bytes,
        base: m.id === base?.snapshot,
      })),
    };
  }

  delete(ns: string, id: string): Promise<Record<string, unknown>> {
    return this.logged('delete', ns, id, () => this.doDelete(ns, id));
  }

  private doDelete(ns: string, id: string): Promise<Record<string, unknown>> {
    return this.serial(async () => {
      const { config } = this.namespace(ns);
      checkSnapshotId(id);
      if (readManifest(snapshotDirectory(config.dataDir, config.name, id)) === null) throw new AerieError(Status.PARAMETER, `no snapshot ${id} of namespace ${ns}`);
      if (config.storage === 'file' && readBase(config.dataDir, config.name)?.snapshot === id) {
        throw new AerieError(Status.FAIL_FORBIDDEN, `snapshot ${id} is the base of namespace ${ns}'s cold start (the log it covers was released); create a newer one first`);
      }
      deleteSnapshotFiles(config.dataDir, config.name, id);
      return { id };
    });
  }

  private async doCreate({ index, config }: { index: number; config: NamespaceConfig }, progress: ProgressTicker | null): Promise<Record<string, unknown>> {
    const started = performance.now();
    const id = this.newId(config);
    const dir = snapshotDirectory(config.dataDir, config.name, id);
    const tmp = `${dir}.tmp`;
    ensureDirectory(tmp);
    let manifest: SnapshotManifest;
    let pauseMs = 0;
    try {
      // Every worker copies at about the same moment; each copy is one point of its request order.
      const copies = (await Promise.all(this.workers.map((w) => w.control({ type: 'snapshot', nsIndex: index }, SNAPSHOT_STEP_TIMEOUT_MS)))) as CopyReply[];
      pauseMs = Math.max(...copies.map((c) => c.pauseMs));
      const limits = storeLimits(config, this.workers.length);
      const progressSabs = copies.map((c) => progress?.expect(c.records));
      progress?.start();
      const parts = [];
      for (let w = 0; w < copies.length; w++) {
        const written = await this.jobs.snapshotWrite({
          memory: copies[w].memory!,
          limits,
          directory: partDirectory(tmp, w),
          recordBytesMax: config.recordBytesMax,
          nowVoid: nowVoidSec(Date.now()),
          progressSab: progressSabs[w],
        });
        copies[w].memory = null; // the copy's memory goes as soon as its part is written
        parts.push({ records: written.records, bytes: written.bytes, sequence: copies[w].sequence });
      }
      const registry = this.sets[index];
      manifest = {
        format: SNAPSHOT_FORMAT_VERSION,
        id,
        namespace: config.name,
        createdAtMs: Date.now(),
        sets: Array.from({ length: registry.size }, (_, i) => registry.nameOf(i + 1)),
        // Each record once (a replica's copy is in its worker's part too, not counted again).
        workers: parts,
        records: copies.reduce((a, c) => a + (c.masterRecords ?? c.records), 0),
        bytes: parts.reduce((a, p) => a + p.bytes, 0),
      };
      writeManifest(tmp, manifest);
      fs.renameSync(tmp, dir);
      syncDirectory(snapshotsDirectory(config.dataDir, config.name));
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    let released = 0;
    if (config.storage === 'file') {
      const sequences = manifest.workers.map((p) => p.sequence);
      writeBase(config.dataDir, config.name, { snapshot: id, sequences });
      released = this.releaseLogs(config, sequences);
    }
    const elapsedMs = Math.round(performance.now() - started);
    return { id, records: manifest.records, bytes: manifest.bytes, elapsedMs, pauseMs: Math.round(pauseMs * 10) / 10, segmentsReleased: released };
  }

  private async doRestore({ index, config }: { index: number; config: NamespaceConfig }, id: string, progress: ProgressTicker | null): Promise<Record<string, unknown>> {
    const started = performance.now();
    const dir = snapshotDirectory(config.dataDir, config.name, id);
    const manifest = readManifest(dir);
    if (manifest === null) throw new AerieError(Status.PARAMETER, `no snapshot ${id} of namespace ${config.name}`);
    if (manifest.workers.length !== this.workers.length) {
      throw new AerieError(Status.PARAMETER, `snapshot ${id} was taken with ${manifest.workers.length} workers; this node has ${this.workers.length}`);
    }
    // The snapshot's set ids, in this node's numbering (new names are registered).
    const registry = this.sets[index];
    const setIds = [0, ...manifest.sets.map((name) => registry.assign(name))];
    if (setIds.includes(-1)) throw new AerieError(Status.PARAMETER, "the namespace has no room for the snapshot's sets");
    const limits = storeLimits(config, this.workers.length);
    const progressSabs = manifest.workers.map((part) => progress?.expect(part.records));
    progress?.start();
    const built: { memory: RecordStoreAdoption; records: number }[] = [];
    for (let w = 0; w < this.workers.length; w++) {
      built.push(await this.jobs.snapshotBuild({ limits, directory: partDirectory(dir, w), nowVoid: nowVoidSec(Date.now()), setIds, progressSab: progressSabs[w] }));
    }

    await this.hooks.holdTruncates(index).catch((err: unknown) => {
      this.hooks.releaseTruncates(index);
      throw err;
    });
    let result: Record<string, unknown>;
    try {
      result = await this.swapAndCommit(index, config, id, manifest, built, started);
    } finally {
      this.hooks.releaseTruncates(index);
    }
    // Answered once every replica is copied from its restored master, within a bound: the restore
    // itself is done either way, and the answer says whether redundancy is whole yet.
    result.replicasInSync = await this.hooks.replicasInSync(index);
    return result;
  }

  private async swapAndCommit(
    index: number,
    config: NamespaceConfig,
    id: string,
    manifest: SnapshotManifest,
    built: { memory: RecordStoreAdoption }[],
    started: number,
  ): Promise<Record<string, unknown>> {
    // Swap: from here until the commit every worker holds its requests.
    const swapStarted = performance.now();
    const swaps = await Promise.allSettled(this.workers.map((w, i) => w.control({ type: 'restore-swap', nsIndex: index, memory: built[i].memory }, RESTORE_COMMIT_TIMEOUT_MS)));
    const failed = swaps.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed !== undefined) {
      await this.abortRestore(
        index,
        swaps.map((s) => s.status === 'fulfilled'),
      );
      throw new AerieError(Status.SERVER_ERROR, `restore of ${id} abandoned, the namespace is unchanged: ${String(failed.reason?.message ?? failed.reason)}`);
    }
    const sequences = swaps.map((s) => ((s as PromiseFulfilledResult<unknown>).value as { sequence: number }).sequence);
    // A worker that dies from here on must come back with the restored store.
    const previous = this.workers.map((w) => w.stores[index]);
    this.workers.forEach((w, i) => {
      const m = built[i].memory;
      w.stores[index] = { indexSab: m.indexSab, controlSab: m.controlSab, arenaStatsSab: m.arenaStatsSab, blocks: m.blocks.map((b) => b ?? null) as SharedArrayBuffer[] };
    });
    if (config.storage === 'file') {
      try {
        writeBase(config.dataDir, config.name, { snapshot: id, sequences });
      } catch (err) {
        this.workers.forEach((w, i) => (w.stores[index] = previous[i]));
        await this.abortRestore(
          index,
          this.workers.map(() => true),
        );
        throw new AerieError(Status.SERVER_ERROR, `restore of ${id} abandoned, the namespace is unchanged: ${(err as Error).message}`);
      }
    }
    // The restore is durable: serve again. A worker that died meanwhile comes back adopting the
    // restored store (set above), so a failed commit changes nothing. Each worker forgets the
    // namespace's truncate cut-offs at its commit (the restored records may be older), and so
    // does what the primary gives workers that start from now on.
    this.hooks.committing(index);
    await Promise.allSettled(this.workers.map((w) => w.control({ type: 'restore-commit', nsIndex: index }, RESTORE_COMMIT_TIMEOUT_MS)));
    const pauseMs = performance.now() - swapStarted;
    const released = config.storage === 'file' ? this.releaseLogs(config, sequences) : 0;
    // Each worker's part held its copies from a moment of its own: replicas are copied again from
    // their masters, so that every holder ends identical (writes go on meanwhile).
    this.hooks.restored(index);
    const records = manifest.records;
    const elapsedMs = Math.round(performance.now() - started);
    return { id, records, elapsedMs, pauseMs: Math.round(pauseMs * 10) / 10, segmentsReleased: released };
  }

  private async abortRestore(index: number, swapped: boolean[]): Promise<void> {
    await Promise.allSettled(this.workers.filter((_, i) => swapped[i]).map((w) => w.control({ type: 'restore-abort', nsIndex: index }, RESTORE_COMMIT_TIMEOUT_MS)));
  }

  private releaseLogs(config: NamespaceConfig, sequences: number[]): number {
    let released = 0;
    sequences.forEach((sequence, w) => {
      released += releaseSegments(logDirectory(config.dataDir, config.name, w), sequence).length;
    });
    return released;
  }

  /** A new id: the creation time in ms, made unique and increasing. */
  private newId(config: NamespaceConfig): string {
    const existing = listSnapshots(config.dataDir, config.name)
      .map((m) => m.id)
      .sort(compareIds);
    const last = existing.length > 0 ? Number(existing[existing.length - 1]) : 0;
    this.lastId = Math.max(Date.now(), last + 1, this.lastId + 1);
    return String(this.lastId);
  }

  private namespace(ns: string): { index: number; config: NamespaceConfig } {
    const index = this.config.namespaces.findIndex((n) => n.name === ns);
    if (index < 0) throw new AerieError(Status.INVALID_NAMESPACE, `namespace '${ns}' is not configured`);
    return { index, config: this.config.namespaces[index] };
  }

  /** Runs one operation after the previous one ended, whatever its outcome. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
