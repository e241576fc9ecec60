// `aerie info`: a node's statistics as readable tables, or as raw JSON with --json.

import { DEFAULT_HOST, HOST_DEFAULT_TEXT, ExitCode, parseCommandArgs, println, type ExitCodeValue, type Io } from './args';
import { formatBytes, formatDurationMs, formatTable, toJson } from './format';
import { withClient } from './with-client';

export const INFO_USAGE = `usage: aerie info [--host HOST:PORT] [--json]

Prints a node's statistics: the node, its connections, replication (partitions
moving, writes waiting for replicas), each namespace (replication factor,
records, copies, memory, stop-writes, the log device's state and free space,
and why writes are refused when they are), each worker (state, partitions it masters
and holds as replica, copies out of sync, rebuild progress, records, operation
counters) and the partition map version.

options:
  --host HOST:PORT   node to ask (default ${HOST_DEFAULT_TEXT})
  --json             print the raw INFO answer as JSON
  -h, --help         show this help`;

export async function runInfo(args: string[], io: Io): Promise<ExitCodeValue> {
  const { values } = parseCommandArgs('info', args, {
    host: { type: 'string', default: DEFAULT_HOST },
    json: { type: 'boolean', default: false },
  });
  if (values.help) {
    println(io.stdout, INFO_USAGE);
    return ExitCode.OK;
  }
  return withClient(
    values.host as string,
    io,
    async (client) => {
      const info = await client.info();
      println(io.stdout, values.json ? toJson(info) : formatInfo(info));
      return ExitCode.OK;
    },
    {},
    values.json === true,
  );
}

type Fields = Record<string, unknown>;

function fieldsOf(value: unknown): Fields {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : {};
}

function listOf(value: unknown): Fields[] {
  return Array.isArray(value) ? value.map(fieldsOf) : [];
}

function cell(value: unknown): unknown {
  return value === undefined || value === null ? '-' : value;
}

function percent(used: unknown, max: unknown): string {
  return typeof used === 'number' && typeof max === 'number' && max > 0 ? `${((used / max) * 100).toFixed(1)}%` : '-';
}

/** Client sockets against the descriptor budget (README, "Connections and file descriptors"). */
function socketsLine(d: Record<string, unknown>): string {
  const s = fieldsOf(d.sockets);
  // Two lines, so the text stays within 100 columns.
  return (
    `${cell(s.open)} open (${cell(s.handshaking)} in their upgrade) of ${cell(d.socketsMax)} allowed, descriptor limit ${cell(d.limit)}\n` +
    `                       ${cell(s.refused)} refused, ${cell(s.handshakeTimeouts)} timed out in their upgrade`
  );
}

/** YES when some worker refuses writes; past its hard share rather than stopWritesPct, says so. */
function stopWritesCell(ns: Record<string, unknown>): string {
  if (ns.stopWrites === false) return 'no';
  if (ns.stopWrites !== true) return '-';
  return ns.stopWritesReason === 'memoryBytesMax' ? 'YES (memoryBytesMax)' : 'YES';
}

