// Offline repair of what checkNamespace found, with the node stopped. Each step is crash-safe and
// the whole is idempotent (a second run finds nothing left to do):
//
//   1. Copies on other workers: the partitions whose damaged records another worker holds are
//      recorded stale on the damaged worker in replicas.json (temp file, fdatasync, rename,
//      directory fsync), so the cold start masters them on the worker with the good copy and
//      rebuilds the damaged worker's copy from it. Done first: if the repair stops after it, the
//      damage is still there, the node still refuses to start, and the next run does the rest.
//   2. Damaged regions of a log or a base part: the file is rewritten without them — every valid
//      record copied byte for byte (its CRC and sequence unchanged) into `repair-<n>.tmp`,
//      fdatasync'd, renamed over the segment, directory fsync'd. A log segment left empty is
//      removed unless it is the last (the writer resumes in it). Recovery ignores the temp file;
//      the next run removes it.
//   3. A damaged snapshot manifest that is not the base: the snapshot is renamed `<id>.damaged`,
//      out of every listing, its files kept for inspection.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { PARTITION_COUNT } from '../constants';
import { readReplicaState, writeStaleCopies } from '../storage/replica-state';
import { listSegments, parseSegmentFileName, syncDirectory } from '../storage/segment-files';
import { snapshotDirectory, writeBase } from '../snapshot/files';
import type { NamespaceCheck, Problem } from './check';

export interface RepairAction {
  action: 'rebuild-from-replica' | 'cut' | 'set-aside' | 'older-base';
  file: string;
  detail: string;
}

const TEMP = /^repair-\d+\.tmp$/;
const COPY_CHUNK_BYTES = 1024 * 1024;

export function repairNamespace(dataDir: string, check: NamespaceCheck): RepairAction[] {
  const actions: RepairAction[] = [];
  const rebuild = check.problems.filter((p) => p.remedy === 'cut' && p.rebuildPartitions.length > 0);
  if (rebuild.length > 0) actions.push(markStale(dataDir, check, rebuild));
  const byFile = new Map<string, Problem[]>();
  for (const p of check.problems) {
    if (p.remedy !== 'cut') continue;
    const list = byFile.get(p.file) ?? [];
    list.push(p);
    byFile.set(p.file, list);
  }
  for (const [file, problems] of byFile) actions.push(cutRegions(file, problems));
  if (check.fallback !== null && check.base !== null) actions.push(...fallBack(dataDir, check));
  for (const p of check.problems) {
    if (p.remedy !== 'set-aside') continue;
    const dir = path.dirname(p.file);
    fs.renameSync(dir, `${dir}.damaged`);
    syncDirectory(path.dirname(dir));
    actions.push({ action: 'set-aside', file: dir, detail: `renamed to ${path.basename(dir)}.damaged` });
  }
  return actions;
}

/**
 * Makes the older snapshot the base (base.json replaced atomically), then sets the damaged one
 * aside. A crash between the two leaves a sound base and a damaged snapshot that is no longer
 * read at start; the next run sets nothing aside (it checks only the base's parts).
 */
function fallBack(dataDir: string, check: NamespaceCheck): RepairAction[] {
  const damaged = snapshotDirectory(dataDir, check.namespace, check.base!.snapshot);
  writeBase(dataDir, check.namespace, check.fallback!.base);
  fs.renameSync(damaged, `${damaged}.damaged`);
  syncDirectory(path.dirname(damaged));
  return [
    { action: 'older-base', file: path.join(check.directory, 'base.json'), detail: `the base is now snapshot ${check.fallback!.base.snapshot}, replayed with the log after it` },
    { action: 'set-aside', file: damaged, detail: `renamed to ${path.basename(damaged)}.damaged` },
  ];
}

function markStale(dataDir: string, check: NamespaceCheck, problems: Problem[]): RepairAction {
  const stale = readReplicaState(dataDir, check.namespace, check.workers)?.stale ?? Array.from({ length: check.workers }, () => new Uint8Array(PARTITION_COUNT));
  let count = 0;
  for (const p of problems) {
    for (const partition of p.rebuildPartitions) {
      if (stale[p.worker][partition] === 0) count++;
      stale[p.worker][partition] = 1;
    }
  }
  writeStaleCopies(dataDir, check.namespace, stale);
  return { action: 'rebuild-from-replica', file: path.join(check.directory, 'replicas.json'), detail: `${count} partition copies marked stale: the cold start rebuilds them from their current copy` };
}

/** Rewrites `file` without the regions of `problems` (all in that file), crash-safely. */
function cutRegions(file: string, problems: Problem[]): RepairAction {
  const directory = path.dirname(file);
  for (const name of fs.readdirSync(directory)) if (TEMP.test(name)) fs.rmSync(path.join(directory, name), { force: true });
  const regions = problems.map((p) => ({ from: p.offset, to: p.offset + p.bytes })).sort((a, b) => a.from - b.from);
  const size = fs.statSync(file).size;
  const keep: { from: number; to: number }[] = [];
  let at = 0;
  for (const r of regions) {
    if (r.from > at) keep.push({ from: at, to: r.from });
    at = Math.max(at, r.to);
  }
  if (size > at) keep.push({ from: at, to: size });
  const cutBytes = size - keep.reduce((a, k) => a + k.to - k.from, 0);
  const segmentNumber = parseSegmentFileName(path.basename(file));
  const segments = listSegments(directory);
  const isLast = segments[segments.length - 1] === segmentNumber;
  const detail = `${cutBytes} bytes in ${regions.length} region(s) cut`;
  if (keep.length === 0 && !isLast) {
    fs.rmSync(file);
    syncDirectory(directory);
    return { action: 'cut', file, detail: `${detail}; nothing valid was left, the segment was removed` };
  }
  const temp = path.join(directory, `repair-${segmentNumber}.tmp`);
  copyRanges(file, temp, keep);
  fs.renameSync(temp, file);
  syncDirectory(directory);
  return { action: 'cut', file, detail };
}

function copyRanges(from: string, to: string, ranges: { from: number; to: number }[]): void {
  const input = fs.openSync(from, 'r');
  const output = fs.openSync(to, 'w');
  try {
    const buffer = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
    let written = 0;
    for (const r of ranges) {
      for (let at = r.from; at < r.to; ) {
        const n = fs.readSync(input, buffer, 0, Math.min(buffer.length, r.to - at), at);
        if (n === 0) throw new Error(`${from}: ended at ${at}, expected ${r.to}`);
        for (let done = 0; done < n; ) done += fs.writeSync(output, buffer, done, n - done, written + done);
        written += n;
        at += n;
      }
    }
    fs.fdatasyncSync(output);
  } finally {
    fs.closeSync(input);
    fs.closeSync(output);
  }
}
