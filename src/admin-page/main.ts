// The admin page (docs/operations.md, "Admin page"): connects to the node, subscribes to its feed
// (WATCH) and redraws on each push: workers, the partition grid, requests per op, namespaces,
// recent events, and the actions the user's roles allow. It reconnects by itself.

import { statusName } from '../errors';
import { Op } from '../protocol/ops';
import { type Answer, NodeConnection, nodeUrl } from './connection';
import { drawChart, drawGrid, GRID_STATES, shortNumber, stateColour, workerColour } from './draw';

interface Worker {
  index: number;
  state: string;
  restarts: number;
  lastFailure: string | null;
  partitions: number;
  roles: { master: number; replica: number; outOfSync: number };
  rebuild: { partitionsRemaining: number } | null;
  records: number;
  heapUsedBytes: number;
  eventLoopLagMs: number;
  heartbeatAgeMs: number;
}

interface Namespace {
  name: string;
  storage: string;
  replicationFactor: number;
  records: number;
  copies: number;
  memoryBytes: number;
  memoryBytesMax: number;
  memoryUsedPct: number;
  stopWrites: boolean;
  stopWritesReason: string | null;
  stopWritesPct: number;
}

interface NodeState {
  timeMs: number;
  node: { version: string; uptimeMs: number; partitionMapVersion: number; connections: { open: number }; requestsInFlight: number };
  workers: Worker[];
  namespaces: Namespace[];
  grids: Uint8Array[];
}

interface LogEvent {
  seq: number;
  timeMs: number;
  level: string;
  message: string;
  fields: Record<string, unknown> | null;
}

interface Watching {
  intervalMs: number;
  ops: string[];
  history: number[][];
  events: LogEvent[];
  allowed: { snapshot: boolean; fault: boolean; restart: boolean };
  state: NodeState;
}

/** Samples kept for the charts: five minutes at one a second, as the node keeps. */
const HISTORY_MAX = 300;
const EVENTS_SHOWN_MAX = 200;
const RECONNECT_MS_MAX = 5000;
const FAULT_KINDS = ['crash', 'exit', 'hang', 'oom'];

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** A colour swatch. Its colour is set through the CSSOM: the page's CSP allows no inline style attribute. */
function swatch(colour: string): HTMLElement {
  const e = el('span', { class: 'swatch' });
  e.style.background = colour;
  return e;
}

