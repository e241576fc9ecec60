// The simulation's model of the documented semantics: for every key, the set of values a read may
// find now. An acknowledged write narrows the set to its value; a write in doubt adds its value
// (it may or may not have happened); a failed write changes nothing. Admin operations map the
// sets as docs/snapshots.md, docs/backup.md and the truncate contract say, and a quiescent read
// narrows each set to what it found, since nothing in doubt can land after the node is quiet.

/** What a key may hold: a bin value, or null for "no record". */
export type Value = number | null;
export type Outcome = 'ok' | 'doubt' | 'failed';

const HISTORY_PER_KEY_MAX = 12;

/** One namespace's model: per key, the values a read may find, and when each value was written. */
export class NamespaceModel {
  readonly ns: string;
  readonly keyCount: number;
  /** Survives a kill -9 of the node (a file namespace) or not (memory). */
  readonly durable: boolean;
  private allowed: Set<Value>[];
  /** The last few writes of each key with how they ended, for a failure's story. */
  private readonly history: string[][];
  /**
   * When each value was last written (ms since 1970, earliest and latest possible), for
   * truncate-before: a backup restore writes a value again, later than its first write.
   */
  private readonly writtenAtMs = new Map<number, [number, number]>();

  constructor(ns: string, keyCount: number, durable: boolean) {
    this.ns = ns;
    this.keyCount = keyCount;
    this.durable = durable;
    this.allowed = Array.from({ length: keyCount }, () => new Set<Value>([null]));
    this.history = Array.from({ length: keyCount }, () => []);
  }

  /** The key's recent writes and the events that changed what it may hold. */
  story(key: number): string {
    return this.history[key].join(' ');
  }

  private note(key: number, event: string): void {
    const h = this.history[key];
    h.push(event);
    if (h.length > HISTORY_PER_KEY_MAX) h.shift();
  }

  allowedFor(key: number): Value[] {
    return [...this.allowed[key]];
  }

  /** Whether a read may find `value` at `key` now. */
  permits(key: number, value: Value): boolean {
    return this.allowed[key].has(value);
  }

  /** A write of `value` (null: a delete) was sent at `sentAtMs` and ended with `outcome`. */
  write(key: number, value: Value, outcome: Outcome, sentAtMs: number, code?: number): void {
    this.note(key, `${value}:${outcome}${code === undefined ? '' : `(${code})`}@${sentAtMs % 100_000}`);
    if (value !== null) this.writtenAtMs.set(value, [sentAtMs, sentAtMs]);
    if (outcome === 'ok') this.allowed[key] = new Set([value]);
    else if (outcome === 'doubt') this.allowed[key].add(value);
  }

  /** A read of the quiet node found `value`: from now on that is the only value. */
  settle(key: number, value: Value): void {
    if (this.allowed[key].size > 1) this.note(key, `settled:${value}`);
    this.allowed[key] = new Set([value]);
  }

  /** Everything the namespace may hold now, for a snapshot's or a backup's image. */
  image(): Set<Value>[] {
    return this.allowed.map((s) => new Set(s));
  }

  /**
   * Truncate of the whole namespace, or of what was last written at or before `beforeMs`. The
   * node was quiet, so every write was sent either before the cut-off or after it.
   */
  truncate(outcome: Outcome, beforeMs: number | null): void {
    if (outcome === 'failed') return;
    for (let k = 0; k < this.keyCount; k++) {
      this.note(k, `truncate${beforeMs === null ? '' : `<=${beforeMs % 100_000}`}:${outcome}`);
      const next = new Set<Value>();
      for (const v of this.allowed[k]) {
        const [first, last] = v === null ? [0, 0] : (this.writtenAtMs.get(v) ?? [0, 0]);
        if (v === null || beforeMs === null || last <= beforeMs) next.add(null);
        else if (first > beforeMs) next.add(v);
        else next.add(null).add(v);
        if (outcome === 'doubt') next.add(v);
      }
      this.allowed[k] = next;
    }
  }

  /** A snapshot restore: the namespace returns to the image (in doubt: to it or stays). */
  restoreImage(image: Set<Value>[], outcome: Outcome): void {
    if (outcome === 'failed') return;
    this.allowed = this.allowed.map((now, k) => {
      this.note(k, `snapshot-restore:${outcome}`);
      return outcome === 'ok' ? new Set(image[k]) : new Set([...now, ...image[k]]);
    });
  }

  /**
   * A backup file's records written back with a policy (docs/backup.md). `outcomes` holds the
   * keys whose write failed or is in doubt; every other record of the file was written or
   * deliberately skipped. generation-gt depends on generations the model does not track: a key
   * in the file may end with either value.
   */
  restoreBackup(records: Map<number, number>, policy: string, outcomes: Map<number, Outcome>): void {
    for (const [k, v] of records) {
      const outcome = outcomes.get(k) ?? 'ok';
      this.note(k, `backup-restore(${policy}):${v}:${outcome}`);
      if (outcome === 'failed') continue;
      const now = this.allowed[k];
      const next = new Set<Value>();
      for (const cur of now) {
        if (policy === 'replace') next.add(v);
        else if (policy === 'create-only') next.add(cur === null ? v : cur);
        else next.add(v).add(cur);
        if (outcome === 'doubt') next.add(cur);
      }
      this.allowed[k] = next;
    }
  }

  /** A backup restore may have written `value` again between `fromMs` and `toMs`. */
  rewritten(value: number, fromMs: number, toMs: number): void {
    const [first, last] = this.writtenAtMs.get(value) ?? [fromMs, toMs];
    this.writtenAtMs.set(value, [Math.min(first, fromMs), Math.max(last, toMs)]);
  }

  /** The node was killed: a memory namespace is empty after the restart, a file one keeps all. */
  killed(): void {
    for (let k = 0; k < this.keyCount; k++) this.note(k, 'kill-9');
    if (!this.durable) this.allowed = this.allowed.map(() => new Set<Value>([null]));
  }
}
