// The node's configuration: a JSON file merged over built-in defaults and validated field by
// field, so that a typo fails start-up with the path of the bad field instead of being ignored.

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import * as C from './constants';
import { AerieError, Status } from './errors';
import { arenaBlockBytes, indexBytesFor, workerShareBytes, workerShareBytesMin } from './memory-sizing';

export interface NamespaceConfig {
  name: string;
  /** 'memory': records live only in shared memory. 'file': every write is also logged to disk. */
  storage: 'memory' | 'file';
  /** For 'file': where logs go (resolved against the working directory), one folder per namespace. */
  dataDir: string;
  /**
   * For 'file': 'commit-to-device' acknowledges a write only after its log bytes are fdatasync'd
   * (group commit); 'flush-ms' acknowledges after write() and syncs every flushMs (loss window).
   */
  commit: 'commit-to-device' | 'flush-ms';
  flushMs: number;
  /** Index + record memory this namespace may use across all workers. */
  memoryBytesMax: number;
  /** Writes fail with SERVER_MEM (8) once memory use passes this share of memoryBytesMax. */
  stopWritesPct: number;
  /** TTL applied when a write asks for the namespace default (ttl 0); 0 = never expire. */
  defaultTtlSec: number;
  recordBytesMax: number;
  /** For 'file': a log segment's size limit; the log rolls to a new segment past it. */
  segmentBytes: number;
  /** For 'file': how often the primary compacts each worker's log (0 = never). */
  compactionIntervalMs: number;
  /** For 'file': sealed segments with less than this share of live bytes are rewritten. */
  compactionLiveRatioMax: number;
  /**
   * For 'file': a damaged record in the middle of a log normally stops start-up with its file and
   * offset; true skips such regions instead (counted and logged loudly). Records in them are lost.
   */
  recoverySkipCorrupt: boolean;
  /**
   * For 'file': writes stop (SERVER_MEM, 8) while the log device's free space is under
   * max(diskMinFreeBytes, diskMinFreePct of the device); deletes and truncates go on into that
   * reserve, and writes resume by themselves once space returns (docs/storage.md, "A full device").
   */
  diskMinFreeBytes: number;
  diskMinFreePct: number;
  /**
   * Copies of each partition, on distinct workers: one master and replicationFactor - 1 replicas
   * (docs/replication.md). Capped at the number of workers.
   */
  replicationFactor: number;
}

/** service.tls: the node's certificate and key (PEM files), reloaded on SIGHUP. */
export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** CAs that sign client certificates (and complete the chain); null: the system's. */
  caFile: string | null;
  /** Require a client certificate signed by caFile; a handshake without one is refused. */
  requestCert: boolean;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
}

