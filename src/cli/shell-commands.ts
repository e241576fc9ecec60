// The aql-like commands of `aerie shell`: tokenizing a line, turning arguments into keys and
// bins, running the command against a client and rendering the answer. No I/O of its own.

import { Key, ops, type Client } from '../client';
import type { BinsInput } from '../client/policy';
import { AerieError, Status } from '../errors';
import type { UserKey } from '../protocol/ops';
import { formatInfo } from './info';
import { formatError, formatTable, formatTtl, formatValue } from './format';

/** Records a `scan` prints when no limit is given. */
export const SCAN_LIMIT_DEFAULT = 100;
/** Largest limit `scan` accepts: the shell holds the records to print them as a table. */
export const SCAN_LIMIT_MAX = 100_000;

export interface Token {
  text: string;
  quoted: boolean;
  /** Offset just past the token in the line, for commands that take "the rest of the line". */
  end: number;
}

function usage(text: string): AerieError {
  return new AerieError(Status.PARAMETER, `usage: ${text}`);
}

/**
 * Splits a line at whitespace. Single or double quotes group words and mark the token as quoted
 * (so "1" is a string key); inside double quotes, backslash escapes the next character.
 */
export function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < line.length) {
    while (index < line.length && /\s/.test(line[index])) index++;
    if (index >= line.length) break;
    const quote = line[index];
    if (quote === '"' || quote === "'") {
      let text = '';
      index++;
      while (index < line.length && line[index] !== quote) {
        if (quote === '"' && line[index] === '\\' && index + 1 < line.length) index++;
        text += line[index++];
      }
      if (index >= line.length) throw new AerieError(Status.PARAMETER, `unterminated ${quote} quote`);
      index++;
      tokens.push({ text, quoted: true, end: index });
    } else {
      const start = index;
      while (index < line.length && !/\s/.test(line[index])) index++;
      tokens.push({ text: line.slice(start, index), quoted: false, end: index });
    }
  }
  return tokens;
}

const INTEGER = /^-?\d+$/;

/** Unquoted integers are integer keys (bigint beyond 2^53); everything else is a string key. */
export function parseUserKey(token: Token): UserKey {
  if (!token.quoted && INTEGER.test(token.text)) {
    const n = BigInt(token.text);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }
  return token.text;
}

/** A quoted empty set ('' or "") means "no set". */
function parseSet(token: Token): string | null {
  return token.text === '' ? null : token.text;
}

function keyFrom(tokens: Token[]): Key {
  return new Key(tokens[1].text, parseSet(tokens[2]), parseUserKey(tokens[3]));
}

