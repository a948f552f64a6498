// The charts' data shaping: account snapshots (newest first, as /account/history pages them) into
// time series, and a series into an SVG path. Pure functions, tested in charts.test.ts.

export interface Point { t: number; v: number }

export interface SnapshotLike {
  fetched_at: string;
  ratio?: number | null;
  seedbonus?: number | null;
  unsat_count?: number | null;
  unsat_limit?: number | null;
}

/** Oldest first; snapshots where ``pick`` is unknown (null, NaN, infinite) or the time unreadable are left out,
 * and of two snapshots at the same instant the later one in the input wins. */
export function seriesOf<S extends { fetched_at: string }>(snapshots: readonly S[], pick: (s: S) => number | null | undefined): Point[] {
  const byTime = new Map<number, number>();
  for (const s of snapshots) {
    const t = Date.parse(s.fetched_at);
    const v = pick(s);
    if (Number.isNaN(t) || v == null || !Number.isFinite(v)) continue;
    byTime.set(t, v);
  }
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v }));
}

export interface AccountSeries { ratio: Point[]; bonus: Point[]; unsat: Point[]; unsatLimit: Point[] }

export function accountSeries(snapshots: readonly SnapshotLike[]): AccountSeries {
  return {
    ratio: seriesOf(snapshots, (s) => s.ratio),
    bonus: seriesOf(snapshots, (s) => s.seedbonus),
    unsat: seriesOf(snapshots, (s) => s.unsat_count),
    unsatLimit: seriesOf(snapshots, (s) => s.unsat_limit),
  };
}

export interface Frame { tMin: number; tMax: number; vMin: number; vMax: number }

/** One frame for several series drawn together (the unsatisfied count under its limit); the value range
 * starts at 0 when ``fromZero`` and is never empty (a flat line sits in the middle). */
export function frameOf(series: readonly Point[][], fromZero = false): Frame | null {
  const all = series.flat();
  if (all.length === 0) return null;
  let tMin = Infinity, tMax = -Infinity, vMin = Infinity, vMax = -Infinity;
  for (const p of all) {
    tMin = Math.min(tMin, p.t);
    tMax = Math.max(tMax, p.t);
    vMin = Math.min(vMin, p.v);
    vMax = Math.max(vMax, p.v);
  }
  if (fromZero) vMin = Math.min(0, vMin);
  if (vMin === vMax) {
    const pad = Math.abs(vMin) * 0.1 || 1;
    vMin -= pad;
    vMax += pad;
  }
  return { tMin, tMax, vMin, vMax };
}

/** An SVG path ("M x y L x y ...") of ``points`` in a ``width`` x ``height`` box (y grows downwards). */
export function pathOf(points: readonly Point[], frame: Frame, width: number, height: number): string {
  const span = frame.tMax - frame.tMin;
  const x = (t: number) => ((t - frame.tMin) / span) * width;
  const y = (v: number) => height - ((v - frame.vMin) / (frame.vMax - frame.vMin)) * height;
  const last = points[points.length - 1];
  if (last === undefined) return "";
  // One moment only (a first reading): a path of one point draws nothing, so show its value as a level line.
  if (span === 0) return `M0.0 ${y(last.v).toFixed(1)} L${width.toFixed(1)} ${y(last.v).toFixed(1)}`;
  return points.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)} ${y(p.v).toFixed(1)}`).join(" ");
}

/** What a screen reader hears for a chart: the first and latest values and the range. */
export function describe(label: string, points: readonly Point[], fmt: (v: number) => string = String): string {
  if (points.length === 0) return `${label}: no data yet`;
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const values = points.map((p) => p.v);
  return `${label}: ${fmt(last.v)} now, ${fmt(first.v)} on ${new Date(first.t).toLocaleDateString()}; ` +
    `lowest ${fmt(Math.min(...values))}, highest ${fmt(Math.max(...values))} over ${points.length} readings`;
}