export interface NodeConfig {
  service: {
    host: string;
    port: number;
    frameBytesMax: number;
    /** Sessions (finished upgrades) at once; sockets are capped by this and the descriptor budget. */
    connectionsMax: number;
    /** A socket that has not finished its WebSocket upgrade this long after connecting is dropped. */
    handshakeTimeoutMs: number;
    /** A session that has not sent HELLO this long after its upgrade is closed (1008). */
    helloTimeoutMs: number;
    inFlightPerConnectionMax: number;
    /** Answer bytes one connection may hold (in flight at their bounds, being built, unsent). */
    sendBufferBytesMax: number;
    /** Answer bytes the whole node may hold, over all connections. */
    answerBytesMax: number;
    /**
     * GET and EXISTS of memory namespaces are answered by the primary from the worker's shared
     * memory under its seqlock, skipping the round trip through the rings (src/primary/direct-reads.ts).
     */
    directReads: boolean;
    /**
     * A second port answering only the plain HTTP endpoints (/livez, /readyz, /metrics), open
     * until the node has stopped: a probe there sees the drain (0: any free port; null: none).
     */
    adminPort: number | null;
    /**
     * Browser origins (scheme://host[:port]) whose WebSocket upgrades are accepted; "*" accepts
     * every origin. An upgrade without an Origin header (a non-browser client) is always accepted.
     */
    allowedOrigins: string[];
    /** Host header names accepted besides loopback ones on a loopback bind (docs/security.md). */
    allowedHosts: string[];
    /**
     * Where each worker thread's own WebSocket endpoint listens (docs/protocol.md §13): 'next'
     * puts worker i on port + 1 + i (every one ephemeral when port is 0), 0 makes every one
     * ephemeral, a list names each worker's port (0: ephemeral).
     */
    workerPorts: 'next' | 0 | number[];
    /** wss:// on the front, every worker endpoint and the admin port (docs/security.md, TLS); null: plain ws://. */
    tls: TlsConfig | null;
  };
  security: SecurityConfig;
  workers: {
    /** 0 = one per available core, at least 2. */
    count: number;
    /** A worker's JS heap limit (resourceLimits.maxOldGenerationSizeMb). Records live off-heap. */
    heapMbMax: number;
    /**
     * Data bytes of each replication channel between two workers (a power of two): how much a
     * dead replica's journal holds before it is copied whole instead (docs/replication.md).
     */
    replicationChannelBytes: number;
  };
  supervisor: {
    /** A worker whose heartbeat is older than this is declared hung and restarted. */
    heartbeatTimeoutMs: number;
    /** How often heartbeats are checked. */
    checkIntervalMs: number;
    /** Delay before restarting a failed worker; doubles with each recent failure up to the max. */
    restartDelayMsMin: number;
    restartDelayMsMax: number;
    /** After this many failures of one worker within crashLoopWindowMs, it is not restarted. */
    crashLoopMax: number;
    crashLoopWindowMs: number;
    /**
     * A worker given up on is tried again after this long, doubling with each give-up in a row up
     * to giveUpRetryMsMax (0: never, until an operator runs `aerie worker restart`).
     */
    giveUpRetryMs: number;
    giveUpRetryMsMax: number;
    /** A worker whose heap passes this share of heapMbMax is restarted before it runs out. */
    heapRestartPct: number;
    /**
     * A worker whose event loop was blocked longer than this (ms) at a stretch is restarted
     * proactively; 0 (the default) turns this off. Its heartbeat may still beat (it advances
     * inside long batches), so this catches a thread that serves but has stopped yielding:
     * control messages, timers and expiry starve. Set it above the longest index rehash (a
     * worker doubling a table of several million entries blocks for a second or more).
     */
    lagRestartMs: number;
    /** Allows the FAULT admin request (tests and drills); off in production. */
    faultInjection: boolean;
  };
  namespaces: NamespaceConfig[];
  log: {
    level: 'debug' | 'info' | 'warn' | 'error' | 'silent';
    /** Append log lines to this file instead of standard output (null: standard output). */
    file: string | null;
    /** 'json': one JSON object per line; 'pretty': readable lines; 'auto': pretty on a terminal. */
    format: 'auto' | 'json' | 'pretty';
  };
}

export interface SecurityConfig {
  /** Users, roles and logins (docs/security.md). Off: every client may do everything. */
  enabled: boolean;
  /** With security off, a bind to a non-loopback address is refused unless this says so. */
  allowUnauthenticated: boolean;
  /** A file holding the first admin's password, read at the first start (else AERIE_ADMIN_PASSWORD). */
  adminPasswordFile: string | null;
  /** Where users.json and the token key live (resolved against the working directory). */
  dataDir: string;
  /** How long a session token from a login stays valid. */
  tokenTtlMs: number;
  /** JSON lines of security-relevant actions (src/security/audit-log.ts); null: none. */
  auditFile: string | null;
  /** The audit file is rotated past this size. */
  auditFileBytesMax: number;
}

/** The embedded default configuration shipped in config/. */
export const DEFAULT_CONFIG_PATH = path.resolve(__dirname, '..', '..', 'config', 'default.json');

