// A connection's side of security (docs/security.md): who it is logged in as, what its user may
// do (decided at login and again only when users or roles change, never per request), its
// logins, its USER / ROLE / TOKEN requests, and what it adds to the audit trail. The session
// keeps the frames; this keeps the identity, so another endpoint's session can hold one too.

import { AerieError, Status } from '../errors';
import { Op } from '../protocol/ops';
import { Reader } from '../protocol/reader';
import type { AuditLog } from '../security/audit-log';
import { scopesOf } from '../security/body-scope';
import { ALL_GRANTS, NO_GRANTS, roleViolation, type Grants } from '../security/grants';
import type { NodeSecurity } from '../security/node-security';
import { isKnownOp } from '../security/privileges';
import { runSecurityCommand } from '../security/user-admin';

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
  private loginPending = false;
  /** Requests answered later (TRUNCATE, admin ops) waiting for their result, when auditing. */
  private auditPending: Map<number, PendingAudit> | null = null;

  constructor(
    readonly security: NodeSecurity | null,
    private readonly auditLog: AuditLog | null,
    private readonly remote: string,
  ) {
    this.grants = security === null ? ALL_GRANTS : NO_GRANTS;
  }

  /** True when users or roles changed since the grants were computed (one compare per request). */
  changed(): boolean {
    return this.security !== null && this.security.changes[0] !== this.grantsChanges;
  }

  /** Computes the grants again; false when the user was dropped (the connection must log in again). */
  regrant(): boolean {
    const security = this.security!;
    this.grantsChanges = security.changes[0];
    const grants = this.user === null ? null : security.grantsOf(this.user);
    this.grants = grants ?? NO_GRANTS;
    if (grants !== null) return true;
    this.user = null;
    return false;
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

  /** TOKEN: a fresh token for the logged-in user. */
  token(): unknown {
    if (this.security === null || this.user === null) throw new AerieError(Status.SECURITY_NOT_ENABLED, 'this node runs without security');
    return this.security.issueToken(this.user);
  }

  /** USER or ROLE: the work, and how to audit it (not a list). */
  command(op: number, frame: Uint8Array, bodyStart: number, bodyEnd: number): { work: Promise<unknown>; audited?: PendingAudit } {
    if (this.security === null || this.user === null) throw new AerieError(Status.SECURITY_NOT_ENABLED, 'this node runs without security');
    const body = bodyReader.reset(frame, bodyStart, bodyEnd).readValue() as { action?: unknown; user?: unknown; role?: unknown } | null;
    const work = runSecurityCommand(this.security, op, body, this.user, this.grants);
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

/** The refusal of a HELLO with credentials on a node without security. */
export function credentialsWithoutSecurity(body: Record<string, unknown>): AerieError | null {
  if (body.user === undefined && body.password === undefined && body.token === undefined) return null;
  return new AerieError(Status.SECURITY_NOT_ENABLED, 'this node runs without security: HELLO takes no user, password or token');
}
