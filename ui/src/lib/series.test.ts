import { describe, expect, it } from "vitest";
import { gapAction, sourceName, timeline, type Book, type SeriesDetail, type SeriesGaps } from "./series";

const book = (id: number, title: string, narrators: string[][]): Book => ({
  id, title, authors: ["Mira Calloway"], series: [],
  recordings: narrators.map((n, i) => ({ abs_id: `li-${id}-${i}`, asin: null, abridged: false, duration_seconds: 3600,
                                         library_id: "lib", narrators: n })),
});

const scan = (over: Partial<SeriesGaps>): SeriesGaps => ({
  metadata_series_id: 7, name: "The Glass Cycle", key: "the glass cycle", library_series_ids: [3], checked_at: null,
  as_of: "2026-12-01", audible_asins: [], hardcover_ids: [], owned: [], missing: [], listings: [], failed: [], ...over,
});

const missing = (wanted_id: number, position: string, sort_key: number, sources: Record<string, string>) => ({
  wanted_id, position, sort_key, title: `Book ${position}`, asin: null, state: "wanted", priority: 60,
  release_date: null, sources, kind: "primary",
});

const detail = (over: Partial<SeriesDetail>): SeriesDetail => ({
  id: 3, name: "The Glass Cycle", book_count: 0, positions: [], members: [], gaps: [], ...over,
});

describe("timeline", () => {
  it("puts owned books and gaps in one reading order, by the API's sort keys", () => {
    const rows = timeline(detail({
      members: [
        { position: "3", sort_key: 3, book: book(30, "Three", [["Jonah Pike"]]) },
        { position: "1", sort_key: 1, book: book(10, "One", [["Jonah Pike"], ["Ada Quill", "Jonah Pike"]]) },
        { position: null, sort_key: null, book: book(99, "Unplaced", [[]]) },
      ],
      gaps: [scan({
        owned: [{ position: "1", sort_key: 1, sources: ["abs", "audible"] }, { position: "3", sort_key: 3, sources: ["abs"] }],
        missing: [missing(5, "10", 10, { audible: "10" }), missing(4, "2", 2, { audible: "2", hardcover: "2" }),
                  missing(6, "2.5", 2.5, { hardcover: "2.5" })],
        listings: [{ provider: "audible", id: "B0SERIES", name: "Glass Cycle", region: "us",
                     fetched_at: "2026-12-01T00:00:00+00:00", entries: 9 }],
      })],
    }));
    expect(rows.map((r) => `${r.kind}:${r.position}`)).toEqual(
      ["owned:1", "missing:2", "missing:2.5", "owned:3", "missing:10", "owned:null"]);
    const one = rows[0]!;
    expect(one.kind === "owned" && one.narrators).toEqual(["Jonah Pike", "Ada Quill"]);
    expect(one.kind === "owned" && one.sources).toEqual(["abs", "audible"]);
    const two = rows[1]!;
    expect(two.kind === "missing" && two.evidence.map((e) => [e.provider, e.position, e.listing?.id ?? null])).toEqual(
      [["audible", "2", "B0SERIES"], ["hardcover", "2", null]]);
  });

  it("shows owned positions no library book sits at (an omnibus's volumes) once, before a gap at the same place", () => {
    const rows = timeline(detail({
      members: [{ position: "1-3", sort_key: 1, book: book(13, "Omnibus", [["Jonah Pike"]]) }],
      gaps: [scan({ owned: ["1", "2", "3"].map((p) => ({ position: p, sort_key: Number(p), sources: ["abs"] })) }),
             scan({ metadata_series_id: 8, owned: [{ position: "2", sort_key: 2, sources: ["listing:asin"] }],
                    missing: [missing(9, "4", 4, { audible: "4" })] })],
    }));
    expect(rows.map((r) => `${r.kind}:${r.position}`)).toEqual(["owned:1-3", "covered:2", "covered:3", "missing:4"]);
    expect(rows[1]!.kind === "covered" && rows[1]!.sources).toEqual(["abs", "listing:asin"]);
    expect(rows[3]!.kind === "missing" && rows[3]!.scan.metadata_series_id).toBe(8);
  });

  it("is empty for a series with no book and no scan", () => {
    expect(timeline(detail({}))).toEqual([]);
  });
});

describe("gapAction and sourceName", () => {
  it("offers what the wanted entry's state allows", () => {
    expect(["wanted", "ignored", "suggested", "searching", "imported"].map(gapAction))
      .toEqual(["search", "want", "approve", null, null]);
  });

  it("names sources for a person", () => {
    expect(["abs", "listing:asin", "hardcover", "goodreads"].map(sourceName))
      .toEqual(["Audiobookshelf", "a listing (same ASIN)", "Hardcover", "goodreads"]);
  });
});
