// A candidate's score, broken down: each quality component's points (its weighted share of the
// score), how far it is from its maximum, and the cost's deduction. The server sends ``breakdown``
// (points per component, plus ``cost``, negative) and ``components`` (each 0..1); a component's
// maximum is its weight's share, i.e. points / component value.

export const LABELS: Record<string, string> = {
  match: "Match",
  narrator: "Narrator",
  format: "Format",
  bitrate: "Bitrate",
  single_file: "Single file",
  seeders: "Seeders",
};

export interface BreakdownRow {
  key: string;
  label: string;
  points: number; // what it added to the score
  value: number | null; // the component, 0..1 (null when the server did not send it)
  max: number | null; // the most it could add (null when its value is 0: the weight is not recoverable)
}

export interface Breakdown { rows: BreakdownRow[]; cost: number; total: number }

export function breakdownOf(breakdown: Record<string, number>, components: Record<string, number>): Breakdown {
  const rows: BreakdownRow[] = [];
  for (const [key, points] of Object.entries(breakdown)) {
    if (key === "cost") continue;
    const raw = components[key];
    const value = typeof raw === "number" && Number.isFinite(raw) ? raw : null;
    rows.push({
      key,
      label: LABELS[key] ?? key.replaceAll("_", " "),
      points,
      value,
      max: value ? points / value : null,
    });
  }
  const order = Object.keys(LABELS);
  rows.sort((a, b) => (order.indexOf(a.key) + 1 || 99) - (order.indexOf(b.key) + 1 || 99));
  const cost = breakdown.cost ?? 0;
  const total = Math.round((rows.reduce((sum, r) => sum + r.points, 0) + cost) * 10000) / 10000;
  return { rows, cost, total };
}

/** The components that cost the most points, for a one-line "why not higher". */
export function weakest(b: Breakdown, n = 2): BreakdownRow[] {
  return b.rows
    .filter((r) => r.max !== null && r.max - r.points > 0.005)
    .sort((a, c) => (c.max! - c.points) - (a.max! - a.points))
    .slice(0, n);
}
