// Offline check of one file namespace's directory: every worker's log, every worker's part of the
// base snapshot, and the small files that tie them together (base.json, snapshot manifests,
// sets.json, replicas.json). For each damaged region it says what the region held and what a
// repair that cuts it out would lose: a record whose digest is written again later in the same
// log is superseded (nothing lost), one that another worker's log or base holds at the same or a
// newer version is recovered from that copy (the repair makes the cold start master its partition
// there and rebuild this worker's copy from it), anything else is lost, or possibly lost when the
// region's headers no longer say what it held (then the count comes from the sequences around it).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIGEST_BYTES, OFFLINE_DIGESTS_TRACKED_MAX } from '../constants';
import { LogRecordKind, type LogRecordView } from '../storage/log-record';
import { readReplicaState } from '../storage/replica-state';
import { logDirectory } from '../storage/segment-files';
import { loadSetNames } from '../storage/set-names';
import { partDirectory, readBase, readManifest, snapshotDirectory, snapshotsDirectory, type SnapshotBase } from '../snapshot/files';
import { type Fallback, findFallback } from './fallback';
import { type DamagedRegion, scanLog } from './log-scan';

export type ProblemKind = 'torn-tail' | 'corrupt' | 'snapshot-part' | 'manifest';

export interface Problem {
  kind: ProblemKind;
  /** The worker whose log or base part is damaged; -1 for a namespace file. */
  worker: number;
  file: string;
  offset: number;
  bytes: number;
  reason: string;
  /** Records the region held: exact when its headers hang together, else from sequences. */
  records: number;
  recordsExact: boolean;
  /** Of those, written again later in the log (a cut loses nothing). */
  superseded: number;
  /** Of those, held at the same or a newer version by another worker's copy on disk. */
  onReplica: number;
  /** Records lost (or possibly lost) by cutting the region. */
  lost: number;
  /** Partitions whose copy on `worker` is rebuilt from another worker's after a repair. */
  rebuildPartitions: number[];
  /**
   * What --repair does about it: cut the region, set a damaged snapshot aside, or (a damaged
   * base) make an older snapshot the base, the log after it being complete; null when it cannot.
   */
  remedy: 'cut' | 'set-aside' | 'fallback' | null;
  /** The damaged region, for the repair (null for a namespace file). */
  region: DamagedRegion | null;
}

export interface NamespaceCheck {
  namespace: string;
  directory: string;
  workers: number;
  base: SnapshotBase | null;
  /** Valid records read in logs and base parts. */
  records: number;
  problems: Problem[];
  /** An older base that brings back the damaged base's records (null: none, or not needed). */
  fallback: Fallback | null;
}

/** Newest version seen of a tracked digest, per worker. */
interface Seen {
  lastUpdateMs: number;
  generation: number;
  /** Highest log sequence of a record of the digest in this worker's log (0: only in the base). */
  logSequence: number;
}

const WORKER_DIR = /^worker-(\d{2,})$/;

/** The file namespaces under `dataDir` (directories holding worker logs or a base). */
export function listNamespaces(dataDir: string): string[] {
  const holdsNamespace = (dir: string) => {
    try {
      return fs.readdirSync(dir).some((n) => WORKER_DIR.test(n) || n === 'base.json');
    } catch {
      return false; // unreadable: not one of ours
    }
  };
  return fs
    .readdirSync(dataDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && holdsNamespace(path.join(dataDir, e.name)))
    .map((e) => e.name)
    .sort();
}

/** Snapshot ids (complete or not: a directory named by an id) of a namespace. */
function snapshotIds(dataDir: string, ns: string): string[] {
  try {
    return fs
      .readdirSync(snapshotsDirectory(dataDir, ns))
      .filter((n) => /^\d{13,16}$/.test(n))
      .sort();
  } catch {
    return [];
  }
}

function workerCountOf(dataDir: string, ns: string, base: SnapshotBase | null): number {
  if (base !== null) return base.sequences.length;
  let highest = -1;
  for (const name of fs.readdirSync(path.join(dataDir, ns))) {
    const m = WORKER_DIR.exec(name);
    if (m !== null) highest = Math.max(highest, Number(m[1]));
  }
  return highest + 1;
}

function manifestProblem(file: string, reason: string, remedy: Problem['remedy'] = null): Problem {
  return {
    kind: 'manifest',
    worker: -1,
    file,
    offset: 0,
    bytes: 0,
    reason,
    records: 0,
    recordsExact: true,
    superseded: 0,
    onReplica: 0,
    lost: 0,
    rebuildPartitions: [],
    remedy,
    region: null,
  };
}

function attempt<T>(problems: Problem[], file: string, read: () => T): T | null {
  try {
    return read();
  } catch (err) {
    problems.push(manifestProblem(file, (err as Error).message));
    return null;
  }
}

