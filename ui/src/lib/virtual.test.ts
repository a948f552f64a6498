import { describe, expect, it } from "vitest";
import { listWindow, nearEnd } from "./virtual";

const base = { viewport: 800, rowHeight: 80, count: 10_000, overscan: 5 };

describe("listWindow", () => {
  it("renders the visible rows and the overscan at the top of the list", () => {
    // the list starts 200 px down the page: rows 0..7 show (600 px of list), plus 5 below
    expect(listWindow({ ...base, offset: -200 })).toEqual({ start: 0, end: 13, before: 0, after: (10_000 - 13) * 80 });
  });

  it("follows the scroll: padding above and below adds up to the rows left out", () => {
    const w = listWindow({ ...base, offset: 400_000 }); // row 5000 at the viewport's top
    expect(w).toEqual({ start: 4995, end: 5015, before: 4995 * 80, after: (10_000 - 5015) * 80 });
    expect(w.before + (w.end - w.start) * 80 + w.after).toBe(10_000 * 80);
  });

  it("counts a partly visible row at either edge", () => {
    const w = listWindow({ ...base, offset: 40, overscan: 0 }); // half of row 0 .. half of row 10
    expect([w.start, w.end]).toEqual([0, 11]);
  });

  it("stops at the last row when scrolled to the bottom or past it", () => {
    expect(listWindow({ ...base, offset: 10_000 * 80 - 800 })).toMatchObject({ start: 9985, end: 10_000, after: 0 });
    expect(listWindow({ ...base, offset: 10_000 * 80 + 5000 })).toMatchObject({ start: 9995, end: 10_000, after: 0 });
  });

  it("renders only the overscan while the list is still below the viewport", () => {
    expect(listWindow({ ...base, offset: -2000 })).toMatchObject({ start: 0, end: 5, before: 0 });
  });

  it("renders every row of a list shorter than the viewport, and nothing of an empty one", () => {
    expect(listWindow({ ...base, count: 3, offset: 0 })).toEqual({ start: 0, end: 3, before: 0, after: 0 });
    expect(listWindow({ ...base, count: 0, offset: 0 })).toEqual({ start: 0, end: 0, before: 0, after: 0 });
  });

  it("renders nothing rather than dividing by a row height not measured yet", () => {
    expect(listWindow({ ...base, rowHeight: 0, offset: 0 })).toEqual({ start: 0, end: 0, before: 0, after: 0 });
    expect(listWindow({ ...base, rowHeight: Number.NaN, offset: 0 })).toEqual({ start: 0, end: 0, before: 0, after: 0 });
  });

  it("keeps the DOM small whatever the list's length", () => {
    for (const count of [100, 10_000, 1_000_000]) {
      const w = listWindow({ ...base, count, offset: count * 40 });
      expect(w.end - w.start).toBeLessThanOrEqual(800 / 80 + 1 + 2 * 5);
    }
  });
});

describe("nearEnd", () => {
  it("asks for the next page when the window comes within the margin of the loaded rows", () => {
    const loaded = 300;
    const far = listWindow({ ...base, count: loaded, offset: 0 });
    const close = listWindow({ ...base, count: loaded, offset: (loaded - 40) * 80 });
    expect(nearEnd(far, loaded, 40)).toBe(false);
    expect(nearEnd(close, loaded, 40)).toBe(true);
    expect(nearEnd(listWindow({ ...base, count: 0, offset: 0 }), 0)).toBe(false);
  });
});
