// Canvas drawing for the admin page: the 64 × 64 partition grid and two line charts. Plain 2D
// canvas, no library: the page must work offline from what the node ships.

/** Grid byte layout (src/ops/admin/partition-grid.ts): owner in the low six bits, state in the top two. */
const OWNER_MASK = 0x3f;
const STATE_SHIFT = 6;
export const GRID_STATES = ['master', 'replica', 'migrating', 'unavailable'] as const;
const GRID_SIDE = 64;

/** A worker's colour: hues spread by the golden angle, so neighbours differ whatever the count. */
export function workerColour(worker: number, light = false): string {
  const hue = (worker * 137.508 + 210) % 360;
  return `hsl(${hue.toFixed(0)} 62% ${light ? 80 : 50}%)`;
}

const MIGRATING_COLOUR = '#f2b01e';
const UNAVAILABLE_COLOUR = '#1d2330';

export function stateColour(state: number, owner: number): string {
  if (state === 2) return MIGRATING_COLOUR;
  if (state === 3) return UNAVAILABLE_COLOUR;
  return workerColour(owner, state === 1);
}

/** Draws the grid; answers the partitions counted per state, in GRID_STATES order. */
export function drawGrid(canvas: HTMLCanvasElement, grid: Uint8Array): number[] {
  const ctx = canvas.getContext('2d');
  const counts = [0, 0, 0, 0];
  const cell = canvas.width / GRID_SIDE;
  for (let p = 0; p < grid.length; p++) {
    const state = grid[p] >> STATE_SHIFT;
    const owner = grid[p] & OWNER_MASK;
    counts[state]++;
    if (ctx === null) continue;
    const x = (p % GRID_SIDE) * cell;
    const y = Math.floor(p / GRID_SIDE) * cell;
    ctx.fillStyle = stateColour(state, owner);
    ctx.fillRect(x, y, cell - 1, cell - 1);
  }
  return counts;
}

export interface Series {
  name: string;
  colour: string;
  values: number[];
}

/** Line chart of `series` over the same x positions; `log`: a log10 y axis (latencies). */
export function drawChart(canvas: HTMLCanvasElement, series: Series[], slots: number, log: boolean): void {
  const ctx = canvas.getContext('2d');
  if (ctx === null) return;
  const { width, height } = canvas;
  const pad = { left: 44, right: 8, top: 8, bottom: 16 };
  ctx.clearRect(0, 0, width, height);
  let max = 0;
  for (const s of series) for (const v of s.values) max = Math.max(max, v);
  const y = scale(max, log, height - pad.top - pad.bottom);
  ctx.font = '10px system-ui, sans-serif';
  ctx.fillStyle = '#6b7385';
  ctx.strokeStyle = '#dde1e8';
  for (const tick of y.ticks) {
    const py = height - pad.bottom - y.at(tick);
    ctx.beginPath();
    ctx.moveTo(pad.left, py);
    ctx.lineTo(width - pad.right, py);
    ctx.stroke();
    ctx.fillText(shortNumber(tick), 2, py + 3);
  }
  const step = (width - pad.left - pad.right) / Math.max(1, slots - 1);
  for (const s of series) {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    const start = slots - s.values.length;
    s.values.forEach((v, i) => {
      const px = pad.left + (start + i) * step;
      const py = height - pad.bottom - y.at(v);
      if (i === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.stroke();
  }
  ctx.fillStyle = '#6b7385';
  ctx.fillText(`-${Math.round(slots / 60)} min`, pad.left, height - 3);
  ctx.fillText('now', width - pad.right - 18, height - 3);
}

function scale(max: number, log: boolean, span: number): { at: (v: number) => number; ticks: number[] } {
  if (log) {
    const top = Math.max(1, Math.ceil(Math.log10(Math.max(max, 0.01))));
    const bottom = -2;
    const at = (v: number) => (v <= 0 ? 0 : ((Math.log10(Math.max(v, 10 ** bottom)) - bottom) / (top - bottom)) * span);
    const ticks: number[] = [];
    for (let e = bottom; e <= top; e++) ticks.push(10 ** e);
    return { at, ticks };
  }
  const top = niceCeil(max);
  return { at: (v) => (v / top) * span, ticks: [0, top / 2, top] };
}

function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

export function shortNumber(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k`;
  if (v > 0 && v < 1) return String(Number(v.toPrecision(2)));
  return String(Math.round(v * 10) / 10);
}
