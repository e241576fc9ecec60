// `aerie user ...` and `aerie role ...`: a node's users and custom roles (docs/security.md). A new
// password comes from AERIE_NEW_PASSWORD, `--new-password-file`, or a prompt without echo asked
// twice; never from a flag.

import { roles, users, type Client } from '../client';
import { DEFAULT_HOST, ExitCode, parseCommandArgs, println, UsageError, type ExitCodeValue, type Io } from './args';
import { LOGIN_HELP, NEW_PASSWORD_ENV, promptHidden, secretFrom } from './login';
import { withClient } from './with-client';

export const USER_USAGE = `usage: aerie user create NAME [--role ROLE]...
       aerie user drop NAME
       aerie user passwd NAME
       aerie user grant NAME --role ROLE...
       aerie user revoke NAME --role ROLE...
       aerie user list

Manages the users of a node with security enabled. create and passwd take the
new password from $${NEW_PASSWORD_ENV}, --new-password-file, or a prompt
(asked twice). Any user may change their own password; everything else needs
the user-admin role.

options:
  --role ROLE               a role to give or take (repeat for several)
  --new-password-file FILE  the new password, from FILE
  --host HOST:PORT          node to ask (default ${DEFAULT_HOST})
  -h, --help                show this help

${LOGIN_HELP}`;

export const ROLE_USAGE = `usage: aerie role create NAME --privilege PRIV... [--allow ADDR]... [--read-quota N] [--write-quota N]
       aerie role allowlist NAME [--allow ADDR]...
       aerie role quotas NAME [--read-quota N] [--write-quota N]
       aerie role drop NAME
       aerie role list

Manages custom roles. A privilege is NAME[:NS[.SET]]: read, write, read-write,
truncate (scoped to a namespace or a set), data-admin (to a namespace),
sys-admin, user-admin (node-wide). Needs the user-admin role. A role with an
allow-list (addresses or CIDR subnets) lets its holders log in only from those
addresses; allowlist replaces it (none: any address again). Quotas limit the
records per second each holder reads and writes, over all their connections;
quotas replaces them (absent or 0: no limit).

options:
  --privilege PRIV   a privilege of the role (repeat for several)
  --allow ADDR       an address or subnet of the allow-list (repeat for several)
  --read-quota N     records per second each holder may read (0: no limit)
  --write-quota N    records per second each holder may write (0: no limit)
  --host HOST:PORT   node to ask (default ${DEFAULT_HOST})
  -h, --help         show this help

${LOGIN_HELP}`;

export async function runUser(args: string[], io: Io): Promise<ExitCodeValue> {
  const { values, positionals } = parseCommandArgs(
    'user',
    args,
    {
      host: { type: 'string', default: DEFAULT_HOST },
      role: { type: 'string', multiple: true },
      'new-password-file': { type: 'string' },
    },
    2,
  );
  if (values.help) {
    println(io.stdout, USER_USAGE);
    return ExitCode.OK;
  }
  const [action, name] = positionals;
  const roleList = (values.role as string[] | undefined) ?? [];
  if (!['create', 'drop', 'passwd', 'grant', 'revoke', 'list'].includes(action ?? '')) throw new UsageError(action === undefined ? 'name an action' : `unknown action: ${action}`, 'user');
  if (action !== 'list' && (name === undefined || name === '')) throw new UsageError(`${action} needs a user NAME`, 'user');
  if ((action === 'grant' || action === 'revoke') && roleList.length === 0) throw new UsageError(`${action} needs --role`, 'user');
  const newPasswordFile = values['new-password-file'] as string | undefined;
  // Asked before connecting, so a prompt is not raced by the connection's timeouts.
  const password = action === 'create' || action === 'passwd' ? await newPassword(io, name, newPasswordFile) : '';
  return withClient(values.host as string, io, async (client) => {
    await userAction(client, action, name, roleList, password, io);
    return ExitCode.OK;
  });
}

