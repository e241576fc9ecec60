// Shared helpers for the compaction tests (not a test itself): a stand-in for one worker of a
// file namespace — a real record store, a real NamespaceLog publishing real watermarks, writes
// applied in the worker's order (store, then log, inside a drain) — and a model replay of a log
// directory that states what a cold start would rebuild, to compare before and after a job.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { parseConfig, type NamespaceConfig } from '../../../src/config';
import { CITRUSLEAF_EPOCH_SEC } from '../../../src/constants';
import type { CompactionInput } from '../../../src/jobs/compaction';
import { RecordStore } from '../../../src/shm/record-store';
import { LogWatermarks, StatsBlock } from '../../../src/shm/stats';
import { LogRecordKind, TRUNCATE_ALL_SETS } from '../../../src/storage/log-record';
import { recoverLog } from '../../../src/storage/recovery';
import { listSegments, logDirectory, segmentFileName } from '../../../src/storage/segment-files';
import { NamespaceLog } from '../../../src/worker/persistence';
import type { Random } from '../../helpers/values';

export const nowVoid = (): number => Math.floor(Date.now() / 1000) - CITRUSLEAF_EPOCH_SEC;

export function digestOf(key: number): Uint8Array {
  return new Uint8Array(createHash('sha1').update(`compaction-key-${key}`).digest());
}

export function makeDataDir(t: { teardown(fn: () => void): void }, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `aerie-${prefix}-`));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function namespaceConfig(dataDir: string, segmentBytes = 4096): NamespaceConfig {
  return parseConfig({ namespaces: [{ name: 'ns', storage: 'file', dataDir, segmentBytes, recordBytesMax: 1024 }] }).namespaces[0];
}

export interface PutOptions {
  voidTime?: number;
  setId?: number;
  binsBytes?: number;
}

/**
 * A seeded mix of writes to `keys` keys: puts (sets 1 and 2), deletes, already expired puts and
 * truncates of set 2, with a flush now and then; then a final flush and an expiry sweep, as the
 * worker's background would run it.
 */
export async function randomWorkload(w: WorkerStandIn, random: Random, operations: number, keys: number): Promise<void> {
  for (let i = 0; i < operations; i++) {
    const key = random.below(keys);
    const roll = random.below(100);
    const binsBytes = 20 + random.below(200);
    if (roll < 9) w.remove(key);
    else if (roll < 13) w.put(key, { voidTime: nowVoid() - 1, binsBytes });
    else if (roll < 14) w.truncate(2, Date.now());
    else w.put(key, { setId: 1 + random.below(2), binsBytes });
    if (random.below(50) === 0) await w.flush();
  }
  await w.flush();
  w.store.sweepExpired(nowVoid(), 0, w.store.index.capacity);
}

/** One worker's namespace: store, log and watermarks, written to the way the worker does. */
export class WorkerStandIn {
  readonly config: NamespaceConfig;
  readonly directory: string;
  readonly store: RecordStore;
  readonly stats = StatsBlock.create(1);
  readonly marks: LogWatermarks;
  readonly log: NamespaceLog;
  private version = 0;

  constructor(dataDir: string, segmentBytes = 4096) {
    this.config = namespaceConfig(dataDir, segmentBytes);
    this.directory = logDirectory(dataDir, 'ns', 0);
    this.store = RecordStore.create({ memoryBytesMax: 1 << 28, blockBytes: 1 << 16 });
    this.marks = new LogWatermarks(this.stats, 0);
    this.log = NamespaceLog.open(this.config, 0, this.store, false, nowVoid(), this.marks).log;
  }

  /** A new version of `key`: its generation goes up, its bins name the version. */
  put(key: number, options: PutOptions = {}): void {
    this.drain(() => {
      const digest = digestOf(key);
      const slot = this.store.lookup(digest, 0);
      const generation = slot < 0 ? 1 : this.store.generation(slot) + 1;
      const bins = Buffer.alloc(options.binsBytes ?? 60, `v${++this.version}k${key};`);
      this.store.write(digest, 0, generation, options.setId ?? 1, options.voidTime ?? 0, Date.now() + this.version / 1024, null, 0, 0, bins, 0, bins.length);
      this.log.logPut(this.store, this.store.lookup(digest, 0));
    });
  }

  remove(key: number): void {
    this.drain(() => {
      const slot = this.store.lookup(digestOf(key), 0);
      if (slot < 0) return;
      this.log.logDelete(this.store, slot);
      this.store.remove(slot);
    });
  }

