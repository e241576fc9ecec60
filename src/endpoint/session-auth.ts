// A connection's side of security (docs/security.md): who it is logged in as, what its user may
// do (decided at login and again only when users or roles change, never per request), its
// logins, its USER / ROLE / TOKEN requests, and what it adds to the audit trail. The session
// keeps the frames; this keeps the identity, so another endpoint's session can hold one too.

import { AerieError, Status } from '../errors';
import { Op } from '../protocol/ops';
import { Reader } from '../protocol/reader';
import * as C from '../constants';
import type { AuditEvent } from '../security/audit-log';
import { scopesOf } from '../security/body-scope';
import { ALL_GRANTS, NO_GRANTS, roleViolation, type Grants } from '../security/grants';
import { isKnownOp } from '../security/privileges';
import { QuotaKind, quotaExceeded, quotaKindOf } from '../security/quotas';
import type { SessionSecurity, TokenGrant } from '../security/session-security';

/** Where a session's audit lines go: the node's trail, or the primary's from a worker's endpoint. */
export interface AuditSink {
  record(event: AuditEvent): void;
}

/** What an audited request was, until its answer gives the result. */
export interface PendingAudit {
  action: string;
  target: string | null;
}

const bodyReader = new Reader(new Uint8Array(0));

export class SessionAuth {
  /** The logged-in user (null without security or before a login). */
  private user: string | null = null;
  /** What the user may do; `opAllowed` is the per-request check. */
  grants: Grants;
  /** The store's change count the grants were computed at. */
  private grantsChanges = 0;
  /** The user's counters in the quota block (src/security/quotas.ts). */
  private quotaSlot = -1;
  private loginPending = false;
  /** Requests answered later (TRUNCATE, admin ops) waiting for their result, when auditing. */
  private auditPending: Map<number, PendingAudit> | null = null;

  constructor(
    readonly security: SessionSecurity | null,
    private readonly auditLog: AuditSink | null,
    private readonly remote: string,
  ) {
    this.grants = security === null ? ALL_GRANTS : NO_GRANTS;
  }

  /** True when users or roles changed since the grants were computed (one compare per request). */
  changed(): boolean {
    return this.security !== null && this.security.changes[0] !== this.grantsChanges;
  }

  /**
   * Computes the grants again after a change of users or roles: 0, or why the connection is logged
   * out (NOT_AUTHENTICATED: the user was dropped; NOT_WHITELISTED: its roles' allow-lists no
   * longer admit this address). Either way it must log in again.
   */
  regrant(): number {
    const security = this.security!;
    this.grantsChanges = Atomics.load(security.changes, 0);
    const grants = this.user === null ? null : security.grantsOf(this.user);
    let refusal: number = grants === null ? Status.NOT_AUTHENTICATED : 0;
    if (refusal === 0 && !security.addressAllowed(this.user!, this.remote)) refusal = Status.NOT_WHITELISTED;
    this.grants = refusal === 0 ? grants! : NO_GRANTS;
    if (refusal !== 0) this.user = null;
    return refusal;
  }

