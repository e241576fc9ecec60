// `aerie verify`: asks a node to check every stored record against its index (the verify job on
// the node's background pool) and prints what it found. Exit 1 when a problem is found.

import * as path from 'node:path';
import { defaultHost, HOST_DEFAULT_TEXT, ExitCode, parseCommandArgs, println, UsageError, type ExitCodeValue, type Io } from './args';
import { runOfflineVerify } from './verify-offline';
import { formatTable, toJson } from './format';
import { withClient } from './with-client';
import { withProgressLine } from './progress';

export const VERIFY_USAGE = `usage: aerie verify [--host HOST:PORT] [--ns NAMESPACE] [--repair] [--json]
       aerie verify --data-dir DIR [--ns NAMESPACE] [--repair] [--json]

Checks every stored record of one namespace (or all) against the index: its
location, its header (digest, generation, set, void-time), its lengths, and
that its key and bins are well-formed. Records written during the check are
counted as "changing" rather than judged. Exit code 1 when problems are found.

With --repair, each damaged record of a file namespace is replaced by its newest
durable version (base snapshot, then log) unless it was written meanwhile, or
removed when it has none; a memory namespace's are only reported. Exit code 0
when every problem found was repaired or removed, 1 otherwise.

With --data-dir, no node is asked: the files of a stopped node's file namespaces
under DIR (the namespaces' dataDir) are read — every worker's log, every part of
the base snapshot, the manifests — and every damaged region is listed with its
file, byte offset and kind (torn tail, bad record mid-log, bad base snapshot
part, namespace file) and what cutting it would lose. With --repair, records
another worker's log holds are rebuilt from that copy at the next start, the
damaged regions are cut out (files rewritten, synced, renamed) and the records
lost or possibly lost are counted and printed; afterwards the node starts
without recoverySkipCorrupt. Refused while a node holds DIR (its aerie.lock).
Exit code 0 when nothing was found or everything found was repaired.

options:
  --host HOST:PORT   node to ask (default ${HOST_DEFAULT_TEXT})
  --data-dir DIR     check a stopped node's files instead (no node needed)
  --ns NAMESPACE     only this namespace
  --repair           repair what is found (file namespaces)
  --json             print the raw report as JSON
  -h, --help         show this help`;

interface NsReport {
  name: string;
  records: number;
  copies: number;
  checked: number;
  changing: number;
  problemCount: number;
  problems: { digest: string; problem: string }[];
  stale: boolean;
  repair?: { repaired: number; removed: number; skipped: number; unrepairable: number; notAttempted: number; outcomes: { digest: string; outcome: string; detail: string }[] };
}

export async function runVerify(args: string[], io: Io): Promise<ExitCodeValue> {
  const { values } = parseCommandArgs('verify', args, {
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    ns: { type: 'string' },
    json: { type: 'boolean', default: false },
    repair: { type: 'boolean', default: false },
  });
  if (values.help) {
    println(io.stdout, VERIFY_USAGE);
    return ExitCode.OK;
  }
  const dataDir = values['data-dir'] as string | undefined;
  if (dataDir !== undefined) {
    if (values.host !== undefined) throw new UsageError("--host and --data-dir exclude each other: a running node, or a stopped node's files", 'verify');
    return runOfflineVerify(path.resolve(dataDir), values.ns as string | undefined, values.repair === true, values.json === true, io);
  }
  return withClient(
    (values.host as string | undefined) ?? defaultHost(),
    io,
    async (client) => {
      const ns = values.ns as string | undefined;
      const what = `${values.repair ? 'repairing' : 'verifying'} ${ns ?? 'every namespace'}`;
      // On a terminal the node's progress pushes draw done of total with an ETA; --json asks for none, as before.
      const report = (await withProgressLine(io.stderr, what, (onProgress) => (values.repair ? client.repair(ns, { onProgress }) : client.verify(ns, { onProgress })), values.json !== true)) as {
        namespaces: NsReport[];
      };
      const namespaces = report.namespaces;
      if (values.json) println(io.stdout, toJson(report));
      else println(io.stdout, formatReport(namespaces));
      const unresolved = (n: NsReport) => (n.repair === undefined ? n.problemCount > 0 : n.repair.skipped + n.repair.unrepairable + n.repair.notAttempted > 0);
      return namespaces.some(unresolved) ? ExitCode.FAILURE : ExitCode.OK;
    },
    { timeoutMs: 600_000 },
    values.json === true,
  );
}

function formatReport(namespaces: NsReport[]): string {
  const table = formatTable(
    ['namespace', 'records', 'copies', 'checked', 'changing', 'problems'],
    namespaces.map((n) => [n.name, n.records, n.copies, n.checked, n.changing, n.problemCount]),
  );
  const lines = [table];
  for (const n of namespaces) {
    for (const p of n.problems) lines.push(`${n.name} ${p.digest}: ${p.problem}`);
    if (n.problemCount > n.problems.length) lines.push(`${n.name}: ${n.problemCount - n.problems.length} more problems not listed`);
    if (n.stale) lines.push(`${n.name}: the index changed during the check; run again for a complete answer`);
  }
  for (const n of namespaces) {
    const r = n.repair;
    if (r === undefined) continue;
    for (const o of r.outcomes) lines.push(`${n.name} ${o.digest}: ${o.outcome}: ${o.detail}`);
    lines.push(
      `${n.name}: repair: ${r.repaired} repaired, ${r.removed} removed, ${r.skipped} skipped, ${r.unrepairable} unrepairable` +
        (r.notAttempted > 0 ? `, ${r.notAttempted} not attempted (run again)` : ''),
    );
  }
  lines.push(namespaces.some((n) => n.problemCount > 0) ? 'problems found' : 'no problems found');
  return lines.join('\n');
}