const NAMESPACE_DEFAULTS: Omit<NamespaceConfig, 'name'> = {
  storage: 'memory',
  dataDir: 'data',
  commit: 'commit-to-device',
  flushMs: 100,
  memoryBytesMax: C.NAMESPACE_MEMORY_BYTES_DEFAULT,
  stopWritesPct: C.STOP_WRITES_PCT_DEFAULT,
  defaultTtlSec: 0,
  recordBytesMax: C.RECORD_BYTES_MAX_DEFAULT,
  segmentBytes: C.SEGMENT_BYTES_DEFAULT,
  compactionIntervalMs: C.COMPACTION_INTERVAL_MS_DEFAULT,
  compactionLiveRatioMax: C.COMPACTION_LIVE_RATIO_MAX_DEFAULT,
  recoverySkipCorrupt: false,
  diskMinFreeBytes: C.DISK_MIN_FREE_BYTES_DEFAULT,
  diskMinFreePct: C.DISK_MIN_FREE_PCT_DEFAULT,
  replicationFactor: C.REPLICATION_FACTOR_DEFAULT,
};

function fail(where: string, what: string): never {
  throw new AerieError(Status.PARAMETER, `config: ${where}: ${what}`);
}

function int(obj: Record<string, unknown>, key: string, where: string, def: number, min: number, max: number): number {
  const v = obj[key] ?? def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(`${where}.${key}`, `must be an integer from ${min} to ${max}`);
  }
  return v;
}

/** A number in (min, max]: a ratio, not a count. */
function ratio(obj: Record<string, unknown>, key: string, where: string, def: number, min: number, max: number): number {
  const v = obj[key] ?? def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= min || v > max) fail(`${where}.${key}`, `must be a number above ${min} and at most ${max}`);
  return v;
}

function onlyKeys(obj: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) fail(`${where}.${k}`, 'unknown setting');
}