  /**
   * Charges a data request to the user's read or write quota, before any work: QUOTA_EXCEEDED when
   * the second's records would pass it. Called only for a user whose roles carry quotas.
   */
  chargeQuota(op: number, batchKeys: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void {
    const kind = quotaKindOf(op);
    if (kind < 0) return;
    const limit = kind === QuotaKind.READ ? this.grants.readQuota : this.grants.writeQuota;
    if (limit === 0) return;
    const records = op === Op.BATCH_GET || op === Op.BATCH_EXISTS ? Math.max(batchKeys, 1) : op === Op.SCAN ? scanPageRecords(frame, bodyStart, bodyEnd) : 1;
    if (!this.security!.quotas.charge(this.quotaSlot, kind, records, limit, Math.floor(Date.now() / 1000))) throw quotaExceeded(kind, limit);
  }

  /**
   * An op the grants do not allow everywhere: USER and ROLE decide themselves (a user may change
   * their own password), an unknown op goes on to its PARAMETER; data ops may be allowed by a
   * namespace- or set-scoped privilege, read from the body; anything else is ROLE_VIOLATION.
   */
  authorize(op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): void {
    if (op === Op.USER || op === Op.ROLE || !isKnownOp(op)) return;
    if (!this.grants.mightAllow(op)) throw roleViolation(op);
    const scopes = scopesOf(op, frame, bodyStart, bodyEnd);
    if (scopes === null) throw roleViolation(op);
    for (const s of scopes) if (!this.grants.allowsIn(op, s.ns, s.set)) throw roleViolation(op, s.set === null ? s.ns : `${s.ns}.${s.set}`);
  }

  /**
   * Logs a HELLO in (security on). `done` gets the answer: 0 and the HELLO body with the token,
   * or the refusal's code and message. A new login replaces the user only once it succeeds.
   */
  login(body: Record<string, unknown>, helloBody: () => unknown, done: (code: number, value: unknown) => void): void {
    const security = this.security!;
    if (this.loginPending) throw new AerieError(Status.PARAMETER, 'a login is already in progress on this connection');
    this.loginPending = true;
    security.login(body, this.remote).then(
      (login) => {
        this.loginPending = false;
        this.user = login.user;
        this.grants = login.grants;
        // The count the grants were computed at: a change landing before this callback ran is
        // seen on the next request.
        this.grantsChanges = login.grantsChanges;
        this.quotaSlot = login.quotaSlot;
        this.audit('login', null, 0);
        done(0, { ...(helloBody() as object), token: login.token, tokenExpiresAtMs: login.tokenExpiresAtMs });
      },
      (err: unknown) => {
        this.loginPending = false;
        const e = err instanceof AerieError ? err : new AerieError(Status.SERVER_ERROR, String(err));
        this.auditLog?.record({ action: 'login', user: typeof body.user === 'string' ? body.user : null, client: this.remote, target: null, result: e.code });
        done(e.code, { message: e.message });
      },
    );
  }

  /** TOKEN: a fresh token for the logged-in user (a promise on a worker's endpoint, which asks the primary). */
  token(): TokenGrant | Promise<TokenGrant> {
    if (this.security === null || this.user === null) throw new AerieError(Status.SECURITY_NOT_ENABLED, 'this node runs without security');
    return this.security.renewToken(this.user, this.remote);
  }

  /** USER or ROLE: the work, and how to audit it (not a list). */
  command(op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): { work: Promise<unknown>; audited?: PendingAudit } {
    if (this.security === null || this.user === null) throw new AerieError(Status.SECURITY_NOT_ENABLED, 'this node runs without security');
    const body = bodyReader.reset(frame, bodyStart, bodyEnd).readValue() as { action?: unknown; user?: unknown; role?: unknown } | null;
    const work = this.security.command(op, body, this.user, this.grants);
    if (body?.action === 'list') return { work };
    const target = op === Op.USER ? body?.user : body?.role;
    return { work, audited: { action: `${op === Op.USER ? 'user' : 'role'} ${String(body?.action).slice(0, 20)}`, target: typeof target === 'string' ? target : null } };
  }

  // ---- audit trail ----

  get auditing(): boolean {
    return this.auditLog !== null;
  }

  audit(action: string, target: string | null, result: number): void {
    this.auditLog?.record({ action, user: this.user, client: this.remote, target, result });
  }

  /** Audits request `id` once `settled` gives its result. */
  auditLater(id: number, audited: PendingAudit): void {
    if (this.auditLog === null) return;
    this.auditPending ??= new Map();
    this.auditPending.set(id, audited);
  }

  settled(id: number, code: number): void {
    const audited = this.auditPending?.get(id);
    if (audited === undefined) return;
    this.auditPending!.delete(id);
    this.audit(audited.action, audited.target, code);
  }

  /** `ns` or `ns.set` of a request body, for the audit trail. */
  static scopeText(op: number, frame: Uint8Array, start: number, end: number): string | null {
    const scope = scopesOf(op, frame, start, end)?.[0];
    return scope === undefined ? null : scope.set === null ? scope.ns : `${scope.ns}.${scope.set}`;
  }
}

/** The records a SCAN page may return: its pageSize, else the default (malformed: the router refuses it). */
function scanPageRecords(frame: Uint8Array, start: number, end: number): number {
  let pageSize: unknown;
  try {
    const body = bodyReader.reset(frame, start, end).readValue() as { pageSize?: unknown } | null;
    pageSize = body !== null && typeof body === 'object' ? body.pageSize : undefined;
  } catch {
    return 1;
  }
  if (pageSize === undefined || pageSize === null) return C.SCAN_PAGE_RECORDS_DEFAULT;
  return typeof pageSize === 'number' && Number.isSafeInteger(pageSize) && pageSize > 0 ? Math.min(pageSize, C.SCAN_PAGE_RECORDS_MAX) : 1;
}

/** The refusal of a HELLO with credentials on a node without security. */
export function credentialsWithoutSecurity(body: Record<string, unknown>): AerieError | null {
  if (body.user === undefined && body.password === undefined && body.token === undefined) return null;
  return new AerieError(Status.SECURITY_NOT_ENABLED, 'this node runs without security: HELLO takes no user, password or token');
}
