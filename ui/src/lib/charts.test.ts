import { describe as group, expect, it } from "vitest";
import { accountSeries, describe, frameOf, pathOf, seriesOf, type SnapshotLike } from "./charts";

const snap = (fetched_at: string, extra: Partial<SnapshotLike>): SnapshotLike => ({ fetched_at, ...extra });

group("seriesOf", () => {
  it("orders newest-first history oldest first and drops unknown values", () => {
    const history = [
      snap("2026-12-03T10:00:00Z", { ratio: 2.5 }),
      snap("2026-12-03T09:00:00Z", { ratio: null }),
      snap("2026-12-03T08:00:00Z", { ratio: 2.0 }),
      snap("not a date", { ratio: 9 }),
      snap("2026-12-03T07:00:00Z", { ratio: Infinity }),
    ];
    expect(seriesOf(history, (s) => s.ratio)).toEqual([
      { t: Date.parse("2026-12-03T08:00:00Z"), v: 2.0 },
      { t: Date.parse("2026-12-03T10:00:00Z"), v: 2.5 },
    ]);
  });

  it("keeps one point per instant", () => {
    const history = [snap("2026-12-03T10:00:00Z", { ratio: 1 }), snap("2026-12-03T10:00:00Z", { ratio: 3 })];
    expect(seriesOf(history, (s) => s.ratio)).toEqual([{ t: Date.parse("2026-12-03T10:00:00Z"), v: 3 }]);
  });
});

group("accountSeries", () => {
  it("splits the unsatisfied count from its limit", () => {
    const s = accountSeries([
      { fetched_at: "2026-12-02T00:00:00Z", unsat_count: 12, unsat_limit: 100, seedbonus: 500, ratio: 1.5 },
      { fetched_at: "2026-12-01T00:00:00Z", unsat_count: 10, unsat_limit: null, seedbonus: 400, ratio: 1.4 },
    ]);
    expect(s.unsat.map((p) => p.v)).toEqual([10, 12]);
    expect(s.unsatLimit.map((p) => p.v)).toEqual([100]);
    expect(s.bonus.map((p) => p.v)).toEqual([400, 500]);
  });
});

group("frames and paths", () => {
  it("spans every series and can start at zero", () => {
    const a = [{ t: 0, v: 10 }, { t: 100, v: 20 }];
    const b = [{ t: 50, v: 100 }];
    expect(frameOf([a, b])).toEqual({ tMin: 0, tMax: 100, vMin: 10, vMax: 100 });
    expect(frameOf([a], true)).toEqual({ tMin: 0, tMax: 100, vMin: 0, vMax: 20 });
    expect(frameOf([[]])).toBeNull();
  });

  it("widens a flat series so its line sits mid-height", () => {
    const flat = [{ t: 0, v: 5 }, { t: 10, v: 5 }];
    const frame = frameOf([flat])!;
    expect(pathOf(flat, frame, 100, 50)).toBe("M0.0 25.0 L100.0 25.0");
  });

  it("maps time to x and value to y, y growing downwards", () => {
    const pts = [{ t: 0, v: 0 }, { t: 5, v: 10 }, { t: 10, v: 5 }];
    expect(pathOf(pts, frameOf([pts])!, 200, 100)).toBe("M0.0 100.0 L100.0 0.0 L200.0 50.0");
  });

  it("draws a single reading as a level line across the chart (a one-point path would be invisible)", () => {
    const one = [{ t: 7, v: 3 }];
    expect(pathOf(one, frameOf([one])!, 100, 50)).toBe("M0.0 25.0 L100.0 25.0");
    expect(pathOf([], frameOf([one])!, 100, 50)).toBe("");
  });

  it("describes a chart in words", () => {
    const pts = [{ t: Date.parse("2026-12-01T00:00:00Z"), v: 1 }, { t: Date.parse("2026-12-02T00:00:00Z"), v: 3 }];
    const text = describe("Ratio", pts, (v) => v.toFixed(2));
    expect(text).toContain("Ratio: 3.00 now");
    expect(text).toContain("lowest 1.00, highest 3.00 over 2 readings");
    expect(describe("Ratio", [])).toBe("Ratio: no data yet");
  });
});
