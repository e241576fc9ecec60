// The quarantined requests' fingerprints in shared memory: the primary adds them (a worker died
// applying the request, src/primary/quarantine.ts) and every endpoint looks a request up before
// serving it, the front's router and each worker's own (src/worker/local-requests.ts), so a
// request that killed a worker is refused wherever it is sent again.
//
// A fingerprint is what identifies a request across sends: its op, namespace and body length, and
// a CRC-32C of its digest then its body (not its slot, id or flags). The table is an append-only
// ring of QUARANTINED_REQUESTS_MAX entries behind a count: the primary (the only writer) writes an
// entry, then publishes the count with Atomics; a reader scans the entries the count covers. An
// entry overwritten while a reader compares it can only be missed, the oldest one, at that moment.

import { DIGEST_BYTES, QUARANTINED_REQUESTS_MAX } from '../constants';
import { crc32c } from '../storage/crc32c';

const COUNT = 0;
const ENTRY_WORDS = 3;
const HEADER_WORDS = 1;

export class QuarantineTable {
  readonly sab: SharedArrayBuffer;
  private readonly words: Int32Array;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.words = new Int32Array(sab);
  }

  static create(): QuarantineTable {
    return new QuarantineTable(new SharedArrayBuffer((HEADER_WORDS + QUARANTINED_REQUESTS_MAX * ENTRY_WORDS) * 4));
  }

  static attach(sab: SharedArrayBuffer): QuarantineTable {
    return new QuarantineTable(sab);
  }

  /** Requests quarantined (at most QUARANTINED_REQUESTS_MAX). Cheap: endpoints test it before hashing. */
  get size(): number {
    return Math.min(Atomics.load(this.words, COUNT), QUARANTINED_REQUESTS_MAX);
  }

  /**
   * Whether the request (op, namespace, its digest at `digest[digestOffset..]`, its body at
   * `body[start, end)`) is quarantined.
   */
  has(op: number, nsIndex: number, digest: Uint8Array, digestOffset: number, body: Uint8Array, start: number, end: number): boolean {
    const n = this.size;
    if (n === 0) return false;
    const kind = kindOf(op, nsIndex);
    const length = end - start;
    const crc = fingerprintCrc(op, nsIndex, digest, digestOffset, body, start, end);
    const w = this.words;
    for (let i = 0; i < n; i++) {
      const at = HEADER_WORDS + i * ENTRY_WORDS;
      if (w[at] === kind && w[at + 1] === length && w[at + 2] === crc) return true;
    }
    return false;
  }

  /** Adds the request (the primary only); the oldest entry goes once the table is full. */
  add(op: number, nsIndex: number, digest: Uint8Array, digestOffset: number, body: Uint8Array, start: number, end: number): void {
    if (this.has(op, nsIndex, digest, digestOffset, body, start, end)) return;
    const count = Atomics.load(this.words, COUNT);
    const at = HEADER_WORDS + (count % QUARANTINED_REQUESTS_MAX) * ENTRY_WORDS;
    this.words[at] = kindOf(op, nsIndex);
    this.words[at + 1] = end - start;
    this.words[at + 2] = fingerprintCrc(op, nsIndex, digest, digestOffset, body, start, end);
    // Wraps past 2^31 only after two billion worker deaths; the modulo keeps the slot in range.
    Atomics.store(this.words, COUNT, count + 1 >= 0x7fffffff ? QUARANTINED_REQUESTS_MAX : count + 1);
  }
}

function kindOf(op: number, nsIndex: number): number {
  return (op << 8) | nsIndex;
}

/** CRC-32C of the digest (seeded by op and namespace), then the body; as an int32 for the table. */
function fingerprintCrc(op: number, nsIndex: number, digest: Uint8Array, digestOffset: number, body: Uint8Array, start: number, end: number): number {
  const crc = crc32c(digest, digestOffset, digestOffset + DIGEST_BYTES, op * 256 + nsIndex);
  return crc32c(body, start, end, crc) | 0;
}
