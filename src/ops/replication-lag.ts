// Replication lag as a time, per channel (master worker → replica worker). A channel carries no
// timestamps, so the primary samples each channel's written position every
// REPLICATION_LAG_SAMPLE_MS and keeps the last REPLICATION_LAG_SAMPLES: the lag is how long ago
// the master had written no more than what the replica has acknowledged now (0 when it has
// acknowledged everything). Resolution: one sample period; a lag longer than the samples kept
// reads as their span. Positions are free-running u32 byte counts, compared modulo 2^32.

import { REPLICATION_LAG_SAMPLES } from '../constants';

export interface ChannelPositions {
  from: number;
  to: number;
  /** Bytes the master has written into the channel (free-running u32). */
  written: number;
  /** Bytes the replica has acknowledged (free-running u32). */
  acknowledged: number;
}

interface Samples {
  times: Float64Array;
  written: Uint32Array;
  next: number;
  count: number;
}

/** `a` is at or before `b` on the u32 circle. */
const atOrBefore = (a: number, b: number) => (b - a) >>> 0 < 2 ** 31;

export class ReplicationLag {
  private readonly channels = new Map<string, Samples>();

  /** Records where every channel's master has written to, at `nowMs`. */
  sample(channels: ReadonlyArray<ChannelPositions>, nowMs: number): void {
    for (const c of channels) {
      const key = `${c.from}>${c.to}`;
      let s = this.channels.get(key);
      if (s === undefined) {
        s = { times: new Float64Array(REPLICATION_LAG_SAMPLES), written: new Uint32Array(REPLICATION_LAG_SAMPLES), next: 0, count: 0 };
        this.channels.set(key, s);
      }
      s.times[s.next] = nowMs;
      s.written[s.next] = c.written >>> 0;
      s.next = (s.next + 1) % REPLICATION_LAG_SAMPLES;
      s.count = Math.min(s.count + 1, REPLICATION_LAG_SAMPLES);
    }
  }

  /** The channel's lag in ms at `nowMs` (0 when caught up or never sampled). */
  lagMs(c: ChannelPositions, nowMs: number): number {
    if (c.acknowledged >>> 0 === c.written >>> 0) return 0;
    const s = this.channels.get(`${c.from}>${c.to}`);
    if (s === undefined || s.count === 0) return 0;
    let oldest = nowMs;
    // Newest first: the first sample the replica has acknowledged fully is when its backlog began.
    for (let i = 1; i <= s.count; i++) {
      const at = (s.next - i + REPLICATION_LAG_SAMPLES) % REPLICATION_LAG_SAMPLES;
      if (atOrBefore(s.written[at], c.acknowledged >>> 0)) return Math.max(0, nowMs - s.times[at]);
      oldest = s.times[at];
    }
    return Math.max(0, nowMs - oldest);
  }
}