export function checkNamespace(dataDir: string, ns: string): NamespaceCheck {
  const nsDir = path.join(dataDir, ns);
  const problems: Problem[] = [];
  const base = attempt(problems, path.join(nsDir, 'base.json'), () => readBase(dataDir, ns));
  attempt(problems, path.join(nsDir, 'sets.json'), () => loadSetNames(nsDir));
  const workers = workerCountOf(dataDir, ns, base);
  const stale = attempt(problems, path.join(nsDir, 'replicas.json'), () => readReplicaState(dataDir, ns, workers)?.stale ?? null);
  for (const id of snapshotIds(dataDir, ns)) {
    const dir = snapshotDirectory(dataDir, ns, id);
    try {
      readManifest(dir);
    } catch (err) {
      // A damaged snapshot other than the base is set aside; the base's damage stops here.
      problems.push(manifestProblem(path.join(dir, 'manifest.json'), (err as Error).message, id === base?.snapshot ? null : 'set-aside'));
    }
  }
  let baseDir: string | null = null;
  if (base !== null) {
    const dir = snapshotDirectory(dataDir, ns, base.snapshot);
    let manifest = null;
    try {
      manifest = readManifest(dir);
      if (manifest === null) problems.push(manifestProblem(dir, `the base snapshot ${base.snapshot} is missing`));
    } catch {
      // reported above, with the other manifests
    }
    if (manifest !== null) baseDir = dir;
  }
  const check: NamespaceCheck = { namespace: ns, directory: nsDir, workers, base, records: 0, problems, fallback: null };
  const damage: { worker: number; inBase: boolean; region: DamagedRegion }[] = [];
  for (let w = 0; w < workers; w++) {
    if (baseDir !== null) {
      const scan = scanLog(partDirectory(baseDir, w), false);
      check.records += scan.records;
      for (const region of scan.damage) damage.push({ worker: w, inBase: true, region });
    }
    const scan = scanLog(logDirectory(dataDir, ns, w), true);
    check.records += scan.records;
    for (const region of scan.damage) damage.push({ worker: w, inBase: false, region });
  }
  if (damage.length === 0) return check;
  const seen = findOtherVersions(
    dataDir,
    ns,
    workers,
    baseDir,
    damage.flatMap((d) => d.region.headers.map((h) => h.digest)),
  );
  for (const d of damage) problems.push(judge(d.worker, d.inBase, d.region, base?.sequences[d.worker] ?? 0, seen, stale));
  const baseDamage = problems.filter((p) => p.kind === 'snapshot-part');
  if (base !== null && baseDamage.some((p) => p.lost > 0)) {
    const damagedRecords = new Array<number>(workers).fill(0);
    for (const p of baseDamage) damagedRecords[p.worker] += p.records;
    check.fallback = findFallback(dataDir, ns, base, damagedRecords);
    for (const p of check.fallback === null ? [] : baseDamage) {
      p.remedy = 'fallback';
      p.lost = 0;
      p.rebuildPartitions = [];
    }
  }
  return check;
}

/** Per digest, per worker: the newest version any valid record of that worker holds. */
function findOtherVersions(dataDir: string, ns: string, workers: number, baseDir: string | null, digests: string[]): Map<string, (Seen | undefined)[]> {
  const seen = new Map<string, (Seen | undefined)[]>();
  for (const d of digests.slice(0, OFFLINE_DIGESTS_TRACKED_MAX)) seen.set(d, new Array(workers).fill(undefined));
  for (let w = 0; w < workers; w++) {
    const note = (fromLog: boolean) => (view: LogRecordView) => {
      if (view.kind === LogRecordKind.TRUNCATE) return;
      const versions = seen.get(Buffer.from(view.buffer.buffer, view.buffer.byteOffset + view.digestOffset, DIGEST_BYTES).toString('hex'));
      if (versions === undefined) return;
      const s = (versions[w] ??= { lastUpdateMs: 0, generation: 0, logSequence: 0 });
      if (view.lastUpdateMs > s.lastUpdateMs || (view.lastUpdateMs === s.lastUpdateMs && view.generation > s.generation)) {
        s.lastUpdateMs = view.lastUpdateMs;
        s.generation = view.generation;
      }
      if (fromLog && view.sequence > s.logSequence) s.logSequence = view.sequence;
    };
    if (baseDir !== null) scanLog(partDirectory(baseDir, w), false, note(false));
    scanLog(logDirectory(dataDir, ns, w), true, note(true));
  }
  return seen;
}

/** What cutting `region` of worker `w` (its log, or its base part) would lose. */
function judge(w: number, inBase: boolean, region: DamagedRegion, baseSequence: number, seen: Map<string, (Seen | undefined)[]>, stale: Uint8Array[] | null): Problem {
  const records = region.records;
  const problem: Problem = {
    kind: inBase ? 'snapshot-part' : region.kind,
    worker: w,
    file: region.file,
    offset: region.offset,
    bytes: region.bytes,
    reason: region.reason,
    records,
    recordsExact: region.headersComplete,
    superseded: 0,
    onReplica: 0,
    lost: 0,
    rebuildPartitions: [],
    remedy: 'cut',
    region,
  };
  // A log region whose sequences the base snapshot covers is skipped by replay anyway.
  if (!inBase && region.sequenceAfter > 0 && region.sequenceAfter - 1 <= baseSequence) {
    problem.superseded = records;
    return problem;
  }
  const rebuild = new Set<number>();
  for (const h of region.headers) {
    // A truncate marker names no digest: nothing else can stand in for it.
    if (h.kind === LogRecordKind.TRUNCATE) {
      problem.lost++;
      continue;
    }
    // This worker's copy is stale on record: the cold start rebuilds it from a current one.
    if (stale !== null && stale[w][h.partitionId] === 1) {
      problem.onReplica++;
      continue;
    }
    const versions = seen.get(h.digest);
    // Written again after the region in this worker's log: replay applies the later record.
    const after = inBase ? baseSequence : region.sequenceBefore;
    if (versions?.[w] !== undefined && versions[w]!.logSequence > after) {
      problem.superseded++;
      continue;
    }
    const copy =
      versions?.findIndex(
        (s, other) =>
          other !== w &&
          s !== undefined &&
          (stale === null || stale[other][h.partitionId] === 0) &&
          (s.lastUpdateMs > h.lastUpdateMs || (s.lastUpdateMs === h.lastUpdateMs && s.generation >= h.generation)),
      ) ?? -1;
    if (copy >= 0) {
      problem.onReplica++;
      rebuild.add(h.partitionId);
      continue;
    }
    problem.lost++;
  }
  problem.lost += records - region.headers.length;
  problem.rebuildPartitions = [...rebuild].sort((a, b) => a - b);
  return problem;
}
