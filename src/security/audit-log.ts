// The audit trail (security.auditFile): one JSON line per security-relevant action — logins,
// user and role changes, truncates, snapshot create/restore/delete, repairs, fault drills, worker
// restarts — with the time, the user, the client's address, the endpoint, the target and the
// result code. Lines are appended in order from a bounded queue, off the request path; the file is
// rotated by size (file → file.1 → … → file.N). Never a password or a token: callers pass names.

import { promises as fsp } from 'node:fs';
import * as C from '../constants';
import { statusName } from '../errors';

export interface AuditEvent {
  action: string;
  /** The logged-in user, or null (security off, or a failed login's unknown name). */
  user: string | null;
  /** The client's host:port. */
  client: string;
  target?: string | null;
  /** The result code (0 ok). */
  result: number;
  /** The endpoint it came through, when not this trail's own (a worker's: `worker N`). */
  endpoint?: string;
}

export class AuditLog {
  private readonly queue: string[] = [];
  private writing: Promise<void> | null = null;
  private sizeBytes = -1;
  /** Lines dropped because the queue was full (the disk is slower than the actions). */
  dropped = 0;
  written = 0;
  /** The last write error's code, if appending failed (the trail goes on trying). */
  lastError: string | null = null;

  constructor(
    readonly file: string,
    private readonly bytesMax: number = C.AUDIT_FILE_BYTES_MAX_DEFAULT,
    private readonly endpoint: string = 'primary',
  ) {}

  record(event: AuditEvent): void {
    if (this.queue.length >= C.AUDIT_QUEUE_LINES_MAX) {
      this.dropped++;
      return;
    }
    const line = {
      time: new Date().toISOString(),
      user: cut(event.user),
      client: event.client,
      endpoint: event.endpoint ?? this.endpoint,
      action: event.action,
      target: cut(event.target ?? null),
      result: event.result,
      resultName: statusName(event.result),
    };
    this.queue.push(`${JSON.stringify(line)}\n`);
    this.writing ??= this.drain();
  }

  /** Resolves once every line recorded so far is written. */
  async flush(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const text = this.queue.splice(0, this.queue.length).join('');
        const bytes = Buffer.byteLength(text);
        if (this.sizeBytes < 0)
          this.sizeBytes = await fsp.stat(this.file).then(
            (s) => s.size,
            () => 0,
          );
        if (this.sizeBytes > 0 && this.sizeBytes + bytes > this.bytesMax) await this.rotate();
        try {
          await fsp.appendFile(this.file, text, { mode: 0o600 });
          this.sizeBytes += bytes;
          this.written += text.split('\n').length - 1;
        } catch (err) {
          this.lastError = (err as NodeJS.ErrnoException).code ?? 'error';
        }
      }
    } finally {
      this.writing = null;
    }
  }

  private async rotate(): Promise<void> {
    for (let n = C.AUDIT_FILES_KEPT - 1; n >= 1; n--) await fsp.rename(`${this.file}.${n}`, `${this.file}.${n + 1}`).catch(() => undefined);
    await fsp.rename(this.file, `${this.file}.1`).catch(() => undefined);
    this.sizeBytes = 0;
  }
}

function cut(text: string | null): string | null {
  return text === null ? null : text.slice(0, C.AUDIT_FIELD_CHARS_MAX);
}
