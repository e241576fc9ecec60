// Runs a simulation schedule against one real node: an `aerie start` child process (so a kill -9
// is a real one) with a file namespace and a memory namespace, both replicated, fault injection
// on. Client loops write, delete, operate and read their own keys; admin operations run on a quiet
// node while a fault or a kill may land inside them; every read is checked against the model, and
// each check step waits for the node to settle and compares every key, INFO's counts and copies.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { backupNamespace, connect, Key, OpType, restoreFile, type Client } from '../../../src/index';
import { BackupFileReader } from '../../../src/backup/file-reader';
import { startCliNode } from '../../helpers/cli-node';
import { prng } from '../../helpers/prng';
import { waitForValue } from '../../helpers/wait';
import { NamespaceModel, type Outcome, type Value } from './model';
import type { AdminOp, Fault, Step } from './schedule';

export const SIM_WORKERS = 2;
export const SIM_NAMESPACES = ['test', 'mem'];
const HEARTBEAT_TIMEOUT_MS = 1500;
/** Longer than any wait inside the node (holds, replica acks: 5 s), so the node always answers first. */
const CLIENT_TIMEOUT_MS = 20_000;
const ADMIN_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 60_000;
const LOOPS_PER_CLIENT = 4;
const CLIENTS = 2;
const BATCH_KEYS = 400;

export interface SimStats {
  writes: Record<Outcome, number>;
  /** Writes that ended failed (definitely not applied), by result code. */
  failedCodes: Record<string, number>;
  reads: number;
  readErrors: number;
  faults: number;
  kills: number;
  admin: Record<string, Record<Outcome, number>>;
  checks: number;
}

export interface SimResult {
  problems: string[];
  /** Index of the step after which the first problem was seen, or -1. */
  failedAtStep: number;
  stats: SimStats;
}

interface Snapshot {
  id: string;
  image: Set<Value>[];
}
interface Backup {
  file: string;
  records: Map<number, number>;
}

function outcomeOf(err: unknown): Outcome {
  return (err as { inDoubt?: boolean }).inDoubt === true ? 'doubt' : 'failed';
}

