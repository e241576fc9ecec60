// The node's client sockets and sessions, counted across every endpoint (the primary's front and
// each worker's) in one SharedArrayBuffer, so the descriptor budget and service.connectionsMax
// hold for the node as a whole whichever thread accepted the socket. Each endpoint counts in its
// own words: a worker that dies takes its sockets with it, and the primary zeroes its words.

/** Word 0: the descriptor budget's cap on sockets (0 until the primary has drawn it). */
const SOCKETS_MAX_WORD = 0;
const FIRST_ENDPOINT_WORD = 2;
const WORDS_PER_ENDPOINT = 2;

/** Endpoint 0 is the primary's front; worker i's endpoint is 1 + i. */
export const FRONT_ENDPOINT = 0;
export const workerEndpoint = (workerIndex: number): number => 1 + workerIndex;

export class ConnectionCounts {
  private readonly words: Int32Array;

  private constructor(
    readonly sab: SharedArrayBuffer,
    private readonly endpoints: number,
  ) {
    this.words = new Int32Array(sab);
  }

  /** For the front and `workerCount` worker endpoints. */
  static create(workerCount: number): ConnectionCounts {
    const endpoints = 1 + workerCount;
    return new ConnectionCounts(new SharedArrayBuffer((FIRST_ENDPOINT_WORD + endpoints * WORDS_PER_ENDPOINT) * 4), endpoints);
  }

  static attach(sab: SharedArrayBuffer): ConnectionCounts {
    return new ConnectionCounts(sab, (sab.byteLength / 4 - FIRST_ENDPOINT_WORD) / WORDS_PER_ENDPOINT);
  }

  setSocketsMax(socketsMax: number): void {
    Atomics.store(this.words, SOCKETS_MAX_WORD, socketsMax);
  }

  /**
   * Counts a socket endpoint `e` accepted, unless the node holds its cap already (the drawn
   * budget, or `fallbackMax` before it is drawn). Taken first and given back on refusal: two
   * threads accepting at once can both be refused, never both exceed the cap.
   */
  tryOpenSocket(e: number, fallbackMax: number): boolean {
    const drawn = Atomics.load(this.words, SOCKETS_MAX_WORD);
    return this.tryTake(this.socketWord(e), 0, drawn > 0 ? drawn : fallbackMax);
  }

  closeSocket(e: number): void {
    Atomics.sub(this.words, this.socketWord(e), 1);
  }

  /** Counts a session (a finished upgrade) unless the node has `connectionsMax` already. */
  tryOpenSession(e: number, connectionsMax: number): boolean {
    return this.tryTake(this.socketWord(e) + 1, 1, connectionsMax);
  }

  closeSession(e: number): void {
    Atomics.sub(this.words, this.socketWord(e) + 1, 1);
  }

  /** A worker's thread died, and its sockets with it. */
  reset(e: number): void {
    Atomics.store(this.words, this.socketWord(e), 0);
    Atomics.store(this.words, this.socketWord(e) + 1, 0);
  }

  socketsOf(e: number): number {
    return Atomics.load(this.words, this.socketWord(e));
  }

  sessionsOf(e: number): number {
    return Atomics.load(this.words, this.socketWord(e) + 1);
  }

  /** Sessions open on every endpoint. */
  sessionsTotal(): number {
    return this.total(1);
  }

  private tryTake(word: number, kind: number, max: number): boolean {
    Atomics.add(this.words, word, 1);
    if (this.total(kind) <= max) return true;
    Atomics.sub(this.words, word, 1);
    return false;
  }

  private total(kind: number): number {
    let sum = 0;
    for (let e = 0; e < this.endpoints; e++) sum += Atomics.load(this.words, FIRST_ENDPOINT_WORD + e * WORDS_PER_ENDPOINT + kind);
    return sum;
  }

  private socketWord(e: number): number {
    return FIRST_ENDPOINT_WORD + e * WORDS_PER_ENDPOINT;
  }
}
