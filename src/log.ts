// The node's log: one JSON object per line (pino) with time, level, thread and message, plus the
// event's own fields; readable lines instead when the log goes to a terminal. Every thread builds
// its own from the same settings (a worker names itself), so log.level holds in every thread.
// Lines are written synchronously, whole: one logged just before a crash or a kill -9 is already
// in the file or the pipe, and lines of two threads never interleave.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { pino, type Logger } from 'pino';
import type { NodeConfig } from './config';

export type LogLevel = NodeConfig['log']['level'];

/** What a thread needs to build its log: the level, where lines go, and how they look. */
export interface LogSettings {
  level: LogLevel;
  /** Append to this file; null: standard output. */
  file: string | null;
  /**
   * Where every thread writes: 1 (standard output) or the file, opened once by the primary.
   * Descriptors belong to the process, not the thread: a worker that opened its own would leave
   * one open at every restart.
   */
  fd: number;
  /** 'pretty' when the primary found standard output a terminal (workers cannot tell). */
  format: 'json' | 'pretty';
}

/** Fields of one event: numbers, strings, booleans, or null (no objects: lines stay flat). */
export type LogFields = Record<string, string | number | boolean | null>;

/**
 * The kinds of event a line names in its `event` field (docs/operations.md, Logs lists each with
 * its fields): stable names for filters, alerts and the admin page, whatever the message says.
 */
export const LOG_EVENTS = [
  'node-start',
  'node-stop',
  'fault',
  'worker-down',
  'worker-restart',
  'worker-given-up',
  'crash-loop-end',
  'request-quarantined',
  'adopt-repair',
  'recovery',
  'move-start',
  'move-slow',
  'failover',
  'handback',
  'rebuild-start',
  'rebuild',
  'rebuild-retry',
  'rebuild-interrupted',
  'replica-state',
  'compaction',
  'snapshot',
  'truncate',
  'disk-state',
  'stop-writes',
] as const;

export type LogEventName = (typeof LOG_EVENTS)[number];

export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

/** One event as logged, for a listener beside the log (an in-memory list of recent events). */
export interface LoggedEvent {
  event: LogEventName;
  level: EventLevel;
  message: string;
  fields: LogFields;
}

export interface NodeLog {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** One named event: a line whose `event` field is `event`, with the event's own fields. */
  event(level: EventLevel, event: LogEventName, message: string, fields: LogFields): void;
}

/** Each node's settings (one per configuration object), so its log file is opened once. */
const opened = new WeakMap<NodeConfig, LogSettings>();

/** The settings the primary hands to every thread, from the node's configuration. */
export function logSettings(config: NodeConfig): LogSettings {
  const known = opened.get(config);
  if (known !== undefined) return known;
  const { file, level } = config.log;
  let fd = 1;
  if (file !== null && level !== 'silent') {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fd = fs.openSync(file, 'a');
  }
  const format = config.log.format === 'auto' ? (file === null && process.stdout.isTTY === true ? 'pretty' : 'json') : config.log.format;
  const settings: LogSettings = { level, file, fd, format };
  opened.set(config, settings);
  return settings;
}

/** Closes the node's log file (once its threads have stopped); standard output stays open. */
export function closeLog(config: NodeConfig): void {
  const settings = opened.get(config);
  opened.delete(config);
  if (settings !== undefined && settings.fd !== 1) fs.closeSync(settings.fd);
}

/**
 * A log for one thread ('primary', 'worker 0', ...). `onEvent` sees every named event, whatever the
 * level (at level silent too): what the log shows and what a listener keeps are separate choices.
 */
export function createLog(settings: LogSettings, thread: string, onEvent?: (e: LoggedEvent) => void): NodeLog {
  if (settings.level === 'silent') return onEvent === undefined ? SILENT : { ...SILENT, event: (level, event, message, fields) => onEvent({ event, level, message, fields }) };
  // SonicBoom, synchronous: it retries a pipe that is momentarily full (EAGAIN) instead of losing the line.
  const sink = pino.destination({ dest: settings.fd, sync: true });
  const options = { level: settings.level, base: { thread }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label: string) => ({ level: label }) } };
  const logger: Logger = settings.format === 'pretty' ? pino(options, { write: (line: string) => sink.write(pretty(line)) }) : pino(options, sink);
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
    event: (level, event, message, fields) => {
      // `event` first, so a line reads by its kind.
      logger[level]({ event, ...fields }, message);
      onEvent?.({ event, level, message, fields });
    },
  };
}

const nothing = () => undefined;
const SILENT: NodeLog = { debug: nothing, info: nothing, warn: nothing, error: nothing, event: nothing };

/** `12:00:01.234 WARN  worker 1  message  key=value ...` from one JSON line. */
function pretty(line: string): string {
  const o = JSON.parse(line) as Record<string, unknown>;
  const { time, level, thread, msg, ...fields } = o;
  const extra = Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const clock = typeof time === 'string' ? time.slice(11, 23) : '';
  return `${clock} ${String(level).toUpperCase().padEnd(5)} ${String(thread).padEnd(9)} ${String(msg)}${extra === '' ? '' : `  ${extra}`}\n`;
}

/**
 * A repeated condition (a namespace refusing writes for memory, a crash loop): one line when it
 * begins, one with its count and length when it ends, and one every `periodMs` while it lasts,
 * never one per occurrence.
 */
export class LogEpisode {
  private startedMs = -1;
  private lastLineMs = 0;
  private counted = 0;

  constructor(
    private readonly log: NodeLog,
    private readonly event: LogEventName,
    private readonly periodMs: number,
  ) {}

  get active(): boolean {
    return this.startedMs >= 0;
  }

  /** The condition holds (again): the first call of an episode logs its start. */
  begin(nowMs: number, level: EventLevel, message: string, fields: LogFields): void {
    if (this.active) return;
    this.startedMs = this.lastLineMs = nowMs;
    this.counted = 0;
    this.log.event(level, this.event, message, { ...fields, phase: 'begin' });
  }

  /** One more occurrence (a refused write): counted, not logged. */
  note(count = 1): void {
    if (this.active) this.counted += count;
  }

  /** While it lasts: a line with the count so far every `periodMs`. */
  tick(nowMs: number, level: EventLevel, message: string, fields: LogFields): void {
    if (!this.active || nowMs - this.lastLineMs < this.periodMs) return;
    this.lastLineMs = nowMs;
    this.log.event(level, this.event, message, { ...fields, phase: 'ongoing', count: this.counted, durationMs: nowMs - this.startedMs });
  }

  /** The condition is over: one line with the episode's count and length. */
  end(nowMs: number, level: EventLevel, message: string, fields: LogFields): void {
    if (!this.active) return;
    this.log.event(level, this.event, message, { ...fields, phase: 'end', count: this.counted, durationMs: nowMs - this.startedMs });
    this.startedMs = -1;
  }
}
