// Text output for people: values as JSON-like text that shows bigints, bytes and Maps sensibly,
// aligned tables, and byte and duration sizes. Everything returns strings; callers print.

import { statusName } from '../errors';

const INDENT = '  ';

/**
 * A value as readable JSON-like text. Bigints print as plain digits (valid JSON numbers, no
 * precision lost), bytes as `<bytes HEX>`, Maps with non-string keys as `{1: "a"}`.
 * `indent` < 0 prints on one line.
 */
export function formatValue(value: unknown, indent = 0): string {
  return render(value, indent, 0);
}

function render(value: unknown, indent: number, depth: number): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (value instanceof Uint8Array) return `<bytes ${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}>`;
  if (Array.isArray(value))
    return container(
      '[',
      ']',
      value.map((item) => render(item, indent, depth + 1)),
      indent,
      depth,
    );
  if (value instanceof Map) {
    const items = [...value].map(([k, v]) => `${typeof k === 'string' ? JSON.stringify(k) : String(k)}: ${render(v, indent, depth + 1)}`);
    return container('{', '}', items, indent, depth);
  }
  if (typeof value === 'object') {
    const items = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${render(v, indent, depth + 1)}`);
    return container('{', '}', items, indent, depth);
  }
  return JSON.stringify(String(value));
}

function container(open: string, close: string, items: string[], indent: number, depth: number): string {
  if (items.length === 0) return open + close;
  if (indent < 0) return `${open}${items.join(', ')}${close}`;
  const inner = INDENT.repeat(depth + 1);
  return `${open}\n${items.map((item) => inner + item).join(',\n')}\n${INDENT.repeat(depth)}${close}`;
}

/** Strict JSON for `--json`: bigints as digits, bytes as hex strings, Maps as objects. */
export function toJson(value: unknown): string {
  return renderJson(value, 0);
}

function renderJson(value: unknown, depth: number): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex'));
  const inner = INDENT.repeat(depth + 1);
  const close = INDENT.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + renderJson(item, depth + 1)).join(',\n')}\n${close}]`;
  }
  const entries = value instanceof Map ? [...value].map(([k, v]) => [String(k), v] as const) : Object.entries(value as object);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${renderJson(v, depth + 1)}`).join(',\n')}\n${close}}`;
}

export type Align = 'left' | 'right';

/** Columns padded to their widest cell; numbers (and '-') right-aligned unless told otherwise. */
export function formatTable(headers: string[], rows: unknown[][], align?: Align[]): string {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'string' ? cell : formatValue(cell, -1))));
  const widths = headers.map((header, column) => Math.max(header.length, ...cells.map((row) => (row[column] ?? '').length)));
  const alignOf = (column: number): Align => align?.[column] ?? (rows.every((row) => typeof row[column] === 'number' || typeof row[column] === 'bigint' || row[column] === '-') ? 'right' : 'left');
  const line = (row: string[]) =>
    row
      .map((cell, column) => (alignOf(column) === 'right' ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: unknown): string {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) return '-';
  let unitIndex = 0;
  let size = bytes;
  while (size >= 1024 && unitIndex < BYTE_UNITS.length - 1) {
    size /= 1024;
    unitIndex++;
  }
  return unitIndex === 0 ? `${size} B` : `${size.toFixed(1)} ${BYTE_UNITS[unitIndex]}`;
}

export function formatDurationMs(ms: unknown): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return '-';
  const totalSec = Math.floor(ms / 1000);
  const days = Math.floor(totalSec / 86400);
  const hours = Math.floor((totalSec % 86400) / 3600);
  const minutes = Math.floor((totalSec % 3600) / 60);
  const seconds = totalSec % 60;
  if (days > 0) return `${days}d ${hours}h ${minutes}m`;
  if (hours > 0) return `${hours}h ${minutes}m ${seconds}s`;
  if (minutes > 0) return `${minutes}m ${seconds}s`;
  return totalSec > 0 ? `${seconds}s` : `${Math.round(ms)}ms`;
}

/** TTL as people read it: -1 never expires. */
export function formatTtl(ttl: unknown): string {
  if (ttl === -1) return 'never';
  if (typeof ttl !== 'number') return '-';
  return `${ttl}s`;
}

/** The one-line form of an error: `error <code> <NAME>: message`. */
/**
 * An error as `--json` prints it: `{error: {code, name, message, inDoubt}}`, the code an Aerospike
 * result code (docs/errors.md), -1 CLIENT_ERROR for a failure of the client itself.
 */
export function errorJson(error: unknown): { error: { code: number; name: string; message: string; inDoubt: boolean } } {
  if (error !== null && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'number') {
    const { code, message, inDoubt } = error as { code: number; message: string; inDoubt?: boolean };
    return { error: { code, name: statusName(code), message: message ?? '', inDoubt: inDoubt === true } };
  }
  return { error: { code: -1, name: 'CLIENT_ERROR', message: error instanceof Error ? error.message : String(error), inDoubt: false } };
}

export function formatError(error: unknown): string {
  if (error !== null && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'number') {
    const { code, message, inDoubt } = error as { code: number; message: string; inDoubt?: boolean };
    const name = statusName(code);
    const text = message && message !== name ? `: ${message}` : '';
    return `error ${code} ${name}${text}${inDoubt ? ' (in doubt: the write may have been applied)' : ''}`;
  }
  return `error -1 CLIENT_ERROR: ${error instanceof Error ? error.message : String(error)}`;
}