async function userAction(client: Client, action: string, name: string, roleList: string[], password: string, io: Io): Promise<void> {
  switch (action) {
    case 'create':
      await users.create(client, name, password, roleList);
      return println(io.stdout, `user ${name} created${roleList.length > 0 ? ` with roles ${roleList.join(', ')}` : ''}`);
    case 'drop':
      await users.drop(client, name);
      return println(io.stdout, `user ${name} dropped`);
    case 'passwd':
      await users.setPassword(client, name, password);
      return println(io.stdout, `password of ${name} changed`);
    case 'grant':
      await users.grant(client, name, roleList);
      return println(io.stdout, `granted ${roleList.join(', ')} to ${name}`);
    case 'revoke':
      await users.revoke(client, name, roleList);
      return println(io.stdout, `revoked ${roleList.join(', ')} from ${name}`);
    default:
      for (const u of await users.list(client)) println(io.stdout, `${u.user}\t${u.roles.join(', ') || '(no roles)'}`);
  }
}

async function newPassword(io: Io, user: string, file: string | undefined): Promise<string> {
  const given = secretFrom(process.env[NEW_PASSWORD_ENV], file, '--new-password-file');
  if (given !== undefined) return given;
  const first = await promptHidden(io, `new password for ${user}: `);
  const second = await promptHidden(io, 'again: ');
  if (first !== second) throw new UsageError('the two passwords differ', 'user');
  return first;
}

export async function runRole(args: string[], io: Io): Promise<ExitCodeValue> {
  const { values, positionals } = parseCommandArgs(
    'role',
    args,
    {
      host: { type: 'string', default: DEFAULT_HOST },
      privilege: { type: 'string', multiple: true },
      allow: { type: 'string', multiple: true },
      'read-quota': { type: 'string' },
      'write-quota': { type: 'string' },
    },
    2,
  );
  if (values.help) {
    println(io.stdout, ROLE_USAGE);
    return ExitCode.OK;
  }
  const [action, name] = positionals;
  const privileges = (values.privilege as string[] | undefined) ?? [];
  const allowlist = (values.allow as string[] | undefined) ?? [];
  const quotas = { readQuota: quotaArg(values['read-quota']), writeQuota: quotaArg(values['write-quota']) };
  if (!['create', 'drop', 'allowlist', 'quotas', 'list'].includes(action ?? '')) throw new UsageError(action === undefined ? 'name an action' : `unknown action: ${action}`, 'role');
  if (action !== 'list' && (name === undefined || name === '')) throw new UsageError(`${action} needs a role NAME`, 'role');
  if (action === 'create' && privileges.length === 0) throw new UsageError('create needs --privilege', 'role');
  return withClient(values.host as string, io, async (client) => {
    if (action === 'create') {
      await roles.create(client, name, privileges, allowlist, quotas);
      println(io.stdout, `role ${name} created: ${privileges.join(', ')}${allowlist.length > 0 ? `; from ${allowlist.join(', ')} only` : ''}${quotaText(quotas)}`);
    } else if (action === 'quotas') {
      await roles.setQuotas(client, name, quotas);
      println(io.stdout, `role ${name}:${quotaText(quotas) || ' no quotas'}`);
    } else if (action === 'allowlist') {
      await roles.setAllowlist(client, name, allowlist);
      println(io.stdout, allowlist.length > 0 ? `role ${name}: from ${allowlist.join(', ')} only` : `role ${name}: from any address`);
    } else if (action === 'drop') {
      await roles.drop(client, name);
      println(io.stdout, `role ${name} dropped`);
    } else {
      for (const r of await roles.list(client)) {
        const from = r.allowlist !== undefined && r.allowlist.length > 0 ? `\tfrom ${r.allowlist.join(', ')}` : '';
        println(io.stdout, `${r.role}\t${r.privileges.join(', ')}${r.predefined ? '\t(predefined)' : ''}${from}${quotaText(r)}`);
      }
    }
    return ExitCode.OK;
  });
}

/** A quota flag's value: a whole number of records per second (0: none). */
function quotaArg(value: unknown): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`a quota is a whole number of records per second, not '${String(value)}'`, 'role');
  return n;
}

function quotaText(q: { readQuota?: number; writeQuota?: number }): string {
  const parts = [];
  if ((q.readQuota ?? 0) > 0) parts.push(`reads ${q.readQuota}/s`);
  if ((q.writeQuota ?? 0) > 0) parts.push(`writes ${q.writeQuota}/s`);
  return parts.length === 0 ? '' : `; quotas: ${parts.join(', ')}`;
}
