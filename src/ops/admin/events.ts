// The recent events the admin page lists: the primary's log lines at info and above (worker
// failures, failovers, rebuilds, restarts, snapshots, compaction, …) with their fields, kept in a
// bounded ring. The log is tapped, not changed: every line still goes where log.file says, and
// an event logged with fields of its own (an `event` name, a worker, partitions, …) keeps them.

import { ADMIN_EVENTS_MAX } from '../../constants';
import type { LogFields, NodeLog } from '../../log';

export interface RecentEvent {
  /** Increases by one per event: a page asks for what came after the last it saw. */
  seq: number;
  timeMs: number;
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields | null;
}

export class RecentEvents {
  private readonly ring: (RecentEvent | undefined)[] = new Array(ADMIN_EVENTS_MAX);
  private nextSeq = 1;

  add(level: RecentEvent['level'], message: string, fields?: LogFields): void {
    const seq = this.nextSeq++;
    this.ring[seq % ADMIN_EVENTS_MAX] = { seq, timeMs: Date.now(), level, message, fields: fields ?? null };
  }

  /** The events after `seq` still kept, oldest first. */
  since(seq: number): RecentEvent[] {
    const out: RecentEvent[] = [];
    for (let s = Math.max(seq + 1, this.nextSeq - ADMIN_EVENTS_MAX); s < this.nextSeq; s++) {
      const e = this.ring[s % ADMIN_EVENTS_MAX];
      if (e !== undefined && e.seq === s) out.push(e);
    }
    return out;
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }
}

/** `log` with every line at info and above also kept in `events`. */
export function tapLog(log: NodeLog, events: RecentEvents): NodeLog {
  return {
    debug: log.debug,
    info: (message, fields) => {
      events.add('info', message, fields);
      log.info(message, fields);
    },
    warn: (message, fields) => {
      events.add('warn', message, fields);
      log.warn(message, fields);
    },
    error: (message, fields) => {
      events.add('error', message, fields);
      log.error(message, fields);
    },
    event: (level, event, message, fields) => {
      if (level !== 'debug') events.add(level, message, { event, ...fields });
      log.event(level, event, message, fields);
    },
  };
}
