// A series in reading order: the books the library owns and the gaps the last scan found, merged
// into one list by the API's `sort_key` (the position as a number: the server parses positions,
// the page never does). Each owned book says who reads it and which sources place it there; each
// gap says which provider lists it at which position, and which listing that was.
import type { Schemas } from "../api/client";

export type SeriesDetail = Schemas["SeriesDetail"];
export type SeriesGaps = Schemas["SeriesGaps"];
export type MissingEntry = Schemas["MissingEntry"];
export type Book = Schemas["BookOut"];
export type Listing = Schemas["ProviderListing"];

export interface OwnedRow {
  kind: "owned";
  key: string;
  position: string | null;
  sortKey: number | null;
  book: Book;
  narrators: string[];
  /** Who places an owned book at this position (abs, audible, hardcover, title...). */
  sources: string[];
}

/** A position the scan counts as owned with no library book placed there (an omnibus's volumes, a
 *  book ABS has under no position that a provider places here). */
export interface CoveredRow {
  kind: "covered";
  key: string;
  position: string;
  sortKey: number | null;
  sources: string[];
}

export interface MissingRow {
  kind: "missing";
  key: string;
  position: string | null;
  sortKey: number | null;
  entry: MissingEntry;
  /** Provider and position, with the listing the provider's position came from when known. */
  evidence: { provider: string; position: string; listing: Listing | null }[];
  scan: SeriesGaps;
}

export type TimelineRow = OwnedRow | CoveredRow | MissingRow;

const RANK = { owned: 0, covered: 1, missing: 2 } as const;

/** The distinct narrators of a book's recordings, in the order first read. */
export function narratorsOf(book: Book): string[] {
  return [...new Set(book.recordings.flatMap((r) => r.narrators))];
}

function sameKey(a: number | null, b: number | null): boolean {
  return a != null && b != null && Math.abs(a - b) < 1e-9;
}

function compare(a: TimelineRow, b: TimelineRow): number {
  const ka = a.sortKey ?? Number.POSITIVE_INFINITY;
  const kb = b.sortKey ?? Number.POSITIVE_INFINITY;
  if (ka !== kb) return ka < kb ? -1 : 1;
  if (RANK[a.kind] !== RANK[b.kind]) return RANK[a.kind] - RANK[b.kind];
  return (a.position ?? "").localeCompare(b.position ?? "", undefined, { numeric: true });
}

export function evidenceOf(entry: MissingEntry, scan: SeriesGaps): MissingRow["evidence"] {
  return Object.entries(entry.sources)
    .filter((e): e is [string, string] => typeof e[1] === "string")
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([provider, position]) => ({
      provider,
      position,
      listing: scan.listings.find((l) => l.provider === provider) ?? null,
    }));
}

export function timeline(detail: SeriesDetail): TimelineRow[] {
  const owned = detail.gaps.flatMap((g) => g.owned);
  const rows: TimelineRow[] = detail.members.map((m) => ({
    kind: "owned",
    key: `book-${m.book.id}`,
    position: m.position,
    sortKey: m.sort_key,
    book: m.book,
    narrators: narratorsOf(m.book),
    sources: [...new Set(owned.filter((o) => sameKey(o.sort_key, m.sort_key)).flatMap((o) => o.sources))].sort(),
  }));
  const seen = new Set<number>();
  for (const o of owned) {
    if (o.sort_key == null || detail.members.some((m) => sameKey(m.sort_key, o.sort_key)) || seen.has(o.sort_key)) {
      continue;
    }
    seen.add(o.sort_key);
    const sources = [...new Set(owned.filter((x) => sameKey(x.sort_key, o.sort_key)).flatMap((x) => x.sources))];
    rows.push({ kind: "covered", key: `covered-${o.position}`, position: o.position, sortKey: o.sort_key,
                sources: sources.sort() });
  }
  for (const scan of detail.gaps) {
    for (const entry of scan.missing) {
      rows.push({ kind: "missing", key: `wanted-${entry.wanted_id}`, position: entry.position,
                  sortKey: entry.sort_key, entry, evidence: evidenceOf(entry, scan), scan });
    }
  }
  return rows.sort(compare);
}

/** What a person can do about a gap, from its wanted entry's state. */
export function gapAction(state: string): "search" | "want" | "approve" | null {
  if (state === "wanted") return "search";
  if (state === "ignored") return "want";
  if (state === "suggested") return "approve";
  return null; // searching, grabbed, downloaded, imported: under way; the entry's page shows where
}

const SOURCES: Record<string, string> = {
  abs: "Audiobookshelf", audible: "Audible", hardcover: "Hardcover", title: "its title",
  "listing:asin": "a listing (same ASIN)", "listing:hardcover": "a listing (same Hardcover id)",
  "listing:title": "a listing (same title and author)",
};

/** A source or provider name as a person reads it ("listing:asin" -> "a listing (same ASIN)"). */
export function sourceName(source: string): string {
  return SOURCES[source] ?? source;
}
