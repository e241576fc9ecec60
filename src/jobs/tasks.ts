// Entry point of the background pool's threads: each export is a task piscina can run by name.
import { compactLog, failedReport, type CompactionInput, type CompactionReport } from './compaction';
import { verifyStore, type VerifyInput, type VerifyReport } from './verify';
import { buildStore, writePart, type BuildStoreInput, type WritePartInput } from '../snapshot/parts';
import { collectVersions, type CollectInput, type CollectedVersion } from './repair';

export function verify(input: VerifyInput): VerifyReport {
  return verifyStore(input);
}

/** Never rejects: a failure comes back as a report carrying its code. */
export async function compact(input: CompactionInput): Promise<CompactionReport> {
  try {
    return await compactLog(input);
  } catch (err) {
    return failedReport(input.directory, err);
  }
}

/** Writes one worker's part of a snapshot from a frozen copy of its store. */
export function snapshotWrite(input: WritePartInput): Promise<{ records: number; bytes: number }> {
  return writePart(input);
}

/** Builds a store from one worker's part of a snapshot, for a restore to swap in. */
export function snapshotBuild(input: BuildStoreInput): ReturnType<typeof buildStore> {
  return buildStore(input);
}

/** Reads the newest durable version of each damaged record, for a repair. */
export function repairCollect(input: CollectInput): CollectedVersion[] {
  return collectVersions(input);
}
