// Session tokens: what a login returns so that further connections (other endpoints of the node,
// reconnects) log in without the password hash. A token is `payload.signature`, the payload the
// user, their credential epoch and an expiry, signed with HMAC-SHA256 under a per-node secret kept
// under security.dataDir: any thread holding the secret verifies a token alone, with no round trip.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as C from '../constants';
import { AerieError, Status } from '../errors';
import { writeFileDurably } from './durable-file';

export const TOKEN_KEY_FILE = 'token.key';

export interface TokenClaims {
  user: string;
  credentialEpoch: number;
  expiresAtMs: number;
}

export class TokenSigner {
  constructor(private readonly secret: Buffer) {
    if (secret.length !== C.TOKEN_SECRET_BYTES) throw new AerieError(Status.SERVER_ERROR, `a token secret is ${C.TOKEN_SECRET_BYTES} bytes`);
  }

  issue(claims: TokenClaims): string {
    const payload = Buffer.from(JSON.stringify({ u: claims.user, c: claims.credentialEpoch, e: claims.expiresAtMs })).toString('base64url');
    return `${payload}.${this.sign(payload).toString('base64url')}`;
  }

  /** The claims of a token this node signed: INVALID_CREDENTIAL when forged or malformed, EXPIRED_SESSION past its expiry. */
  verify(token: unknown, nowMs: number): TokenClaims {
    if (typeof token !== 'string' || token.length > C.TOKEN_CHARS_MAX) throw invalid();
    const dot = token.indexOf('.');
    if (dot <= 0) throw invalid();
    const payload = token.slice(0, dot);
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = this.sign(payload);
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) throw invalid();
    let fields: { u?: unknown; c?: unknown; e?: unknown };
    try {
      fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof fields;
    } catch {
      throw invalid();
    }
    if (typeof fields.u !== 'string' || !Number.isSafeInteger(fields.c) || !Number.isSafeInteger(fields.e)) throw invalid();
    if ((fields.e as number) <= nowMs) throw new AerieError(Status.EXPIRED_SESSION, 'the session token has expired: log in with the password');
    return { user: fields.u, credentialEpoch: fields.c as number, expiresAtMs: fields.e as number };
  }

  private sign(payload: string): Buffer {
    return createHmac('sha256', this.secret).update(payload).digest();
  }
}

function invalid(): AerieError {
  return new AerieError(Status.INVALID_CREDENTIAL, 'the session token is not valid on this node');
}

/** The node's token secret: read from security.dataDir, or made and stored durably at the first start. */
export async function loadTokenSecret(dir: string): Promise<Buffer> {
  const file = path.join(dir, TOKEN_KEY_FILE);
  if (existsSync(file)) {
    const secret = readFileSync(file);
    if (secret.length !== C.TOKEN_SECRET_BYTES)
      throw new AerieError(Status.SERVER_ERROR, `security: ${file} is not a ${C.TOKEN_SECRET_BYTES}-byte key; delete it to make a new one (open tokens stop working)`);
    return secret;
  }
  const secret = randomBytes(C.TOKEN_SECRET_BYTES);
  await writeFileDurably(file, secret);
  return secret;
}
