// One flush per session per event-loop turn: the answers a turn produced leave in as few frames
// as they fit, on every endpoint (the primary's front and each worker's).

import type { Session } from './session';

/** Sessions with output this turn, each flushed once after the turn's messages are handled. */
export class FlushQueue {
  private readonly pending: Session[] = [];
  private scheduled = false;
  /** Made once: a closure per turn would be one more allocation on every turn with answers. */
  private readonly flushLater = () => this.flushAll();

  schedule(session: Session): void {
    this.pending.push(session);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushLater);
    }
  }

  flushAll(): void {
    this.scheduled = false;
    for (const s of this.pending) s.flush();
    this.pending.length = 0;
  }
}
