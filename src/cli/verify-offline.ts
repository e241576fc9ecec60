// `aerie verify --data-dir DIR [--ns NS] [--repair] [--json]`: checks a stopped node's files (logs,
// base snapshot parts, manifests) without a node, and with --repair fixes what can be fixed
// (src/offline). Refuses a directory a running node holds (its aerie.lock names a live process).
// Exit 0: nothing found, or everything found repaired and a second check clean; 1 otherwise.

import * as fs from 'node:fs';
import { ExitCode, println, type ExitCodeValue, type Io } from './args';
import { toJson } from './format';
import { AerieError, Status } from '../errors';
import { checkNamespace, listNamespaces, type NamespaceCheck, type Problem } from '../offline/check';
import { repairNamespace, type RepairAction } from '../offline/repair';
import { acquireDataLock, lockFileOf, lockHolder, releaseDataLock } from '../storage/data-lock';

interface NamespaceResult {
  check: NamespaceCheck;
  actions: RepairAction[] | null;
  /** The check after the repair (null without --repair). */
  after: NamespaceCheck | null;
}

export function runOfflineVerify(dataDir: string, ns: string | undefined, repair: boolean, json: boolean, io: Io): ExitCodeValue {
  if (!fs.existsSync(dataDir)) throw new AerieError(Status.PARAMETER, `no such data directory: ${dataDir}`);
  const holder = lockHolder(dataDir);
  if (holder !== null) {
    throw new AerieError(
      Status.FAIL_FORBIDDEN,
      `${dataDir} is in use by a running node (pid ${holder}, ${lockFileOf(dataDir)}): stop it first, or use \`aerie verify --host\` to check the running node's memory`,
    );
  }
  const found = listNamespaces(dataDir);
  if (found.length === 0) throw new AerieError(Status.PARAMETER, `no file namespace under ${dataDir} (give the namespaces' dataDir: it holds <ns>/worker-NN/)`);
  if (ns !== undefined && !found.includes(ns)) throw new AerieError(Status.INVALID_NAMESPACE, `no file namespace '${ns}' under ${dataDir}`);
  const names = ns === undefined ? found : [ns];
  // A repair holds the directory like a node, so a node started meanwhile refuses it.
  if (repair) acquireDataLock(dataDir);
  let results: NamespaceResult[];
  try {
    results = names.map((name) => {
      const check = checkNamespace(dataDir, name);
      if (!repair || check.problems.length === 0) return { check, actions: null, after: null };
      const actions = repairNamespace(dataDir, check);
      return { check, actions, after: checkNamespace(dataDir, name) };
    });
  } finally {
    if (repair) releaseDataLock(dataDir);
  }
  if (json) println(io.stdout, toJson({ dataDir, namespaces: results.map(toReport) }));
  else println(io.stdout, results.map(formatNamespace).join('\n'));
  const unresolved = (r: NamespaceResult) => (r.after ?? r.check).problems.length > 0;
  return results.some(unresolved) ? ExitCode.FAILURE : ExitCode.OK;
}

function problemReport(p: Problem): Record<string, unknown> {
  const { region: _region, ...rest } = p;
  return rest;
}

function toReport(r: NamespaceResult): Record<string, unknown> {
  const c = r.check;
  return {
    namespace: c.namespace,
    workers: c.workers,
    base: c.base?.snapshot ?? null,
    records: c.records,
    fallback: c.fallback?.base.snapshot ?? null,
    problems: c.problems.map(problemReport),
    recordsLost: c.problems.reduce((a, p) => a + p.lost, 0),
    repair: r.actions === null ? null : { actions: r.actions, problemsLeft: r.after!.problems.map(problemReport) },
  };
}

const KIND_TEXT: Record<Problem['kind'], string> = {
  'torn-tail': 'torn tail (never synced: the node cuts it at start)',
  corrupt: 'bad record mid-log (synced data gone bad: start-up stops)',
  'snapshot-part': 'bad base snapshot part (start-up stops)',
  manifest: 'namespace file',
};

function formatProblem(ns: string, p: Problem): string {
  const who = p.worker >= 0 ? ` worker ${p.worker}` : '';
  if (p.kind === 'manifest') return `${ns}${who}: ${KIND_TEXT[p.kind]} ${p.file}: ${p.reason}`;
  const held = `${p.records} record(s)${p.recordsExact ? '' : ' (estimated from sequences)'}`;
  return (
    `${ns}${who}: ${KIND_TEXT[p.kind]}: ${p.file} offset ${p.offset}, ${p.bytes} bytes (${p.reason}): held ${held}: ` +
    `${p.superseded} written again later, ${p.onReplica} on another worker's copy, ` +
    (p.remedy === 'fallback' ? 'all brought back by the older base snapshot and the log after it' : `${p.lost} lost or possibly lost if cut`)
  );
}

function formatNamespace(r: NamespaceResult): string {
  const c = r.check;
  const lines = [`namespace ${c.namespace}: ${c.workers} worker(s), base snapshot ${c.base?.snapshot ?? 'none'}, ${c.records} valid records read`];
  for (const p of c.problems) lines.push(formatProblem(c.namespace, p));
  const lost = c.problems.reduce((a, p) => a + p.lost, 0);
  if (c.problems.length === 0) lines.push(`${c.namespace}: no problems found`);
  else if (r.actions === null) lines.push(`${c.namespace}: ${c.problems.length} problem(s); a repair (--repair, node stopped) would lose ${lost} record(s)`);
  if (r.actions !== null) {
    for (const a of r.actions) lines.push(`${c.namespace}: repair: ${a.action} ${a.file}: ${a.detail}`);
    lines.push(`${c.namespace}: records lost or possibly lost: ${lost}`);
    for (const p of r.after!.problems) lines.push(`${c.namespace}: NOT REPAIRED: ${formatProblem(c.namespace, p)}`);
    lines.push(r.after!.problems.length === 0 ? `${c.namespace}: repaired; the node starts without recoverySkipCorrupt` : `${c.namespace}: problems remain`);
  }
  return lines.join('\n');
}
