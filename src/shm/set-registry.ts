// Set names per namespace, shared by all threads. Ids are dense (1..4095; 0 = no set) so the index
// stores 12 bits per record. Only the primary assigns ids: it writes the name, then publishes the
// count with Atomics.store, so a worker that reads an id from a ring message always finds its name.

import { SETS_PER_NAMESPACE_MAX, SET_NAME_BYTES_MAX } from '../constants';

const ENTRY_BYTES = 64; // 1 length byte + up to 63 UTF-8 bytes
const HEADER_BYTES = 64;

export class SetRegistry {
  readonly sab: SharedArrayBuffer;
  private readonly count: Int32Array;
  private readonly bytes: Uint8Array;
  /** Lookup cache on the owning thread; rebuilt lazily from shared memory elsewhere. */
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [''];
  /** Called with every name (in id order) before a new id is published; may throw to refuse. */
  onAssign: ((names: string[]) => void) | null = null;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.count = new Int32Array(sab, 0, 1);
    this.bytes = new Uint8Array(sab);
  }

  static create(): SetRegistry {
    return new SetRegistry(new SharedArrayBuffer(HEADER_BYTES + (SETS_PER_NAMESPACE_MAX + 1) * ENTRY_BYTES));
  }

  static attach(sab: SharedArrayBuffer): SetRegistry {
    return new SetRegistry(sab);
  }

  /** The id of a set, or -1 when it has none yet. Empty or null set: 0. */
  idOf(name: string | null | undefined): number {
    if (!name) return 0;
    this.refresh();
    return this.ids.get(name) ?? -1;
  }

  /**
   * The id of a set, assigning one if needed (primary thread only). Returns -1 when the namespace
   * already has SETS_PER_NAMESPACE_MAX sets.
   */
  assign(name: string): number {
    const known = this.idOf(name);
    if (known >= 0) return known;
    const id = Atomics.load(this.count, 0) + 1;
    if (id > SETS_PER_NAMESPACE_MAX) return -1;
    // Persist first (file namespaces): a set id must never be used before it is durable.
    this.onAssign?.([...this.names.slice(1), name]);
    const at = HEADER_BYTES + id * ENTRY_BYTES;
    const len = Buffer.from(this.bytes.buffer, at + 1, SET_NAME_BYTES_MAX).write(name, 'utf8');
    this.bytes[at] = len;
    Atomics.store(this.count, 0, id);
    this.refresh();
    return id;
  }

  /** The name of a set id ('' for 0 or an unknown id). */
  nameOf(id: number): string {
    if (id >= this.names.length) this.refresh();
    return this.names[id] ?? '';
  }

  get size(): number {
    return Atomics.load(this.count, 0);
  }

  private refresh(): void {
    const n = Atomics.load(this.count, 0);
    for (let id = this.names.length; id <= n; id++) {
      const at = HEADER_BYTES + id * ENTRY_BYTES;
      const name = Buffer.from(this.bytes.buffer, at + 1, this.bytes[at]).toString('utf8');
      this.names.push(name);
      this.ids.set(name, id);
    }
  }
}
