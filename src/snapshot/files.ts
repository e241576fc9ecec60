// Where snapshots live and the small files that say which exist and which one a cold start builds
// on. Everything that switches state is one rename of a file or directory written and synced
// beforehand, so a crash at any step leaves the old state or the new one, never a mix.
//
//   <dataDir>/<ns>/snapshots/<id>/manifest.json     a complete snapshot (the rename made it so)
//   <dataDir>/<ns>/snapshots/<id>/worker-NN/seg-*    its records, in the log's record format
//   <dataDir>/<ns>/snapshots/<id>.tmp/               being written: ignored, removed at start-up
//   <dataDir>/<ns>/snapshots/<id>.deleting/          being deleted: ignored, removed at start-up
//   <dataDir>/<ns>/base.json                         file namespaces: the snapshot a cold start
//                                                    loads, and per worker the last log sequence
//                                                    it covers (replay starts after it)

import * as fs from 'node:fs';
import * as path from 'node:path';
import { AerieError, Status } from '../errors';
import { SNAPSHOT_FORMAT_VERSION } from '../constants';
import { syncDirectory, writeFileAtomic } from '../storage/segment-files';

export interface SnapshotPartSummary {
  records: number;
  bytes: number;
  /** The worker's last log sequence when its memory was copied (0 for a memory namespace). */
  sequence: number;
}

export interface SnapshotManifest {
  format: number;
  id: string;
  namespace: string;
  createdAtMs: number;
  /** Set names in id order (id 1 first): restore maps them to the node's ids of the day. */
  sets: string[];
  workers: SnapshotPartSummary[];
  records: number;
  bytes: number;
}

export interface SnapshotBase {
  snapshot: string;
  /** Per worker: log records up to this sequence are in the snapshot (or superseded by it). */
  sequences: number[];
}

const MANIFEST = 'manifest.json';
const BASE = 'base.json';
const ID_PATTERN = /^\d{13,16}$/;

export function snapshotsDirectory(dataDir: string, ns: string): string {
  return path.join(dataDir, ns, 'snapshots');
}

export function snapshotDirectory(dataDir: string, ns: string, id: string): string {
  return path.join(snapshotsDirectory(dataDir, ns), id);
}

export function partDirectory(snapshotDir: string, workerIndex: number): string {
  return path.join(snapshotDir, `worker-${String(workerIndex).padStart(2, '0')}`);
}

/** Refuses anything but a snapshot id (digits): ids become paths. */
export function checkSnapshotId(id: unknown): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new AerieError(Status.PARAMETER, `not a snapshot id: ${String(id)}`);
  return id;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AerieError(Status.SERVER_ERROR, `cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new AerieError(Status.SERVER_ERROR, `${file} is not valid JSON`);
  }
}

export function writeManifest(snapshotDir: string, manifest: SnapshotManifest): void {
  writeFileAtomic(path.join(snapshotDir, MANIFEST), JSON.stringify(manifest, null, 1));
}

/** The manifest of a complete snapshot, or null when there is no such snapshot. */
export function readManifest(snapshotDir: string): SnapshotManifest | null {
  const m = readJson(path.join(snapshotDir, MANIFEST)) as SnapshotManifest | undefined;
  if (m === undefined) return null;
  const ok =
    m !== null &&
    typeof m === 'object' &&
    m.format === SNAPSHOT_FORMAT_VERSION &&
    typeof m.id === 'string' &&
    Array.isArray(m.sets) &&
    Array.isArray(m.workers) &&
    m.workers.every((w) => Number.isSafeInteger(w?.sequence) && Number.isSafeInteger(w?.records));
  if (!ok) throw new AerieError(Status.SERVER_ERROR, `${path.join(snapshotDir, MANIFEST)} is not a snapshot manifest of format ${SNAPSHOT_FORMAT_VERSION}`);
  return m;
}

/** Complete snapshots of a namespace, oldest first. */
export function listSnapshots(dataDir: string, ns: string): SnapshotManifest[] {
  const dir = snapshotsDirectory(dataDir, ns);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const manifests: SnapshotManifest[] = [];
  for (const name of names.filter((n) => ID_PATTERN.test(n)).sort(compareIds)) {
    const m = readManifest(path.join(dir, name));
    if (m !== null) manifests.push(m);
  }
  return manifests;
}

/** Numeric order of ids of possibly different lengths. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** Removes what a crash left half written or half deleted; returns how many. */
export function removeIncomplete(dataDir: string, ns: string): number {
  const dir = snapshotsDirectory(dataDir, ns);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!name.endsWith('.tmp') && !name.endsWith('.deleting')) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    removed++;
  }
  if (removed > 0) syncDirectory(dir);
  return removed;
}

export function readBase(dataDir: string, ns: string): SnapshotBase | null {
  const file = path.join(dataDir, ns, BASE);
  const b = readJson(file) as SnapshotBase | undefined;
  if (b === undefined) return null;
  if (b === null || typeof b !== 'object' || typeof b.snapshot !== 'string' || !Array.isArray(b.sequences) || !b.sequences.every(Number.isSafeInteger)) {
    throw new AerieError(Status.SERVER_ERROR, `${file} is not a snapshot base`);
  }
  return b;
}

export function writeBase(dataDir: string, ns: string, base: SnapshotBase): void {
  writeFileAtomic(path.join(dataDir, ns, BASE), JSON.stringify(base));
}

/** Moves a snapshot out of sight in one rename, then removes its files. */
export function deleteSnapshotFiles(dataDir: string, ns: string, id: string): void {
  const dir = snapshotDirectory(dataDir, ns, id);
  const doomed = `${dir}.deleting`;
  fs.renameSync(dir, doomed);
  syncDirectory(path.dirname(dir));
  fs.rmSync(doomed, { recursive: true, force: true });
}