function section(raw: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = raw[key] ?? {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(key, 'must be an object');
  return v as Record<string, unknown>;
}

function namespaceFrom(raw: unknown, index: number): NamespaceConfig {
  const where = `namespaces[${index}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where, 'must be an object');
  const o = raw as Record<string, unknown>;
  onlyKeys(
    o,
    [
      'name',
      'storage',
      'dataDir',
      'commit',
      'flushMs',
      'memoryBytesMax',
      'stopWritesPct',
      'defaultTtlSec',
      'recordBytesMax',
      'segmentBytes',
      'compactionIntervalMs',
      'compactionLiveRatioMax',
      'recoverySkipCorrupt',
      'diskMinFreeBytes',
      'diskMinFreePct',
      'replicationFactor',
    ],
    where,
  );
  const name = o.name;
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > C.NAMESPACE_NAME_BYTES_MAX) {
    fail(`${where}.name`, `must be a non-empty string of at most ${C.NAMESPACE_NAME_BYTES_MAX} bytes`);
  }
  const storage = o.storage ?? NAMESPACE_DEFAULTS.storage;
  if (storage !== 'memory' && storage !== 'file') fail(`${where}.storage`, "must be 'memory' or 'file'");
  const dataDir = o.dataDir ?? NAMESPACE_DEFAULTS.dataDir;
  if (typeof dataDir !== 'string' || dataDir.length === 0) fail(`${where}.dataDir`, 'must be a non-empty path');
  const commit = o.commit ?? NAMESPACE_DEFAULTS.commit;
  if (commit !== 'commit-to-device' && commit !== 'flush-ms') fail(`${where}.commit`, "must be 'commit-to-device' or 'flush-ms'");
  const d = NAMESPACE_DEFAULTS;
  const recordBytesMax = int(o, 'recordBytesMax', where, d.recordBytesMax, 1024, C.RECORD_BYTES_CEILING);
  const segmentBytes = int(o, 'segmentBytes', where, d.segmentBytes, C.SEGMENT_BYTES_MIN, C.SEGMENT_BYTES_MAX);
  // The log must hold a largest record (header, key and bins) in one segment.
  if (segmentBytes % C.LOG_RECORD_ALIGN_BYTES !== 0 || segmentBytes < C.LOG_RECORD_HEADER_BYTES + recordBytesMax + C.LOG_RECORD_ALIGN_BYTES) {
    fail(`${where}.segmentBytes`, `must be a multiple of ${C.LOG_RECORD_ALIGN_BYTES} holding a largest record (recordBytesMax + ${C.LOG_RECORD_HEADER_BYTES + C.LOG_RECORD_ALIGN_BYTES})`);
  }
  const recoverySkipCorrupt = o.recoverySkipCorrupt ?? d.recoverySkipCorrupt;
  if (typeof recoverySkipCorrupt !== 'boolean') fail(`${where}.recoverySkipCorrupt`, 'must be true or false');
  const compactionIntervalMs = int(o, 'compactionIntervalMs', where, d.compactionIntervalMs, 0, C.COMPACTION_INTERVAL_MS_MAX);
  if (compactionIntervalMs !== 0 && compactionIntervalMs < C.COMPACTION_INTERVAL_MS_MIN) {
    fail(`${where}.compactionIntervalMs`, `must be 0 (never) or from ${C.COMPACTION_INTERVAL_MS_MIN} to ${C.COMPACTION_INTERVAL_MS_MAX}`);
  }
  return {
    name,
    storage,
    dataDir: path.resolve(dataDir),
    commit,
    flushMs: int(o, 'flushMs', where, d.flushMs, C.FLUSH_MS_MIN, C.FLUSH_MS_MAX),
    memoryBytesMax: int(o, 'memoryBytesMax', where, d.memoryBytesMax, 1024 * 1024, 2 ** 45),
    stopWritesPct: int(o, 'stopWritesPct', where, d.stopWritesPct, 1, 100),
    defaultTtlSec: int(o, 'defaultTtlSec', where, d.defaultTtlSec, 0, C.TTL_SEC_MAX),
    recordBytesMax,
    segmentBytes,
    compactionIntervalMs,
    compactionLiveRatioMax: ratio(o, 'compactionLiveRatioMax', where, d.compactionLiveRatioMax, 0, 1),
    recoverySkipCorrupt,
    diskMinFreeBytes: int(o, 'diskMinFreeBytes', where, d.diskMinFreeBytes, 0, 2 ** 50),
    diskMinFreePct: int(o, 'diskMinFreePct', where, d.diskMinFreePct, 0, 99),
    replicationFactor: int(o, 'replicationFactor', where, d.replicationFactor, 1, C.REPLICATION_FACTOR_MAX),
  };
}

/** Validates a configuration object (as parsed from JSON) and fills in defaults. */
export function parseConfig(raw: unknown): NodeConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('(top)', 'must be an object');
  const top = raw as Record<string, unknown>;
  onlyKeys(top, ['service', 'security', 'workers', 'supervisor', 'namespaces', 'log'], '(top)');
  const s = section(top, 'service');
  onlyKeys(
    s,
    [
      'host',
      'port',
      'frameBytesMax',
      'connectionsMax',
      'handshakeTimeoutMs',
      'helloTimeoutMs',
      'inFlightPerConnectionMax',
      'sendBufferBytesMax',
      'answerBytesMax',
      'directReads',
      'adminPort',
      'allowedOrigins',
      'allowedHosts',
      'workerPorts',
      'tls',
    ],
    'service',
  );
  const directReads = s.directReads ?? true;
  if (typeof directReads !== 'boolean') fail('service.directReads', 'must be true or false');
  const adminPort = s.adminPort ?? null;
  if (adminPort !== null && (typeof adminPort !== 'number' || !Number.isInteger(adminPort) || adminPort < 0 || adminPort > 65535)) {
    fail('service.adminPort', 'must be null or an integer from 0 to 65535');
  }
  if (adminPort !== null && adminPort !== 0 && adminPort === s.port) fail('service.adminPort', 'must differ from service.port');
  const host = s.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0) fail('service.host', 'must be a non-empty string');
  const w = section(top, 'workers');
  onlyKeys(w, ['count', 'heapMbMax', 'replicationChannelBytes'], 'workers');
  const replicationChannelBytes = int(w, 'replicationChannelBytes', 'workers', C.REPL_RING_BYTES, C.REPL_RING_BYTES_MIN, C.REPL_RING_BYTES);
  if ((replicationChannelBytes & (replicationChannelBytes - 1)) !== 0) fail('workers.replicationChannelBytes', 'must be a power of two');
  const sv = section(top, 'supervisor');
  onlyKeys(
    sv,
    [
      'heartbeatTimeoutMs',
      'checkIntervalMs',
      'restartDelayMsMin',
      'restartDelayMsMax',
      'crashLoopMax',
      'crashLoopWindowMs',
      'giveUpRetryMs',
      'giveUpRetryMsMax',
      'heapRestartPct',
      'lagRestartMs',
      'faultInjection',
    ],
    'supervisor',
  );
  const faultInjection = sv.faultInjection ?? false;
  if (typeof faultInjection !== 'boolean') fail('supervisor.faultInjection', 'must be true or false');
  const l = section(top, 'log');
  onlyKeys(l, ['level', 'file', 'format'], 'log');
  const level = l.level ?? 'info';
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(level as string)) fail('log.level', 'must be debug, info, warn, error or silent');
  const logFile = l.file ?? null;
  if (logFile !== null && (typeof logFile !== 'string' || logFile.length === 0)) fail('log.file', 'must be a non-empty path or null');
  const logFormat = l.format ?? 'auto';
  if (!['auto', 'json', 'pretty'].includes(logFormat as string)) fail('log.format', 'must be auto, json or pretty');

  const nsRaw = top.namespaces ?? [{ name: 'test' }];
  if (!Array.isArray(nsRaw) || nsRaw.length === 0 || nsRaw.length > C.NAMESPACES_MAX) {
    fail('namespaces', `must be an array of 1 to ${C.NAMESPACES_MAX} namespaces`);
  }
  const namespaces = nsRaw.map(namespaceFrom);
  const names = new Set(namespaces.map((n) => n.name));
  if (names.size !== namespaces.length) fail('namespaces', 'names must be unique');

  // Limits along a request's path must be reachable in order (docs/protocol.md §10): a frame must
  // carry a largest record's PUT, and a connection's answer budget one full frame, which the
  // node's must hold too.
  const frameBytesMax = int(s, 'frameBytesMax', 'service', C.FRAME_BYTES_MAX_DEFAULT, 64 * 1024, C.RING_MESSAGE_BYTES_MAX);
  for (const [i, ns] of namespaces.entries()) {
    if (ns.recordBytesMax + C.REQUEST_BODY_OVERHEAD_BYTES > frameBytesMax) {
      fail('service.frameBytesMax', `must be at least namespaces[${i}].recordBytesMax plus ${C.REQUEST_BODY_OVERHEAD_BYTES} bytes, or that record size could never be written`);
    }
  }
  const sendBufferBytesMax = int(s, 'sendBufferBytesMax', 'service', C.SEND_BUFFER_BYTES_MAX_DEFAULT, 1024 * 1024, 2 ** 40);
  if (sendBufferBytesMax < frameBytesMax) fail('service.sendBufferBytesMax', 'must be at least service.frameBytesMax');
  const answerBytesMax = int(s, 'answerBytesMax', 'service', C.ANSWER_BYTES_MAX_DEFAULT, 1024 * 1024, 2 ** 40);
  if (answerBytesMax < sendBufferBytesMax) fail('service.answerBytesMax', 'must be at least service.sendBufferBytesMax');

  // A replicated record travels as one channel message, which may take half a channel.
  for (const [i, ns] of namespaces.entries()) {
    if (ns.replicationFactor > 1 && ns.recordBytesMax + C.REPL_MESSAGE_OVERHEAD_BYTES > replicationChannelBytes / 2) {
      fail('workers.replicationChannelBytes', `must be at least twice namespaces[${i}].recordBytesMax plus ${C.REPL_MESSAGE_OVERHEAD_BYTES} bytes`);
    }
  }

  const config: NodeConfig = {
    service: {
      host,
      port: int(s, 'port', 'service', 3000, 0, C.PORT_MAX),
      frameBytesMax,
      connectionsMax: int(s, 'connectionsMax', 'service', C.CONNECTIONS_MAX_DEFAULT, 1, 1_000_000),
      handshakeTimeoutMs: int(s, 'handshakeTimeoutMs', 'service', C.HANDSHAKE_TIMEOUT_MS_DEFAULT, 100, 600_000),
      helloTimeoutMs: int(s, 'helloTimeoutMs', 'service', C.HELLO_TIMEOUT_MS_DEFAULT, 100, 600_000),
      inFlightPerConnectionMax: int(s, 'inFlightPerConnectionMax', 'service', C.IN_FLIGHT_PER_CONNECTION_MAX_DEFAULT, 1, C.REQUEST_SLOTS_MAX),
      sendBufferBytesMax,
      answerBytesMax,
      directReads,
      adminPort: adminPort as number | null,
      allowedOrigins: stringList(s, 'allowedOrigins', 'service'),
      allowedHosts: stringList(s, 'allowedHosts', 'service'),
      workerPorts: workerPortsFrom(s.workerPorts),
      tls: tlsFrom(s.tls),
    },
    security: securityFrom(section(top, 'security')),
    workers: { count: int(w, 'count', 'workers', 0, 0, C.WORKERS_MAX), heapMbMax: int(w, 'heapMbMax', 'workers', 1024, 64, 65536), replicationChannelBytes },
    supervisor: {
      heartbeatTimeoutMs: int(sv, 'heartbeatTimeoutMs', 'supervisor', 500, 50, 600_000),
      checkIntervalMs: int(sv, 'checkIntervalMs', 'supervisor', 50, 10, 60_000),
      restartDelayMsMin: int(sv, 'restartDelayMsMin', 'supervisor', 10, 0, 60_000),
      restartDelayMsMax: int(sv, 'restartDelayMsMax', 'supervisor', 2000, 0, 600_000),
      crashLoopMax: int(sv, 'crashLoopMax', 'supervisor', 5, 1, 1000),
      crashLoopWindowMs: int(sv, 'crashLoopWindowMs', 'supervisor', 60_000, 1000, 86_400_000),
      giveUpRetryMs: int(sv, 'giveUpRetryMs', 'supervisor', 30_000, 0, 86_400_000),
      giveUpRetryMsMax: int(sv, 'giveUpRetryMsMax', 'supervisor', 3_600_000, 0, 86_400_000),
      heapRestartPct: int(sv, 'heapRestartPct', 'supervisor', 90, 10, 100),
      lagRestartMs: int(sv, 'lagRestartMs', 'supervisor', 0, 0, 600_000),
      faultInjection,
    },
    namespaces,
    log: { level: level as NodeConfig['log']['level'], file: logFile as string | null, format: logFormat as NodeConfig['log']['format'] },
  };
  checkMemoryShares(config);
  checkProtectedMode(config);
  checkWorkerPorts(config);
  return config;
}

function stringList(obj: Record<string, unknown>, key: string, where: string): string[] {
  const v = obj[key] ?? [];
  if (!Array.isArray(v) || v.length > C.ALLOWED_ORIGINS_MAX || !v.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 255)) {
    fail(`${where}.${key}`, `must be an array of at most ${C.ALLOWED_ORIGINS_MAX} non-empty strings`);
  }
  return (v as string[]).map((x) => x.toLowerCase());
}

function tlsFrom(raw: unknown): TlsConfig | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) fail('service.tls', 'must be an object {certFile, keyFile, caFile?, requestCert?, minVersion?} or null');
  const o = raw as Record<string, unknown>;
  onlyKeys(o, ['certFile', 'keyFile', 'caFile', 'requestCert', 'minVersion'], 'service.tls');
  const file = (key: string, required: boolean): string | null => {
    const v = o[key] ?? null;
    if (v === null && !required) return null;
    if (typeof v !== 'string' || v.length === 0) fail(`service.tls.${key}`, 'must be the path of a PEM file');
    return path.resolve(v as string);
  };
  const requestCert = o.requestCert ?? false;
  if (typeof requestCert !== 'boolean') fail('service.tls.requestCert', 'must be true or false');
  const caFile = file('caFile', false);
  if (requestCert && caFile === null) fail('service.tls.requestCert', 'needs caFile: the CA that signs the client certificates');
  const minVersion = o.minVersion ?? 'TLSv1.2';
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') fail('service.tls.minVersion', "must be 'TLSv1.2' or 'TLSv1.3'");
  return { certFile: file('certFile', true)!, keyFile: file('keyFile', true)!, caFile, requestCert: requestCert as boolean, minVersion: minVersion as TlsConfig['minVersion'] };
}

function securityFrom(o: Record<string, unknown>): SecurityConfig {
  onlyKeys(o, ['enabled', 'allowUnauthenticated', 'adminPasswordFile', 'dataDir', 'tokenTtlMs', 'auditFile', 'auditFileBytesMax'], 'security');
  const enabled = o.enabled ?? false;
  if (typeof enabled !== 'boolean') fail('security.enabled', 'must be true or false');
  const allowUnauthenticated = o.allowUnauthenticated ?? false;
  if (typeof allowUnauthenticated !== 'boolean') fail('security.allowUnauthenticated', 'must be true or false');
  const adminPasswordFile = o.adminPasswordFile ?? null;
  if (adminPasswordFile !== null && (typeof adminPasswordFile !== 'string' || adminPasswordFile.length === 0)) fail('security.adminPasswordFile', 'must be a non-empty path');
  const auditFile = o.auditFile ?? null;
  if (auditFile !== null && (typeof auditFile !== 'string' || auditFile.length === 0)) fail('security.auditFile', 'must be a non-empty path');
  const dataDir = o.dataDir ?? 'data';
  if (typeof dataDir !== 'string' || dataDir.length === 0) fail('security.dataDir', 'must be a non-empty path');
  return {
    enabled,
    allowUnauthenticated,
    adminPasswordFile: adminPasswordFile === null ? null : path.resolve(adminPasswordFile as string),
    dataDir: path.resolve(dataDir),
    tokenTtlMs: int(o, 'tokenTtlMs', 'security', C.TOKEN_TTL_MS_DEFAULT, C.TOKEN_TTL_MS_MIN, C.TOKEN_TTL_MS_MAX),
    auditFile: auditFile === null ? null : path.resolve(auditFile as string),
    auditFileBytesMax: int(o, 'auditFileBytesMax', 'security', C.AUDIT_FILE_BYTES_MAX_DEFAULT, 4096, 2 ** 40),
  };
}

/**
 * Protected mode, as Redis has it: a node without security must not be reachable from other
 * machines by accident. A bind to anything but a loopback address needs security or an explicit
 * allowUnauthenticated.
 */
function checkProtectedMode(config: NodeConfig): void {
  const { security, service } = config;
  if (security.enabled || security.allowUnauthenticated || isLoopbackHost(service.host)) return;
  fail(
    'service.host',
    `'${service.host}' is not a loopback address and security is off, so anyone who can reach it could read, write and truncate every record: ` +
      'set security.enabled (docs/security.md), bind to 127.0.0.1, or set security.allowUnauthenticated: true to run open on purpose',
  );
}

/** Loopback: localhost, 127.0.0.0/8, ::1 (and its IPv4-mapped form of 127/8). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

function workerPortsFrom(raw: unknown): 'next' | 0 | number[] {
  const where = 'service.workerPorts';
  if (raw === undefined || raw === 'next') return 'next';
  if (raw === 0) return 0;
  if (!Array.isArray(raw)) fail(where, `must be "next", 0 (ephemeral) or a list of ports, one per worker`);
  for (const port of raw) {
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > C.PORT_MAX) fail(where, `every port must be an integer in 0..${C.PORT_MAX}`);
  }
  return raw as number[];
}

/** Worker endpoints need a port each, none shared with another endpoint (the primary's included). */
function checkWorkerPorts(config: NodeConfig): void {
  const where = 'service.workerPorts';
  const ports = config.service.workerPorts;
  const workers = workerCount(config);
  if (Array.isArray(ports)) {
    if (config.workers.count === 0) fail(where, 'a list of ports needs workers.count set: one port per worker');
    if (ports.length !== workers) fail(where, `must list ${workers} ports, one per worker (workers.count)`);
  }
  const fixed = Array.from({ length: workers }, (_, i) => workerPort(config, i)).filter((p) => p !== 0);
  if (config.service.port !== 0) fixed.push(config.service.port);
  if (new Set(fixed).size !== fixed.length) fail(where, 'two endpoints share a port (service.port counts too)');
  if (fixed.some((p) => p > C.PORT_MAX)) fail(where, `"next" runs past port ${C.PORT_MAX}: lower service.port or list the ports`);
}

/** The port worker `workerIndex`'s endpoint listens on (0: any free one, reported once bound). */
export function workerPort(config: NodeConfig, workerIndex: number): number {
  const ports = config.service.workerPorts;
  if (ports === 0) return 0;
  if (ports === 'next') return config.service.port === 0 ? 0 : config.service.port + 1 + workerIndex;
  return ports[workerIndex];
}

/**
 * Each worker's share of a namespace must take a write: hold the initial index and one arena
 * block for a largest record, with the index alone below stop-writes (src/memory-sizing.ts).
 * Smaller, the node would start and refuse every write (or not start at all).
 */
function checkMemoryShares(config: NodeConfig): void {
  const workers = workerCount(config);
  for (const [i, ns] of config.namespaces.entries()) {
    const shareMin = workerShareBytesMin(ns.recordBytesMax, ns.stopWritesPct);
    if (workerShareBytes(ns.memoryBytesMax, workers) >= shareMin) continue;
    const index = indexBytesFor(C.INDEX_SLOTS_INITIAL);
    fail(
      `namespaces[${i}].memoryBytesMax`,
      `must be at least ${shareMin * workers} bytes for ${workers} workers: each worker's share must hold the initial index ` +
        `(${index} bytes) and one arena block for a largest record (${arenaBlockBytes(0, ns.recordBytesMax)} bytes, from recordBytesMax ${ns.recordBytesMax}), ` +
        `with the index below stopWritesPct ${ns.stopWritesPct}`,
    );
  }
}

/** Reads and validates a config file; without a path, the embedded default. */
export function loadConfig(file: string = DEFAULT_CONFIG_PATH): NodeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(file, `cannot read: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    fail(file, `not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(raw);
}

/** The worker count a config resolves to. */
export function workerCount(config: NodeConfig): number {
  if (config.workers.count > 0) return Math.max(1, config.workers.count);
  return Math.min(C.WORKERS_MAX, Math.max(2, availableParallelism()));
}

/** A namespace's copies per partition on a node of `workers` workers: its factor, capped. */
export function replicationOf(ns: NamespaceConfig, workers: number): number {
  return Math.max(1, Math.min(ns.replicationFactor, workers));
}