function parseNumber(text: string, what: string): number | bigint {
  if (INTEGER.test(text)) {
    const n = BigInt(text);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new AerieError(Status.PARAMETER, `${what} must be a number: ${text}`);
  return n;
}

function parseInteger(text: string, what: string): number {
  const n = Number(text);
  if (!INTEGER.test(text) || !Number.isSafeInteger(n)) throw new AerieError(Status.PARAMETER, `${what} must be an integer: ${text}`);
  return n;
}

function parseBins(text: string): BinsInput {
  let bins: unknown;
  try {
    bins = JSON.parse(text);
  } catch (error) {
    throw new AerieError(Status.PARAMETER, `bins must be a JSON object: ${(error as Error).message}`);
  }
  if (bins === null || typeof bins !== 'object' || Array.isArray(bins)) throw new AerieError(Status.PARAMETER, 'bins must be a JSON object');
  return bins as BinsInput;
}

function describeKey(key: Key): string {
  return key.value === null ? `digest:${Buffer.from(key.digest).toString('hex')}` : formatValue(key.value, -1);
}

interface Command {
  usage: string;
  summary: string;
  run(tokens: Token[], line: string, client: Client): Promise<string>;
}

function arity(tokens: Token[], min: number, max: number, text: string): void {
  const argCount = tokens.length - 1;
  if (argCount < min || argCount > max) throw usage(text);
}

export const COMMANDS: Record<string, Command> = {
  put: {
    usage: 'put <ns> <set> <key> <json-bins>',
    summary: 'write bins (a JSON object) to a record',
    async run(tokens, line, client) {
      if (tokens.length < 5) throw usage(this.usage);
      // The shell stores the user key with the record, so that scan can show it.
      const written = await client.put(keyFrom(tokens), parseBins(line.slice(tokens[3].end).trim()), undefined, { sendKey: true });
      return `ok (gen ${written.gen}, ttl ${formatTtl(written.ttl)})`;
    },
  },
  get: {
    usage: 'get <ns> <set> <key> [bin ...]',
    summary: 'read a record, or some of its bins',
    async run(tokens, _line, client) {
      arity(tokens, 3, Number.MAX_SAFE_INTEGER, this.usage);
      const bins = tokens.length > 4 ? tokens.slice(4).map((token) => token.text) : undefined;
      const record = await client.get(keyFrom(tokens), bins);
      return `gen ${record.gen}, ttl ${formatTtl(record.ttl)}\n${formatValue(record.bins, 0)}`;
    },
  },
  exists: {
    usage: 'exists <ns> <set> <key>',
    summary: 'whether a record exists, with its generation and TTL',
    async run(tokens, _line, client) {
      arity(tokens, 3, 3, this.usage);
      const found = await client.exists(keyFrom(tokens));
      return found === null ? 'not found' : `exists (gen ${found.gen}, ttl ${formatTtl(found.ttl)})`;
    },
  },
  remove: {
    usage: 'remove <ns> <set> <key>',
    summary: 'delete a record',
    async run(tokens, _line, client) {
      arity(tokens, 3, 3, this.usage);
      await client.remove(keyFrom(tokens));
      return 'removed';
    },
  },
  touch: {
    usage: 'touch <ns> <set> <key> <ttl>',
    summary: "reset a record's TTL (seconds; -1 never expires, 0 namespace default)",
    async run(tokens, _line, client) {
      arity(tokens, 4, 4, this.usage);
      const touched = await client.touch(keyFrom(tokens), parseInteger(tokens[4].text, 'ttl'));
      return `ok (gen ${touched.gen}, ttl ${formatTtl(touched.ttl)})`;
    },
  },
  incr: {
    usage: 'incr <ns> <set> <key> <bin> <n>',
    summary: 'add n to a number bin and print the new value',
    async run(tokens, _line, client) {
      arity(tokens, 5, 5, this.usage);
      const bin = tokens[4].text;
      const result = await client.operate(keyFrom(tokens), [ops.incr(bin, parseNumber(tokens[5].text, 'n')), ops.read(bin)]);
      return `${bin} = ${formatValue(result.bins[bin], -1)} (gen ${result.gen})`;
    },
  },
  scan: {
    usage: 'scan <ns> [set] [limit]',
    summary: `list records of a namespace or set (at most limit, default ${SCAN_LIMIT_DEFAULT})`,
    async run(tokens, _line, client) {
      arity(tokens, 1, 3, this.usage);
      const set = tokens.length > 2 ? parseSet(tokens[2]) : null;
      const limit = tokens.length > 3 ? parseInteger(tokens[3].text, 'limit') : SCAN_LIMIT_DEFAULT;
      if (limit < 1 || limit > SCAN_LIMIT_MAX) throw new AerieError(Status.PARAMETER, `limit must be from 1 to ${SCAN_LIMIT_MAX}`);
      const scan = client.scan(tokens[1].text, set, { pageSize: Math.min(limit, 1000) });
      const records = await scan.toArray(limit);
      const table = formatTable(
        ['SET', 'KEY', 'GEN', 'TTL', 'BINS'],
        records.map((r) => [r.key.set ?? '-', describeKey(r.key), r.gen, formatTtl(r.ttl), formatValue(r.bins, -1)]),
        ['left', 'left', 'right', 'right', 'left'],
      );
      const more = scan.done ? '' : `; stopped at limit ${limit}`;
      return `${table}\n(${records.length} record${records.length === 1 ? '' : 's'}${more})`;
    },
  },
  info: {
    usage: 'info',
    summary: "the node's statistics",
    async run(tokens, _line, client) {
      arity(tokens, 0, 0, this.usage);
      return formatInfo(await client.info());
    },
  },
};

export function shellHelp(): string {
  const rows = Object.values(COMMANDS).map((command) => [command.usage, command.summary]);
  rows.push(['help', 'this list'], ['quit', 'leave the shell (also exit, or end of input)']);
  return [
    formatTable(['COMMAND', 'DOES'], rows, ['left', 'left']),
    '',
    'Keys that look like integers are integer keys unless quoted: get test demo "1".',
    'A set written as "" means no set. Lines starting with # are comments.',
  ].join('\n');
}

export type LineOutcome = 'ok' | 'failed' | 'quit' | 'empty';

/** Runs one line; returns how it went and what to print. A failure is printed, never thrown. */
export async function runShellLine(line: string, client: Client): Promise<{ outcome: LineOutcome; output: string }> {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return { outcome: 'empty', output: '' };
  try {
    const tokens = tokenize(trimmed);
    const name = tokens[0].text.toLowerCase();
    if (name === 'quit' || name === 'exit') return { outcome: 'quit', output: '' };
    if (name === 'help' || name === '?') return { outcome: 'ok', output: shellHelp() };
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (command === undefined) throw new AerieError(Status.PARAMETER, `unknown command: ${tokens[0].text} (try help)`);
    return { outcome: 'ok', output: await command.run(tokens, trimmed, client) };
  } catch (error) {
    return { outcome: 'failed', output: formatError(error) };
  }
}