  truncate(setId: number, beforeMs: number): void {
    this.drain(() => {
      this.log.logTruncate(setId, beforeMs);
      this.store.truncate(setId === TRUNCATE_ALL_SETS ? -1 : setId, beforeMs);
    });
  }

  /** Writes under an open drain mark, as the worker does, leaving the mark open. */
  applyUnderOpenDrain(fn: () => void): () => void {
    this.marks.beginDrain();
    fn();
    return () => this.marks.endDrain(this.log.writer.lastSequence);
  }

  flush(): Promise<void> {
    return this.log.flush();
  }

  jobInput(overrides: Partial<CompactionInput> = {}): CompactionInput {
    return {
      directory: this.directory,
      indexSab: this.store.index.sab,
      controlSab: this.store.controlSab,
      blocks: this.store.arena.blocks(),
      statsSab: this.stats.sab,
      namespaceCount: 1,
      nsIndex: 0,
      liveRatioMax: 0.5,
      segmentBytes: this.config.segmentBytes,
      durableWaitMsMax: 2000,
      ...overrides,
    };
  }

  /** What the store holds, in the model's terms. */
  storeState(): Map<string, string> {
    const state = new Map<string, string>();
    const digest = Buffer.alloc(20);
    for (let slot = this.store.nextLive(0); slot >= 0; slot = this.store.nextLive(slot + 1)) {
      this.store.copyDigest(slot, digest, 0);
      state.set(digest.toString('hex'), describe(this.store.generation(slot), this.store.setId(slot), this.store.lastUpdateMs(slot), Buffer.from(this.store.binsBytes(slot))));
    }
    return state;
  }

  close(): Promise<void> {
    return this.log.close();
  }

  private drain(fn: () => void): void {
    this.marks.beginDrain();
    fn();
    this.marks.endDrain(this.log.writer.lastSequence);
  }
}

function describe(generation: number, setId: number, lastUpdateMs: number, bins: Buffer): string {
  return `g${generation} s${setId} t${lastUpdateMs} ${bins.toString('latin1')}`;
}

/**
 * What a cold start rebuilds from `directory`, as the worker's replay does it: a put replaces, a
 * tombstone or an expired put deletes, a truncate marker deletes its set's records last updated
 * at or before it. Reads only (no torn-tail cut).
 */
export function replayState(directory: string): Map<string, string> {
  const state = new Map<string, { setId: number; lastUpdateMs: number; text: string }>();
  const now = nowVoid();
  recoverLog({
    directory,
    truncateTornTail: false,
    onRecord: (view) => {
      const hex = Buffer.from(view.buffer.subarray(view.digestOffset, view.digestOffset + 20)).toString('hex');
      if (view.kind === LogRecordKind.TRUNCATE) {
        for (const [k, v] of state) {
          if ((view.setId === TRUNCATE_ALL_SETS || v.setId === view.setId) && v.lastUpdateMs <= view.lastUpdateMs) state.delete(k);
        }
      } else if (view.kind === LogRecordKind.TOMBSTONE || (view.voidTime !== 0 && view.voidTime <= now)) {
        state.delete(hex);
      } else {
        const bins = Buffer.from(view.buffer.subarray(view.binsStart, view.binsEnd));
        state.set(hex, { setId: view.setId, lastUpdateMs: view.lastUpdateMs, text: describe(view.generation, view.setId, view.lastUpdateMs, bins) });
      }
    },
  });
  return new Map([...state].map(([k, v]) => [k, v.text]));
}

/** Total bytes of the directory's segments (one a running job removes meanwhile counts 0). */
export function logBytes(directory: string): number {
  return listSegments(directory).reduce((sum, n) => sum + (fs.statSync(path.join(directory, segmentFileName(n)), { throwIfNoEntry: false })?.size ?? 0), 0);
}

/** Copies a log directory (segments and all) to a fresh sibling. */
export function copyDirectory(from: string, to: string): void {
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true });
}

/** Map equality that names the first difference. */
export function firstDifference(a: Map<string, string>, b: Map<string, string>): string | null {
  if (a.size !== b.size) return `${a.size} records versus ${b.size}`;
  for (const [k, v] of a) if (b.get(k) !== v) return `${k}: ${v} versus ${b.get(k)}`;
  return null;
}
