// A scan as an async iterable over records, fetched a page at a time. `cursor` is where to resume
// without missing a record: while a page is being consumed it is the cursor that fetched that
// page, so resuming after a `break` may deliver part of the page again (at least once, never less).

import { AerieError, Status } from '../errors';
import type { Bins } from '../protocol/ops';
import type { AerieRecord, ScanPage } from './records';

export interface ScanOptions {
  /** Records per page (1..SCAN_PAGE_RECORDS_MAX); the server's default when omitted. */
  pageSize?: number;
  /** Bins to return; all when omitted. */
  bins?: string[];
  /** A cursor from an earlier scan (ScanStream.cursor or ScanPage.cursor) to resume from. */
  cursor?: Uint8Array | null;
  /** Timeout of each page request. */
  timeoutMs?: number;
}

export type PageFetcher<T = Bins> = (cursor: Uint8Array | null) => Promise<ScanPage<T>>;

export class ScanStream<T = Bins> implements AsyncIterable<AerieRecord<T>> {
  private readonly fetchPage: PageFetcher<T>;
  private resumeCursor: Uint8Array | null;
  private finished = false;
  private started = false;
  private pageCount = 0;

  constructor(fetchPage: PageFetcher<T>, cursor: Uint8Array | null) {
    this.fetchPage = fetchPage;
    this.resumeCursor = cursor;
  }

  /** The cursor to pass as `options.cursor` to resume; null before the first page or once done. */
  get cursor(): Uint8Array | null {
    return this.finished ? null : this.resumeCursor;
  }

  /** True once the last page has been fetched and every record in it delivered. */
  get done(): boolean {
    return this.finished;
  }

  get pagesFetched(): number {
    return this.pageCount;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<AerieRecord<T>> {
    if (this.started) throw new AerieError(Status.PARAMETER, 'a scan can be iterated only once; resume with its cursor');
    this.started = true;
    while (!this.finished) {
      const page = await this.fetchPage(this.resumeCursor);
      this.pageCount++;
      for (const record of page.records) yield record;
      if (page.cursor === null) this.finished = true;
      else this.resumeCursor = page.cursor;
    }
  }

  /** Collects every remaining record; meant for small sets and tests. */
  async toArray(limit = Number.MAX_SAFE_INTEGER): Promise<AerieRecord<T>[]> {
    const records: AerieRecord<T>[] = [];
    if (limit <= 0) return records;
    for await (const record of this) {
      records.push(record);
      if (records.length >= limit) break;
    }
    return records;
  }
}