function el(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(0)} KiB`;
  return `${n} B`;
}

function table(target: HTMLElement, head: string[], rows: HTMLElement[]): void {
  target.replaceChildren(el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows));
}

class AdminPage {
  private connection: NodeConnection | null = null;
  private credentials: { user: string; password: string } | null = null;
  private ops: string[] = [];
  private history: number[][] = [];
  private events: LogEvent[] = [];
  private allowed = { snapshot: false, fault: false, restart: false };
  private state: NodeState | null = null;
  private gridNs = 0;
  private reconnectMs = 250;

  start(): void {
    $('login').addEventListener('submit', (e) => {
      e.preventDefault();
      this.credentials = { user: $<HTMLInputElement>('login-user').value, password: $<HTMLInputElement>('login-password').value };
      void this.connect();
    });
    $('grid-ns').addEventListener('change', () => {
      this.gridNs = Number($<HTMLSelectElement>('grid-ns').value);
      this.renderGrid();
    });
    void this.connect();
  }

  private status(state: string, text: string): void {
    const s = $('status');
    s.dataset.state = state;
    s.textContent = text;
  }

  private async connect(): Promise<void> {
    this.status('connecting', 'connecting…');
    let connection: NodeConnection;
    try {
      connection = await NodeConnection.open(nodeUrl(document, location));
    } catch (error) {
      return this.retry(String((error as Error).message));
    }
    const hello = await connection.hello(this.credentials?.user ?? null, this.credentials?.password ?? null);
    if (hello.code !== 0) {
      connection.close();
      // A node with security refuses a HELLO without (or with wrong) credentials: ask for them.
      $('login').hidden = false;
      $('main').hidden = true;
      $('login-error').textContent = this.credentials === null ? '' : `${statusName(hello.code)}: ${message(hello)}`;
      this.status('error', 'log in');
      return;
    }
    $('login').hidden = true;
    const watch = await connection.call(Op.WATCH, { on: true });
    if (watch.code !== 0) {
      connection.close();
      return this.retry(`WATCH refused: ${statusName(watch.code)}`);
    }
    this.connection = connection;
    this.reconnectMs = 250;
    connection.onPush = (body) => this.onPush(body as { event?: string; sample: number[]; events: LogEvent[]; state: NodeState });
    connection.onClose = (why) => {
      this.connection = null;
      this.retry(why);
    };
    this.onWatching(watch.body as Watching);
    this.status('live', 'live');
  }

  private retry(why: string): void {
    this.status('reconnecting', `${why}: reconnecting…`);
    setTimeout(() => void this.connect(), this.reconnectMs);
    this.reconnectMs = Math.min(this.reconnectMs * 2, RECONNECT_MS_MAX);
  }

  private onWatching(w: Watching): void {
    this.ops = w.ops;
    this.history = w.history.slice(-HISTORY_MAX);
    this.events = [];
    this.allowed = w.allowed;
    this.addEvents(w.events);
    this.state = w.state;
    $('main').hidden = false;
    const nsSelect = $<HTMLSelectElement>('grid-ns');
    nsSelect.replaceChildren(...w.state.namespaces.map((n, i) => el('option', { value: String(i) }, n.name)));
    this.gridNs = Math.min(this.gridNs, w.state.namespaces.length - 1);
    nsSelect.value = String(this.gridNs);
    this.renderActions();
    this.render();
  }

  private onPush(body: { event?: string; sample: number[]; events: LogEvent[]; state: NodeState }): void {
    if (body?.event !== 'admin') return;
    this.history.push(body.sample);
    if (this.history.length > HISTORY_MAX) this.history.shift();
    this.addEvents(body.events);
    this.state = body.state;
    this.render();
  }

  private addEvents(events: LogEvent[]): void {
    this.events.push(...events);
    if (this.events.length > EVENTS_SHOWN_MAX) this.events.splice(0, this.events.length - EVENTS_SHOWN_MAX);
  }

  private render(): void {
    const s = this.state;
    if (s === null) return;
    $('node').textContent = `v${s.node.version} · up ${Math.round(s.node.uptimeMs / 1000)} s · ${s.node.connections.open} connections · map v${s.node.partitionMapVersion}`;
    this.renderWorkers(s.workers);
    this.renderGrid();
    this.renderRequests();
    this.renderNamespaces(s.namespaces);
    this.renderEvents();
  }

  private renderWorkers(workers: Worker[]): void {
    const rows = workers.map((w) => {
      const restart = this.allowed.restart ? el('button', { 'data-restart': String(w.index), type: 'button' }, 'restart') : '';
      if (restart !== '') restart.addEventListener('click', () => void this.act(`restart worker ${w.index}`, Op.WORKER_RESTART, { worker: w.index }));
      return el(
        'tr',
        { 'data-worker': String(w.index), 'data-state': w.state, 'data-restarts': String(w.restarts) },
        el('td', {}, swatch(workerColour(w.index)), String(w.index)),
        el('td', { class: `text state-${w.state}` }, w.state),
        el('td', {}, String(w.roles.master)),
        el('td', {}, String(w.roles.replica)),
        el('td', { class: w.roles.outOfSync > 0 ? 'bad' : '' }, String(w.rebuild?.partitionsRemaining ?? w.roles.outOfSync)),
        el('td', {}, shortNumber(w.records)),
        el('td', {}, String(w.restarts)),
        el('td', {}, bytes(w.heapUsedBytes)),
        el('td', {}, `${w.eventLoopLagMs} ms`),
        el('td', { class: 'text', title: w.lastFailure ?? '' }, (w.lastFailure ?? '').slice(0, 40)),
        el('td', {}, restart),
      );
    });
    table($('workers'), ['worker', 'state', 'masters', 'replicas', 'out of sync', 'records', 'restarts', 'heap', 'lag', 'last failure', ''], rows);
  }

  private renderGrid(): void {
    const s = this.state;
    const grid = s?.grids[this.gridNs];
    if (s === null || grid === undefined) return;
    const counts = drawGrid($<HTMLCanvasElement>('grid'), grid);
    const summary = $('grid-summary');
    GRID_STATES.forEach((name, i) => {
      summary.dataset[name] = String(counts[i]);
    });
    summary.dataset.mapVersion = String(s.node.partitionMapVersion);
    summary.textContent = GRID_STATES.map((name, i) => `${counts[i]} ${name}`).join(' · ');
    const legend = s.workers.map((w) => el('span', {}, swatch(workerColour(w.index)), `worker ${w.index}`));
    legend.push(
      el('span', {}, swatch(stateColour(1, 0)), 'lighter: served by a replica'),
      el('span', {}, swatch(stateColour(2, 0)), 'migrating'),
      el('span', {}, swatch(stateColour(3, 0)), 'unavailable'),
    );
    $('grid-legend').replaceChildren(...legend);
  }

  private renderRequests(): void {
    const figures = 4;
    const active = this.ops.map((_, o) => this.history.some((h) => h[1 + o * figures] > 0));
    const series = (figure: number) => this.ops.flatMap((name, o) => (active[o] ? [{ name, colour: workerColour(o + 3), values: this.history.map((h) => h[1 + o * figures + figure]) }] : []));
    drawChart($<HTMLCanvasElement>('throughput'), series(0), HISTORY_MAX, false);
    drawChart($<HTMLCanvasElement>('latency'), series(3), HISTORY_MAX, true);
    const lastMinute = this.history.slice(-60);
    const rows = this.ops.flatMap((name, o) => {
      if (!active[o]) return [];
      const sum = (f: number) => lastMinute.reduce((acc, h) => acc + h[1 + o * figures + f], 0);
      const last = this.history[this.history.length - 1] ?? [];
      return [
        el(
          'tr',
          { 'data-op': name },
          el('td', {}, swatch(workerColour(o + 3)), name),
          el('td', {}, shortNumber(sum(0) / Math.max(1, lastMinute.length))),
          el('td', { class: sum(1) > 0 ? 'bad' : '' }, shortNumber(sum(1))),
          el('td', {}, `${shortNumber(last[1 + o * figures + 2] ?? 0)} ms`),
          el('td', {}, `${shortNumber(last[1 + o * figures + 3] ?? 0)} ms`),
        ),
      ];
    });
    table($('ops'), ['op', 'req/s (1 min)', 'errors (1 min)', 'p50 ≤', 'p99 ≤'], rows);
  }

  private renderNamespaces(namespaces: Namespace[]): void {
    const rows = namespaces.map((n) =>
      el(
        'tr',
        { 'data-namespace': n.name },
        el('td', {}, n.name),
        el('td', { class: 'text' }, n.storage),
        el('td', {}, String(n.replicationFactor)),
        el('td', {}, shortNumber(n.records)),
        el('td', {}, shortNumber(n.copies)),
        el('td', {}, `${bytes(n.memoryBytes)} / ${bytes(n.memoryBytesMax)}`),
        el('td', { class: n.memoryUsedPct >= n.stopWritesPct ? 'bad' : '' }, `${n.memoryUsedPct}%`),
        el('td', { class: n.stopWrites ? 'bad' : '' }, n.stopWrites ? `yes (${n.stopWritesReason ?? 'disk'})` : 'no'),
      ),
    );
    table($('namespaces'), ['namespace', 'storage', 'copies/partition', 'records', 'copies', 'memory', 'used', 'stop-writes'], rows);
  }

  private renderEvents(): void {
    const list = $('events');
    const shown = Number(list.dataset.lastSeq ?? '0');
    const fresh = this.events.filter((e) => e.seq > shown);
    if (fresh.length === 0 && list.childElementCount > 0) return;
    const items = [...this.events]
      .reverse()
      .map((e) => el('li', { class: e.level, 'data-seq': String(e.seq) }, el('time', { datetime: new Date(e.timeMs).toISOString() }, new Date(e.timeMs).toLocaleTimeString()), e.message));
    list.replaceChildren(...items);
    list.dataset.lastSeq = String(this.events[this.events.length - 1]?.seq ?? 0);
  }

  /** The actions the user's roles allow; the node checks each again when it is sent. */
  private renderActions(): void {
    const s = this.state;
    if (s === null) return;
    const parts: HTMLElement[] = [];
    if (this.allowed.snapshot) {
      const ns = el('select', { id: 'snapshot-ns', 'aria-label': 'namespace' }, ...s.namespaces.map((n) => el('option', { value: n.name }, n.name))) as HTMLSelectElement;
      const run = el('button', { id: 'snapshot-run', type: 'button' }, 'create snapshot');
      run.addEventListener('click', () => void this.act(`snapshot of ${ns.value}`, Op.SNAPSHOT, { action: 'create', ns: ns.value }));
      parts.push(el('fieldset', {}, el('legend', {}, 'snapshot'), ns, run));
    }
    if (this.allowed.fault) {
      const worker = el('select', { id: 'fault-worker', 'aria-label': 'worker' }, ...s.workers.map((w) => el('option', { value: String(w.index) }, `worker ${w.index}`))) as HTMLSelectElement;
      const kind = el('select', { id: 'fault-kind', 'aria-label': 'fault' }, ...FAULT_KINDS.map((k) => el('option', { value: k }, k))) as HTMLSelectElement;
      const run = el('button', { id: 'fault-run', type: 'button' }, 'inject');
      run.addEventListener('click', () => void this.act(`${kind.value} drill on worker ${worker.value}`, Op.FAULT, { worker: Number(worker.value), kind: kind.value }));
      parts.push(el('fieldset', {}, el('legend', {}, 'fault drill'), worker, kind, run));
    }
    if (this.allowed.restart) parts.push(el('span', {}, 'Restart a worker from its row above.'));
    if (parts.length === 0) parts.push(el('span', {}, "This user's roles allow no action here."));
    $('actions').replaceChildren(...parts);
  }

  private async act(what: string, op: number, body: unknown): Promise<void> {
    const out = $('action-result');
    const connection = this.connection;
    if (connection === null) {
      out.textContent = `${what}: not connected`;
      return;
    }
    out.textContent = `${what}…`;
    const answer = await connection.call(op, body);
    out.dataset.code = String(answer.code);
    out.className = answer.code === 0 ? '' : 'error';
    out.textContent = answer.code === 0 ? `${what}: done${summary(answer.body)}` : `${what}: ${statusName(answer.code)} (${answer.code}): ${message(answer)}`;
  }
}

function message(a: Answer): string {
  const m = (a.body as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : '';
}

function summary(body: unknown): string {
  if (body === null || typeof body !== 'object') return '';
  const b = body as Record<string, unknown>;
  if (typeof b.id === 'string') return ` (id ${b.id}, ${String(b.records)} records)`;
  if (typeof b.elapsedMs === 'number') return ` (${b.elapsedMs} ms)`;
  return '';
}

new AdminPage().start();
