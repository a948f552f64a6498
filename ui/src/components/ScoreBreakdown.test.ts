import { render, screen, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { breakdownOf, weakest } from "../lib/breakdown";
import ScoreBreakdown from "./ScoreBreakdown.svelte";

// The example of docs/api.md: weights match 3, narrator 3, format 2, bitrate 1.1, single file 0.5, seeders 0.4.
const breakdown = { match: 0.27, narrator: 0.27, format: 0.18, bitrate: 0.1, single_file: 0.05, seeders: 0.04, cost: -0.028 };
const components = { match: 0.98, narrator: 1, format: 1, bitrate: 1, single_file: 1, seeders: 0.44 };

describe("breakdownOf", () => {
  it("keeps the server's points, orders components, and derives each maximum", () => {
    const b = breakdownOf(breakdown, components);
    expect(b.rows.map((r) => r.key)).toEqual(["match", "narrator", "format", "bitrate", "single_file", "seeders"]);
    expect(b.cost).toBe(-0.028);
    expect(b.total).toBe(0.882);
    const seeders = b.rows.find((r) => r.key === "seeders")!;
    expect(seeders.max).toBeCloseTo(0.0909, 3);
    expect(seeders.label).toBe("Seeders");
  });

  it("cannot know the maximum of a component worth nothing, and names unknown keys", () => {
    const b = breakdownOf({ match: 0, extra_thing: 0.1 }, { match: 0, extra_thing: 0.5 });
    expect(b.rows[0]).toMatchObject({ key: "match", max: null, value: 0 });
    expect(b.rows[1]).toMatchObject({ label: "extra thing", max: 0.2 });
    expect(b.cost).toBe(0);
  });

  it("says where the most points were lost", () => {
    expect(weakest(breakdownOf(breakdown, components)).map((r) => r.key)).toEqual(["seeders", "match"]);
  });
});

describe("<ScoreBreakdown>", () => {
  it("renders a row per component, the cost and the total, as a labelled table", () => {
    render(ScoreBreakdown, { breakdown, components, score: 0.882 });
    const table = screen.getByRole("table");
    expect(within(table).getByText(/Score 0\.882/)).toBeTruthy();
    expect(within(table).getByText(/lost most on seeders and match/)).toBeTruthy();
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(1 + 6 + 1 + 1); // header, components, cost, total
    const narrator = within(table).getByRole("rowheader", { name: "Narrator" }).closest("tr")!;
    expect(narrator.textContent).toContain("100 %");
    expect(narrator.textContent).toContain("+0.270");
    const cost = within(table).getByRole("rowheader", { name: "Cost" }).closest("tr")!;
    expect(cost.textContent).toContain("−0.028");
  });
});
