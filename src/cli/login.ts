// The credentials a command logs in with: `--user` or AERIE_USER, and the password from
// AERIE_PASSWORD, the file `--password-file` names, or a prompt on the terminal without echo.
// A password is never taken from a flag (it would show in `ps` and shell history) and never printed.

import { readFileSync } from 'node:fs';
import { PASSWORD_BYTES_MAX } from '../constants';
import { commandLogin, UsageError, type Io } from './args';

export const PASSWORD_ENV = 'AERIE_PASSWORD';
export const USER_ENV = 'AERIE_USER';
/** A new user's password for `user create` / `user passwd`, when not prompted for. */
export const NEW_PASSWORD_ENV = 'AERIE_NEW_PASSWORD';

export const LOGIN_HELP = `login (a node with security enabled; docs/security.md):
  --user NAME            log in as NAME (default: $${USER_ENV})
  --password-file FILE   read the password from FILE (else $${PASSWORD_ENV}, else a prompt)`;

/** The PEM files of wss:// connections (docs/cli.md, TLS), when the flags do not name them. */
export const TLS_CA_ENV = 'AERIE_TLS_CA';
export const TLS_CERT_ENV = 'AERIE_TLS_CERT';
export const TLS_KEY_ENV = 'AERIE_TLS_KEY';

/** `{tls}` for connect() from --tls-ca / --tls-cert / --tls-key or their variables; nothing when none is set. */
export function tlsOptions(env: NodeJS.ProcessEnv = process.env): { tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer } } {
  const files = { ca: commandLogin.tlsCa ?? env[TLS_CA_ENV], cert: commandLogin.tlsCert ?? env[TLS_CERT_ENV], key: commandLogin.tlsKey ?? env[TLS_KEY_ENV] };
  const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  for (const key of ['ca', 'cert', 'key'] as const) {
    const file = files[key];
    if (file === undefined || file === '') continue;
    try {
      tls[key] = readFileSync(file);
    } catch (error) {
      throw new UsageError(`--tls-${key}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return Object.keys(tls).length === 0 ? {} : { tls };
}

/** `{user, password}` for connect(), or nothing when no user is named. */
export async function loginOptions(io: Io, env: NodeJS.ProcessEnv = process.env): Promise<{ user?: string; password?: string }> {
  const user = commandLogin.user ?? env[USER_ENV];
  if (user === undefined || user === '') return {};
  const password = secretFrom(env[PASSWORD_ENV], commandLogin.passwordFile, '--password-file') ?? (await promptHidden(io, `password for ${user}: `));
  return { user, password };
}

/** A password from an environment variable or a file (its last newline dropped); undefined when neither is given. */
export function secretFrom(fromEnv: string | undefined, file: string | undefined, flag: string): string | undefined {
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new UsageError(`${flag}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
}

/** Reads a line from the terminal with echo off. Refuses when stdin is not a terminal. */
export function promptHidden(io: Io, question: string): Promise<string> {
  const stdin = io.stdin as NodeJS.ReadStream;
  if (stdin.isTTY !== true || typeof stdin.setRawMode !== 'function') {
    return Promise.reject(new UsageError(`no password: set ${PASSWORD_ENV} or --password-file, or run at a terminal to be asked`));
  }
  io.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error: Error | null) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.stderr.write('\n');
      if (error === null) resolve(text);
      else reject(error);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003' || ch === '\u0004') return finish(new UsageError('no password given'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else if (text.length < PASSWORD_BYTES_MAX) text += ch;
      }
    };
    stdin.on('data', onData);
  });
}