/** The INFO body (docs/protocol.md) as sections of text; missing fields print as '-'. */
export function formatInfo(info: Record<string, unknown>): string {
  const connections = fieldsOf(info.connections);
  const lines = [
    `node                   ${cell(info.node)} ${cell(info.version)} (pid ${cell(info.pid)}), up ${formatDurationMs(info.uptimeMs)}`,
    `partition map version  ${cell(info.partitionMapVersion)}`,
    `connections            ${cell(connections.open)} open, ${cell(connections.opened)} opened, ${cell(connections.closed)} closed`,
    `sockets                ${socketsLine(fieldsOf(info.descriptors))}`,
    `requests in flight     ${cell(info.requestsInFlight)}`,
    `replication            ${replicationLine(fieldsOf(info.replication), info.replication)}`,
    '',
    'namespaces',
    formatTable(
      ['NAME', 'STORAGE', 'RF', 'RECORDS', 'COPIES', 'MEMORY', 'LIMIT', 'USED/AT', 'STOP-WRITES', 'DISK', 'EXPIRED', 'TTL'],
      listOf(info.namespaces).map((ns) => [
        cell(ns.name),
        cell(ns.storage),
        cell(ns.replicationFactor),
        cell(ns.records),
        cell(ns.copies),
        formatBytes(ns.memoryBytes),
        formatBytes(ns.memoryBytesMax),
        // Memory used, and the use at which writes stop (stopWritesPct).
        `${typeof ns.memoryUsedPct === 'number' ? `${ns.memoryUsedPct.toFixed(1)}%` : percent(ns.memoryBytes, ns.memoryBytesMax)}/${typeof ns.stopWritesPct === 'number' ? `${ns.stopWritesPct}%` : '-'}`,
        stopWritesCell(ns),
        diskCell(ns.disk),
        cell(ns.expired),
        ns.defaultTtlSec === 0 ? 'never' : typeof ns.defaultTtlSec === 'number' ? `${ns.defaultTtlSec}s` : '-',
      ]),
      ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'left', 'left', 'right', 'right'],
    ),
  ];
  for (const ns of listOf(info.namespaces)) {
    const disk = fieldsOf(ns.disk);
    if (typeof disk.freeBytes === 'number' && disk.freeBytes >= 0) lines.push(`namespace ${cell(ns.name)}: ${formatBytes(disk.freeBytes)} free on its log device`);
  }
  // Why a namespace refuses writes because of its disk, in the node's own words.
  for (const ns of listOf(info.namespaces)) {
    const reason = fieldsOf(ns.disk).reason;
    if (typeof reason === 'string') lines.push(`namespace ${cell(ns.name)}: ${reason}`);
  }
  lines.push(
    '',
    'workers',
    // Two tables, so each stays within 100 columns: the workers' state, then their requests.
    formatTable(
      ['#', 'STATE', 'PARTITIONS', 'REPLICA', 'OUT-OF-SYNC', 'RECORDS', 'HEARTBEAT', 'LAG', 'HEAP', 'RESTARTS'],
      listOf(info.workers).map((w) => [
        cell(w.index),
        cell(w.state),
        cell(w.partitions),
        cell(fieldsOf(w.roles).replica),
        cell(fieldsOf(w.roles).outOfSync),
        cell(w.records),
        typeof w.heartbeatAgeMs === 'number' && w.heartbeatAgeMs >= 0 ? `${w.heartbeatAgeMs}ms ago` : '-',
        typeof w.eventLoopLagMs === 'number' ? `${w.eventLoopLagMs}ms` : '-',
        formatBytes(w.heapUsedBytes),
        cell(w.restarts),
      ]),
      ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
    '',
    'worker requests',
    formatTable(
      ['#', 'REQUESTS', 'READS', 'WRITES', 'DELETES', 'NOT-FOUND', 'ERRORS', 'SCAN-PAGES'],
      listOf(info.workers).map((w) => [cell(w.index), cell(w.requests), cell(w.reads), cell(w.writes), cell(w.deletes), cell(w.notFound), cell(w.errors), cell(w.scanPages)]),
      ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  );
  // A rebuild under way, and the last one each worker went through.
  for (const w of listOf(info.workers)) {
    const r = fieldsOf(w.rebuild);
    if (w.rebuild !== null && w.rebuild !== undefined) {
      lines.push(
        `worker ${cell(w.index)} rebuilding: ${cell(r.partitionsRemaining)} of ${cell(r.partitionsTotal)} partitions left, ${cell(r.recordsMoved)} records copied, ${formatDurationMs(r.elapsedMs)}`,
      );
    }
    const last = fieldsOf(w.lastRebuild);
    if (w.lastRebuild !== null && w.lastRebuild !== undefined) {
      lines.push(`worker ${cell(w.index)} last rebuild: ${cell(last.partitions)} partitions, ${cell(last.records)} records in ${formatDurationMs(last.elapsedMs)}`);
    }
  }
  // Why each restarted worker last died, so an operator need not reach for --json.
  for (const w of listOf(info.workers)) {
    if (typeof w.lastFailure === 'string') lines.push(`worker ${cell(w.index)} last failure: ${w.lastFailure}`);
  }
  return lines.join('\n');
}

/** A file namespace's log device: its state and free space ('-' for memory). */
function diskCell(disk: unknown): string {
  if (disk === null || disk === undefined) return '-';
  const d = fieldsOf(disk);
  const state = typeof d.state === 'string' ? (d.state === 'ok' ? 'ok' : d.state.toUpperCase()) : '-';
  return state; // its free space goes on a line of its own (the table stays within 100 columns)
}

function replicationLine(r: Fields, raw: unknown): string {
  if (raw === null) return 'none (every namespace keeps one copy)';
  if (raw === undefined) return '-';
  return `${cell(r.partitionsMoving)} partitions moving, ${cell(r.writesWaiting)} writes waiting for replicas, ${cell(r.movesDone)} moves done`;
}