function codeOf(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

export class Simulation {
  private readonly dir: string;
  private readonly configFile: string;
  private node: { child: ChildProcess; host: string; exited: Promise<unknown> } | null = null;
  private clients: Client[] = [];
  private readonly models = new Map<string, NamespaceModel>();
  private readonly snapshots = new Map<string, Snapshot[]>();
  private readonly backups = new Map<string, Backup[]>();
  private readonly keysByDigest = new Map<string, Map<string, number>>();
  /** Ends at which truncate-before may cut: no write was in flight at these moments. */
  private readonly quietPointsMs: number[] = [];
  private readonly problems: string[] = [];
  private nextValue = 1;
  private lastFaultAtMs = 0;
  private killing: Promise<void> | null = null;
  /** A disk fault injected in the current step, ended with the step. */
  private diskFault: string | null = null;
  private readonly rand: () => number;
  readonly stats: SimStats = {
    writes: { ok: 0, doubt: 0, failed: 0 },
    failedCodes: {},
    reads: 0,
    readErrors: 0,
    faults: 0,
    kills: 0,
    admin: {},
    checks: 0,
  };

  constructor(
    seed: number,
    private readonly keyCount: number,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.rand = prng(seed ^ 0x5eed);
    this.dir = mkdtempSync(path.join(tmpdir(), 'aerie-sim-'));
    this.configFile = path.join(this.dir, 'config.json');
    writeFileSync(
      this.configFile,
      JSON.stringify({
        service: { port: 0 },
        workers: { count: SIM_WORKERS },
        supervisor: { faultInjection: true, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, crashLoopMax: 1000 },
        namespaces: [
          // Small segments and a short compaction interval: compaction rewrites the log while
          // everything else happens (docs/storage.md, Compaction).
          {
            name: 'test',
            storage: 'file',
            dataDir: path.join(this.dir, 'data'),
            replicationFactor: 2,
            segmentBytes: 64 * 1024,
            recordBytesMax: 32 * 1024,
            compactionIntervalMs: 1000,
          },
          { name: 'mem', storage: 'memory', dataDir: path.join(this.dir, 'data'), replicationFactor: 2 },
        ],
        log: { level: 'warn' },
      }),
    );
    for (const ns of SIM_NAMESPACES) {
      this.models.set(ns, new NamespaceModel(ns, keyCount, ns === 'test'));
      this.snapshots.set(ns, []);
      this.backups.set(ns, []);
      const byDigest = new Map<string, number>();
      for (let k = 0; k < keyCount; k++) byDigest.set(Buffer.from(this.key(ns, k).digest).toString('hex'), k);
      this.keysByDigest.set(ns, byDigest);
    }
  }

  private key(ns: string, k: number): Key {
    return new Key(ns, 'sim', k);
  }

  private problem(what: string): void {
    this.problems.push(what);
    this.log(`PROBLEM ${what}`);
  }

  async run(steps: Step[]): Promise<SimResult> {
    let failedAtStep = -1;
    try {
      await this.startNode();
      for (let i = 0; i < steps.length && failedAtStep < 0; i++) {
        const step = steps[i];
        this.log(`step ${i}: ${JSON.stringify(step)}`);
        if (step.kind === 'traffic') await this.traffic(step.ms, step.fault);
        else if (step.kind === 'admin') await this.admin(step.op, step.ns, step.fault);
        else await this.check();
        if (this.problems.length > 0) failedAtStep = i;
      }
    } catch (err) {
      this.problem(`the simulation itself failed: ${(err as Error).stack ?? err}`);
      failedAtStep = Math.max(failedAtStep, 0);
    } finally {
      await this.stopNode();
      rmSync(this.dir, { recursive: true, force: true });
    }
    return { problems: this.problems, failedAtStep, stats: this.stats };
  }

  // ---- the node ----

  private async startNode(): Promise<void> {
    this.node = await startCliNode(this.configFile);
    this.clients = await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        const c = await connect({ hosts: this.node!.host, timeoutMs: CLIENT_TIMEOUT_MS, reconnect: true });
        c.on('error', () => undefined);
        return c;
      }),
    );
  }

  private async stopNode(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
    this.clients = [];
    if (this.node !== null) {
      this.node.child.kill('SIGKILL');
      await this.node.exited;
      this.node = null;
    }
  }

  /** Kills the node with SIGKILL and closes the clients: every write in flight ends in doubt. */
  private kill(): Promise<void> {
    this.killing ??= (async () => {
      this.stats.kills++;
      this.node!.child.kill('SIGKILL');
      await this.node!.exited;
      await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
    })();
    return this.killing;
  }

  /** After a kill: what the step did is recorded, now the models lose memory and the node restarts. */
  private async restartAfterKill(): Promise<void> {
    await this.killing;
    this.killing = null;
    for (const m of this.models.values()) m.killed();
    this.node = null;
    this.clients = [];
    await this.startNode();
  }

  /** Schedules the step's fault; returns a cancel function. */
  private arm(fault: Fault | null): () => void {
    if (fault === null) return () => undefined;
    const timer = setTimeout(() => {
      this.lastFaultAtMs = Date.now();
      if (fault.kind === 'kill9') {
        void this.kill();
        return;
      }
      this.stats.faults++;
      if (fault.kind.startsWith('disk-') || fault.kind === 'sync-eio') this.diskFault = fault.kind;
      this.clients[0].injectFault({ worker: fault.worker, kind: fault.kind }, { timeoutMs: 5000 }).catch(() => undefined);
    }, fault.afterMs);
    return () => clearTimeout(timer);
  }

  /**
   * Ends a step's disk fault: space returns (disk-ok on every worker), or a failed log (an I/O
   * error is final until a restart) is healed by a kill -9 and a restart.
   */
  private async endDiskFault(): Promise<void> {
    const kind = this.diskFault;
    this.diskFault = null;
    if (kind === null || this.killing !== null) return;
    if (kind === 'disk-full' || kind === 'disk-low') {
      for (let w = 0; w < SIM_WORKERS; w++) {
        await this.clients[0].injectFault({ worker: w, kind: 'disk-ok' }, { timeoutMs: 5000 }).catch(() => undefined);
      }
      return;
    }
    await this.kill();
    await this.restartAfterKill();
  }

  // ---- traffic ----

  private async traffic(ms: number, fault: Fault | null): Promise<void> {
    let running = true;
    const loops: Promise<void>[] = [];
    const loopCount = CLIENTS * LOOPS_PER_CLIENT;
    for (let l = 0; l < loopCount; l++) {
      const own = Array.from({ length: this.keyCount }, (_, k) => k).filter((k) => k % loopCount === l);
      loops.push(this.loop(this.clients[l % CLIENTS], own, () => running && this.killing === null));
    }
    const cancel = this.arm(fault);
    await new Promise((r) => setTimeout(r, ms));
    cancel();
    running = false;
    await Promise.all(loops);
    await this.endDiskFault();
    if (this.killing !== null) await this.restartAfterKill();
    // Nothing is in flight now: a truncate-before may cut here. The next write is sent later.
    this.quietPointsMs.push(Date.now());
    await new Promise((r) => setTimeout(r, 3));
  }

  /** One client loop: one operation at a time on keys only it touches, so every read is checkable. */
  private async loop(client: Client, own: number[], go: () => boolean): Promise<void> {
    while (go()) {
      const ns = SIM_NAMESPACES[Math.floor(this.rand() * SIM_NAMESPACES.length)];
      const model = this.models.get(ns)!;
      const k = own[Math.floor(this.rand() * own.length)];
      const r = this.rand();
      if (r < 0.45) await this.write(client, model, k, this.nextValue++, 'put');
      else if (r < 0.55) await this.write(client, model, k, null, 'remove');
      else if (r < 0.7) await this.write(client, model, k, this.nextValue++, 'operate');
      else if (r < 0.9) await this.read(client, model, [k]);
      else await this.read(client, model, own.slice(0, 1 + Math.floor(this.rand() * Math.min(own.length, 20))));
    }
  }

  private async write(client: Client, model: NamespaceModel, k: number, value: Value, how: 'put' | 'remove' | 'operate'): Promise<void> {
    const key = this.key(model.ns, k);
    const sentAtMs = Date.now();
    let outcome: Outcome;
    let code: number | undefined;
    try {
      if (how === 'remove') {
        await client.remove(key).catch((e) => {
          if (codeOf(e) !== 2) throw e; // already absent: a definite outcome
        });
      } else if (how === 'put') {
        await client.put(key, { v: value as number });
      } else {
        const res = await client.operate(key, [
          [OpType.WRITE, 'v', value as number],
          [OpType.READ, 'v'],
        ]);
        if (res.bins.v !== value) this.problem(`${model.ns} key ${k}: operate wrote ${value} and read back ${res.bins.v}`);
      }
      outcome = 'ok';
    } catch (e) {
      outcome = outcomeOf(e);
      code = codeOf(e);
    }
    this.stats.writes[outcome]++;
    if (outcome === 'failed') this.stats.failedCodes[String(code)] = (this.stats.failedCodes[String(code)] ?? 0) + 1;
    model.write(k, value, outcome, sentAtMs, code);
  }

  private async read(client: Client, model: NamespaceModel, keys: number[]): Promise<void> {
    let found: Value[];
    try {
      const recs =
        keys.length === 1
          ? [
              await client.get(this.key(model.ns, keys[0])).catch((e) => {
                if (codeOf(e) === 2) return null;
                throw e;
              }),
            ]
          : await client.batchGet(keys.map((k) => this.key(model.ns, k)));
      found = recs.map((r) => (r === null ? null : (r.bins.v as number)));
    } catch {
      this.stats.readErrors++;
      return; // a read may fail while a fault is under way; the check steps judge availability
    }
    this.stats.reads++;
    keys.forEach((k, i) => {
      if (!model.permits(k, found[i])) this.problem(`${model.ns} key ${k}: read ${found[i]}, allowed ${JSON.stringify(model.allowedFor(k))}; history ${model.story(k)}`);
    });
  }

  // ---- admin operations, on a quiet node ----

  private async admin(op: AdminOp, ns: string, fault: Fault | null): Promise<void> {
    const tally = (this.stats.admin[op] ??= { ok: 0, doubt: 0, failed: 0 });
    const cancel = this.arm(fault);
    let outcome: Outcome;
    try {
      outcome = await this.adminOp(op, ns);
    } finally {
      cancel();
    }
    tally[outcome]++;
    await this.endDiskFault();
    if (this.killing !== null) await this.restartAfterKill();
  }

  private async adminOp(op: AdminOp, ns: string): Promise<Outcome> {
    const model = this.models.get(ns)!;
    const client = this.clients[0];
    const policy = { timeoutMs: ADMIN_TIMEOUT_MS };
    const attempt = async (work: () => Promise<unknown>): Promise<Outcome> => {
      try {
        await work();
        return 'ok';
      } catch (e) {
        return outcomeOf(e);
      }
    };
    switch (op) {
      case 'snapshot-create': {
        const image = model.image();
        return attempt(async () => {
          const created = await client.createSnapshot(ns, policy);
          this.snapshots.get(ns)!.push({ id: created.id, image });
        });
      }
      case 'snapshot-restore': {
        const snaps = this.snapshots.get(ns)!;
        if (snaps.length === 0) return this.adminOp('snapshot-create', ns);
        const snap = snaps[Math.floor(this.rand() * snaps.length)];
        const outcome = await attempt(() => client.restoreSnapshot(ns, snap.id, policy));
        model.restoreImage(snap.image, outcome);
        return outcome;
      }
      case 'snapshot-delete': {
        const snaps = this.snapshots.get(ns)!;
        if (snaps.length === 0) return 'ok';
        const at = Math.floor(this.rand() * snaps.length);
        const outcome = await attempt(() => client.deleteSnapshot(ns, snaps[at].id, policy));
        if (outcome === 'ok') snaps.splice(at, 1);
        return outcome;
      }
      case 'truncate': {
        const outcome = await attempt(() => client.truncate(ns, null, {}, policy));
        model.truncate(outcome, null);
        return outcome;
      }
      case 'truncate-before': {
        if (this.quietPointsMs.length === 0) return 'ok';
        const beforeMs = this.quietPointsMs[Math.floor(this.rand() * this.quietPointsMs.length)];
        const outcome = await attempt(() => client.truncate(ns, null, { beforeMs }, policy));
        model.truncate(outcome, beforeMs);
        return outcome;
      }
      case 'backup':
        return this.backup(client, model);
      case 'restore-create-only':
      case 'restore-replace':
      case 'restore-generation-gt':
        return this.restoreBackup(client, model, op.slice('restore-'.length));
      case 'worker-restart':
        return attempt(() => client.restartWorker(Math.floor(this.rand() * SIM_WORKERS), policy));
      case 'verify':
      case 'repair':
        return attempt(async () => {
          const report = op === 'verify' ? await client.verify(ns, policy) : await client.repair(ns, policy);
          for (const n of report.namespaces as { name: string; problemCount: number }[]) {
            if (n.problemCount !== 0) this.problem(`${op} of ${ns} found ${n.problemCount} damaged records: ${JSON.stringify(report).slice(0, 400)}`);
          }
        });
    }
  }

  /** Backs up the quiet namespace and checks the file against the model: a backup is a read. */
  private async backup(client: Client, model: NamespaceModel): Promise<Outcome> {
    const file = path.join(this.dir, `backup-${model.ns}-${this.backups.get(model.ns)!.length}.abk`);
    try {
      await backupNamespace(client, { ns: model.ns, out: file });
    } catch (e) {
      return outcomeOf(e) === 'doubt' ? 'doubt' : 'failed';
    }
    const records = new Map<number, number>();
    const reader = await BackupFileReader.open(file);
    try {
      for (let r = await reader.next(); r !== null; r = await reader.next()) {
        const k = this.keysByDigest.get(model.ns)!.get(r.digest.toString('hex'));
        if (k === undefined) this.problem(`backup of ${model.ns} holds a record the simulation never wrote`);
        else records.set(k, r.bins.v as number);
      }
    } finally {
      await reader.close();
    }
    // A kill during the scan leaves a file of what was read before it: still a valid read.
    if (this.killing !== null) return 'doubt';
    for (let k = 0; k < model.keyCount; k++) {
      const v = records.get(k) ?? null;
      if (model.permits(k, v)) {
        model.settle(k, v);
        continue;
      }
      // Tell a backup that missed or invented a record from a node that lost or invented it.
      const now = await client.get(this.key(model.ns, k)).then(
        (r) => r.bins.v as number,
        (e) => (codeOf(e) === 2 ? null : `error ${codeOf(e)}`),
      );
      this.problem(`backup of ${model.ns} key ${k}: holds ${v}, allowed ${JSON.stringify(model.allowedFor(k))}; the node answers ${now}; history ${model.story(k)}`);
    }
    this.backups.get(model.ns)!.push({ file, records });
    return 'ok';
  }

  private async restoreBackup(client: Client, model: NamespaceModel, policy: string): Promise<Outcome> {
    const backups = this.backups.get(model.ns)!;
    if (backups.length === 0) return this.backup(client, model);
    const backup = backups[Math.floor(this.rand() * backups.length)];
    const outcomes = new Map<number, Outcome>();
    const startedAtMs = Date.now();
    let outcome: Outcome = 'ok';
    try {
      const report = await restoreFile(client, { file: backup.file, policy: policy as 'replace' });
      const unlisted = report.failed + report.inDoubt > report.errors.length;
      for (const error of report.errors) {
        const k = Number(error.key.split(':').pop());
        outcomes.set(k, error.inDoubt ? 'doubt' : 'failed');
      }
      if (unlisted) for (const k of backup.records.keys()) if (!outcomes.has(k)) outcomes.set(k, 'doubt');
      if (report.failed + report.inDoubt > 0) outcome = report.inDoubt > 0 ? 'doubt' : 'failed';
    } catch {
      // The connection was lost part way: any record of the file may or may not be written.
      for (const k of backup.records.keys()) outcomes.set(k, 'doubt');
      outcome = 'doubt';
    }
    for (const v of backup.records.values()) model.rewritten(v, startedAtMs, Date.now());
    model.restoreBackup(backup.records, policy, outcomes);
    return outcome;
  }

  // ---- checks, on a settled node ----

  private async check(): Promise<void> {
    this.stats.checks++;
    const client = this.clients[0];
    await this.settle(client);
    for (const model of this.models.values()) {
      let nonNull = 0;
      for (let from = 0; from < model.keyCount; from += BATCH_KEYS) {
        const ks = Array.from({ length: Math.min(BATCH_KEYS, model.keyCount - from) }, (_, i) => from + i);
        let recs: ({ bins: Record<string, unknown> } | null)[];
        try {
          recs = await client.batchGet(ks.map((k) => this.key(model.ns, k)));
        } catch (e) {
          this.problem(`${model.ns}: batch read with every worker up failed with code ${codeOf(e)}: ${(e as Error).message}`);
          return;
        }
        ks.forEach((k, i) => {
          const v = recs[i] === null ? null : (recs[i]!.bins.v as number);
          if (v !== null) nonNull++;
          if (!model.permits(k, v)) this.problem(`${model.ns} key ${k}: found ${v}, allowed ${JSON.stringify(model.allowedFor(k))}; history ${model.story(k)}`);
          else model.settle(k, v);
        });
      }
      await this.checkScan(client, model, nonNull);
      await this.checkCounts(client, model.ns, nonNull);
    }
  }

  /** A scan of the settled namespace returns each record once, with the value the reads found. */
  private async checkScan(client: Client, model: NamespaceModel, records: number): Promise<void> {
    const seen = new Set<number>();
    try {
      for await (const r of client.scan(model.ns, 'sim')) {
        const k = this.keysByDigest.get(model.ns)!.get(Buffer.from(r.key.digest).toString('hex'));
        if (k === undefined || seen.has(k) || !model.permits(k, r.bins.v as number)) {
          this.problem(`${model.ns}: scan returned key ${k} (${r.bins.v}) ${k !== undefined && seen.has(k) ? 'twice' : 'unexpected'}`);
          return;
        }
        seen.add(k);
      }
    } catch (e) {
      // An overtaken scan is refused, never short (protocol.md §9); the node was settled, so say so.
      this.problem(`${model.ns}: scan of the settled node failed with code ${codeOf(e)}: ${(e as Error).message}`);
      return;
    }
    if (seen.size !== records) this.problem(`${model.ns}: the reads found ${records} records, a scan ${seen.size}`);
  }

  /** INFO counts each record once and every copy: both must agree with what the reads found. */
  private async checkCounts(client: Client, ns: string, records: number): Promise<void> {
    type NsInfo = { name: string; records: number; copies: number; replicationFactor: number };
    const counts = async () => ((await client.info()).namespaces as NsInfo[]).find((x) => x.name === ns)!;
    await waitForValue(counts, (n) => n.records === records && n.copies === records * n.replicationFactor, {
      what: `${ns}: INFO to count the ${records} records the reads found, and their copies`,
      timeoutMs: 10_000,
      intervalMs: 50,
    }).catch((err: Error) => this.problem(err.message));
    // Nothing is in flight (INFO's own answer is not counted while its body is built): every answer
    // reservation made before, through every fault, was handed back.
    type Budget = { used: number };
    await waitForValue(
      async () => ((await client.info()).answerBytes as Budget).used,
      (used) => used === 0,
      { what: 'the answer budget to be handed back on a quiet node', timeoutMs: 10_000, intervalMs: 50 },
    ).catch((err: Error) => this.problem(err.message));
  }

  /**
   * Waits until the node is settled: every worker up, no partition moving or out of sync, no
   * restart for a while, and long enough after the last fault that a hung worker was caught.
   */
  private async settle(client: Client): Promise<void> {
    let stableSince = Date.now();
    let lastRestarts = -1;
    const state = async () => {
      const info = await client.info();
      const workers = info.workers as { state: string; restarts: number; roles: { outOfSync: number } }[];
      return { workers, moving: (info.replication as { partitionsMoving: number } | null)?.partitionsMoving ?? 0 };
    };
    await waitForValue(
      state,
      ({ workers, moving }) => {
        const restarts = workers.reduce((a, w) => a + w.restarts, 0);
        const settled = workers.every((w) => w.state === 'up' && w.roles.outOfSync === 0) && moving === 0;
        if (!settled || restarts !== lastRestarts) {
          stableSince = Date.now();
          lastRestarts = restarts;
        }
        const sinceFault = Date.now() - this.lastFaultAtMs;
        return Date.now() - stableSince > 300 && sinceFault > HEARTBEAT_TIMEOUT_MS + 2500;
      },
      { what: 'the node to settle', timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 50 },
    ).catch((err: Error) => this.problem(err.message));
  }
}
