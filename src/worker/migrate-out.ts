// A master copying partitions to a rebuilding holder, a step per loop turn between its batches
// (docs/replication.md). A round sends BEGIN (the holder notes what it has of the partitions),
// then the image of every live record of them, walking the index, then END (the holder removes
// what no image confirmed: src/worker/copy-round.ts). Live writes go on
// the same channel in between, so the holder ends with exactly the master's records: a record
// written after the walk passed it is sent again by the write, one deleted is deleted again.
//
// The walk restarts when the index rehashes or the store is swapped (a restore): sending an
// image twice is harmless. It queues at most MIGRATE_CHANNEL_BYTES_MAX in the channel: live
// writes must never find it full while the holder is up, and a live write waiting for its
// replica's acknowledgement waits behind whatever the migration queued.

import { Status } from '../errors';
import type { ControlError } from './thread-messages';
import { MIGRATE_CHANNEL_BYTES_MAX, MIGRATE_STEP_SLOTS, PARTITION_COUNT } from '../constants';
import { ReplKind } from '../replication/format';
import type { RecordStore } from '../shm/record-store';
import { type StatsBlock, WorkerStat } from '../shm/stats';
import type { Namespace } from './namespace';
import { nowVoidSec } from '../shm/void-time';
import type { ReplicationOut } from './replication';
import { DiskState } from '../storage/disk-space';

interface Job {
  requestId: number;
  nsIndex: number;
  target: number;
  partitions: number[];
  marks: Uint8Array;
  begun: boolean;
  store: RecordStore | null;
  resizeEpoch: number;
  cursor: number;
  records: number;
}

export type StepResult = 'idle' | 'progress' | 'blocked';

export class Migrations {
  private readonly jobs: Job[] = [];

  constructor(
    private readonly namespaces: Namespace[],
    private readonly out: ReplicationOut,
    private readonly reply: (requestId: number, error: ControlError | null, value: unknown) => void,
    private readonly stats: StatsBlock,
  ) {}

  get active(): boolean {
    return this.jobs.length > 0;
  }

  start(requestId: number, nsIndex: number, target: number, partitions: number[]): void {
    const marks = new Uint8Array(PARTITION_COUNT);
    for (const p of partitions) marks[p] = 1;
    this.jobs.push({ requestId, nsIndex, target, partitions, marks, begun: false, store: null, resizeEpoch: -1, cursor: 0, records: 0 });
  }

  /** The target died: its rounds are void (the next thread gets them again). */
  cancel(target: number): void {
    for (let i = this.jobs.length - 1; i >= 0; i--) {
      if (this.jobs[i].target !== target) continue;
      this.reply(this.jobs[i].requestId, { code: Status.SERVER_ERROR, message: `migration to worker ${target} cancelled: it failed` }, null);
      this.jobs.splice(i, 1);
    }
  }

  /** Advances the first round by at most MIGRATE_STEP_SLOTS index slots. */
  step(nowMs: number): StepResult {
    const job = this.jobs[0];
    if (job === undefined) return 'idle';
    const ns = this.namespaces[job.nsIndex];
    // A copy is written to the holder's log on the same device: it goes only while the device is
    // above its reserve, and waits (without failing) while it is not, so a rebuild never fills
    // the disk into a crash loop. Free space is read afresh at each step, since this worker's
    // own appends do not show what the copy costs the holder.
    if (ns.log !== null) {
      ns.log.tick(nowMs, true);
      if (ns.log.diskState !== DiskState.OK) return 'idle';
    }
    // Most of the channel stays free for live writes, and little is queued ahead of them.
    const reserveFloor = this.out.ringBytes(job.target) - Math.min(MIGRATE_CHANNEL_BYTES_MAX, this.out.ringBytes(job.target) / 2);
    if (!job.begun) {
      if (this.out.freeBytes(job.target) < reserveFloor || !this.out.marker(job.target, ReplKind.BEGIN, job.nsIndex, job.partitions)) return 'blocked';
      job.begun = true;
    }
    if (job.store !== ns.store || job.resizeEpoch !== ns.store.resizeEpoch) {
      job.store = ns.store;
      job.resizeEpoch = ns.store.resizeEpoch;
      job.cursor = 0;
    }
    const store = ns.store;
    const nowVoid = nowVoidSec(nowMs);
    const limit = job.cursor + MIGRATE_STEP_SLOTS;
    let sent = 0;
    while (job.cursor >= 0 && job.cursor < limit) {
      const slot = store.nextLive(job.cursor);
      if (slot < 0) {
        job.cursor = -1;
        break;
      }
      if (job.marks[store.partitionId(slot)] !== 0) {
        const voidTime = store.voidTime(slot);
        if (voidTime === 0 || voidTime > nowVoid) {
          if (this.out.freeBytes(job.target) < reserveFloor || !this.out.image(job.target, job.nsIndex, store, slot, false)) {
            if (sent > 0) this.stats.add(WorkerStat.MIGRATED_RECORDS, sent);
            return 'blocked';
          }
          sent++;
          job.records++;
        }
      }
      job.cursor = slot + 1;
    }
    if (sent > 0) this.stats.add(WorkerStat.MIGRATED_RECORDS, sent);
    if (job.cursor >= 0) return 'progress';
    // Walked (cursor -1): END, or retry it next turn.
    if (!this.out.marker(job.target, ReplKind.END, job.nsIndex, job.partitions)) return 'blocked';
    this.jobs.shift();
    this.reply(job.requestId, null, { records: job.records });
    return 'progress';
  }
}
