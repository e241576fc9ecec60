// `aerie user ...` and `aerie role ...`: a node's users and custom roles (docs/security.md). A new
// password comes from AERIE_NEW_PASSWORD, `--new-password-file`, or a prompt without echo asked
// twice; never from a flag.

import { roles, users, type Client } from '../client';
import { DEFAULT_HOST, ExitCode, parseCommandArgs, println, UsageError, type ExitCodeValue, type Io, type ParsedArgs } from './args';
import { LOGIN_HELP, NEW_PASSWORD_ENV, promptHidden, secretFrom } from './login';
import { withClient } from './with-client';
import { toJson } from './format';

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
  --json                    print the outcome (or the error) as JSON
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
  --json             print the outcome (or the error) as JSON
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
      json: { type: 'boolean', default: false },
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
  return printOutcome(values, io, (client) => userAction(client, action, name, roleList, password));
}

/** What a command did, for people and for --json. */
interface Outcome {
  text: string;
  json: unknown;
}

/** Runs `act` against --host and prints its outcome (or its error) as text or, with --json, as JSON. */
function printOutcome(values: ParsedArgs['values'], io: Io, act: (client: Client) => Promise<Outcome>): Promise<ExitCodeValue> {
  const json = values.json === true;
  return withClient(
    values.host as string,
    io,
    async (client) => {
      const done = await act(client);
      println(io.stdout, json ? toJson(done.json) : done.text);
      return ExitCode.OK;
    },
    {},
    json,
  );
}

async function userAction(client: Client, action: string, name: string, roleList: string[], password: string): Promise<Outcome> {
  switch (action) {
    case 'create':
      await users.create(client, name, password, roleList);
      return { text: `user ${name} created${roleList.length > 0 ? ` with roles ${roleList.join(', ')}` : ''}`, json: { user: name, created: true, roles: roleList } };
    case 'drop':
      await users.drop(client, name);
      return { text: `user ${name} dropped`, json: { user: name, dropped: true } };
    case 'passwd':
      await users.setPassword(client, name, password);
      return { text: `password of ${name} changed`, json: { user: name, passwordChanged: true } };
    case 'grant':
      await users.grant(client, name, roleList);
      return { text: `granted ${roleList.join(', ')} to ${name}`, json: { user: name, granted: roleList } };
    case 'revoke':
      await users.revoke(client, name, roleList);
      return { text: `revoked ${roleList.join(', ')} from ${name}`, json: { user: name, revoked: roleList } };
    default: {
      const list = await users.list(client);
      return { text: list.map((u) => `${u.user}\t${u.roles.join(', ') || '(no roles)'}`).join('\n'), json: { users: list } };
    }
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
      json: { type: 'boolean', default: false },
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
  return printOutcome(values, io, (client) => roleAction(client, action, name, privileges, allowlist, quotas));
}

async function roleAction(client: Client, action: string, name: string, privileges: string[], allowlist: string[], quotas: { readQuota: number; writeQuota: number }): Promise<Outcome> {
  if (action === 'create') {
    await roles.create(client, name, privileges, allowlist, quotas);
    return {
      text: `role ${name} created: ${privileges.join(', ')}${allowlist.length > 0 ? `; from ${allowlist.join(', ')} only` : ''}${quotaText(quotas)}`,
      json: { role: name, created: true, privileges, allowlist, ...quotas },
    };
  }
  if (action === 'quotas') {
    await roles.setQuotas(client, name, quotas);
    return { text: `role ${name}:${quotaText(quotas) || ' no quotas'}`, json: { role: name, ...quotas } };
  }
  if (action === 'allowlist') {
    await roles.setAllowlist(client, name, allowlist);
    return { text: allowlist.length > 0 ? `role ${name}: from ${allowlist.join(', ')} only` : `role ${name}: from any address`, json: { role: name, allowlist } };
  }
  if (action === 'drop') {
    await roles.drop(client, name);
    return { text: `role ${name} dropped`, json: { role: name, dropped: true } };
  }
  const list = await roles.list(client);
  const lines = list.map((r) => {
    const from = r.allowlist !== undefined && r.allowlist.length > 0 ? `\tfrom ${r.allowlist.join(', ')}` : '';
    return `${r.role}\t${r.privileges.join(', ')}${r.predefined ? '\t(predefined)' : ''}${from}${quotaText(r)}`;
  });
  return { text: lines.join('\n'), json: { roles: list } };
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
