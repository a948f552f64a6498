"""Series gaps: which books of a series are missing, from the providers' listings and what is owned.

1. *Books.* Audible and Hardcover list a series differently (names, novellas only one of them has,
   books Audible sells but does not link, sequences like "Book 3" or none at all). Their entries are
   joined into books by title, then by a position both give once; a book's position is Hardcover's
   when it has one (bibliographic), else Audible's. Abridged Audible entries are dropped.
2. *Kinds*, from the position: "1-3" omnibus, "2.5" novella, "0" prequel, "3" primary, none unknown.
3. *Owned.* A book is owned when its ASIN (any marketplace's, through matches), its Hardcover id, or
   its title with one of its authors belongs to an owned work — whatever series name the library
   uses, or none. Owned positions are every position an owned work is placed at by any source
   (ABS, a provider match, its title) plus the positions of owned books; an omnibus covers its
   range, and owning all of an omnibus's volumes covers the omnibus.
4. *Gaps* (default rule): released primary books whose position is not owned. ``rules`` add
   novellas, prequels, omnibus editions (only when every volume they hold is missing) and
   unreleased books. One book per position: the one with an ASIN, released first.
5. *Priority*: the position right after the highest one owned first (100), then the later ones
   (89, 88...), then the interior gaps (60, 59...); extra kinds 20.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from shared.names import TitleForms, title_forms
from shared.positions import SeriesPosition, canonical_position

KINDS = ("primary", "novella", "prequel", "omnibus", "unknown")


@dataclass(frozen=True, slots=True)
class Entry:
    """One provider listing entry, as stored."""

    provider: str
    source_id: str
    position: str | None
    title: str | None
    authors: tuple[str, ...] = ()
    asin: str | None = None
    release_date: str | None = None
    language: str | None = None
    abridged: bool | None = None
    duration_seconds: int | None = None
    narrators: tuple[str, ...] = ()


@dataclass
class Book:
    title: str
    authors: tuple[str, ...]
    asin: str | None = None
    hardcover_id: str | None = None
    positions: dict[str, str] = field(default_factory=dict)  # provider -> canonical position
    release_date: str | None = None
    language: str | None = None
    duration_seconds: int | None = None  # the Audible recording's runtime: what an import checks against
    narrators: tuple[str, ...] = ()

    @property
    def position(self) -> str | None:
        return self.positions.get("hardcover") or self.positions.get("audible")

    @property
    def forms(self) -> TitleForms:
        return title_forms(self.title)


def kind_of(position: str | None) -> str:
    parsed = SeriesPosition.parse(position)
    if parsed is None:
        return "unknown"
    if parsed.is_range:
        return "omnibus"
    if parsed.is_fractional:
        return "novella"
    return "prequel" if parsed.sort_key < 1 else "primary"


def covers(position: str | None) -> set[str]:
    """The positions a book at ``position`` fills: "1-3" fills 1, 2 and 3."""
    parsed = SeriesPosition.parse(position)
    return parsed.covers() if parsed is not None else set()


def sort_key(position: str | None) -> float:
    parsed = SeriesPosition.parse(position)
    return parsed.sort_key if parsed is not None else float("inf")


def released(release: str | None, as_of: date) -> bool:
    """Unknown dates count as released; a bare year counts as released unless it is a later year."""
    if not release:
        return True
    parts = release.split("-")
    if len(parts) == 1:
        return int(parts[0]) <= as_of.year
    if len(parts) == 2:
        return (int(parts[0]), int(parts[1])) <= (as_of.year, as_of.month)
    return release[:10] <= as_of.isoformat()


def merge_entries(entries: list[Entry]) -> list[Book]:
    books: list[Book] = []
    for e in sorted((e for e in entries if e.provider != "hardcover"), key=lambda e: e.source_id):
        if e.abridged or not e.title:
            continue
        pos = canonical_position(e.position) if e.position else None
        books.append(Book(e.title, e.authors, asin=e.asin, positions={"audible": pos} if pos else {},
                          release_date=e.release_date, language=e.language, duration_seconds=e.duration_seconds,
                          narrators=e.narrators))
    from_audible = list(books)
    for e in sorted((e for e in entries if e.provider == "hardcover"), key=lambda e: e.source_id):
        pos = canonical_position(e.position) if e.position else None
        forms = title_forms(e.title) if e.title else TitleForms(frozenset(), frozenset())
        joined = next((b for b in from_audible if b.hardcover_id is None and forms.overlaps(b.forms)), None)
        if joined is None and pos is not None:
            same = [b for b in from_audible if b.positions.get("audible") == pos and b.hardcover_id is None]
            joined = same[0] if len(same) == 1 and not any(forms.overlaps(b.forms) for b in books) else None
        if joined is not None:
            joined.hardcover_id = e.source_id
            if pos:
                joined.positions["hardcover"] = pos
            joined.release_date = joined.release_date or e.release_date
            joined.authors = joined.authors or e.authors
        elif e.title:
            books.append(Book(e.title, e.authors, hardcover_id=e.source_id,
                              positions={"hardcover": pos} if pos else {}, release_date=e.release_date))
    return books


@dataclass
class Owned:
    """Global ownership evidence: ASINs, Hardcover ids, and title forms with their works' authors.

    ``titles`` holds owned works' full title forms, ``short_titles`` their before-a-colon forms; a
    listed book's full forms are looked up in both, its short forms in ``titles`` only.
    """

    asins: set[str] = field(default_factory=set)
    hardcover_ids: set[str] = field(default_factory=set)
    titles: dict[str, set[str]] = field(default_factory=dict)
    short_titles: dict[str, set[str]] = field(default_factory=dict)

    def why(self, book: Book, book_authors: set[str]) -> str | None:
        if book.asin and book.asin in self.asins:
            return "asin"
        if book.hardcover_id and book.hardcover_id in self.hardcover_ids:
            return "hardcover"
        forms = book.forms
        looked = [(k, self.titles) for k in forms.full | forms.short] + [(k, self.short_titles) for k in forms.full]
        for key, index in looked:
            authors = index.get(key)
            if authors is not None and (not book_authors or not authors or authors & book_authors):
                return "title"
        return None


@dataclass(frozen=True)
class Gap:
    book: Book
    position: str
    kind: str
    priority: int


@dataclass
class SeriesGaps:
    owned: dict[str, set[str]]  # position -> sources that place an owned work there
    missing: list[Gap]
    books: int
    unplaced: int  # listed books without a usable position

    def owned_list(self) -> list[dict[str, object]]:
        return [{"position": p, "sources": sorted(s)} for p, s in sorted(self.owned.items(),
                                                                          key=lambda ps: sort_key(ps[0]))]


def compute(books: list[Book], placed: dict[int, dict[str, list[str]]], owned: Owned, *, author_keys_of: dict[int,
            set[str]], rules: set[str], as_of: date) -> SeriesGaps:
    """``placed``: owned work -> source -> positions; ``author_keys_of``: book index -> its author keys."""
    positions: dict[str, set[str]] = {}
    for by_source in placed.values():
        for source, values in by_source.items():
            for value in values:
                for p in covers(value):
                    positions.setdefault(p, set()).add(source)
    owned_books: set[int] = set()
    for i, book in enumerate(books):
        why = owned.why(book, author_keys_of.get(i, set()))
        if why is not None:
            owned_books.add(i)
            for value in book.positions.values():
                for p in covers(value):
                    positions.setdefault(p, set()).add(f"listing:{why}")
    for i, book in enumerate(books):  # owning every volume of an omnibus owns the omnibus
        if kind_of(book.position) == "omnibus" and covers(book.position) <= set(positions):
            owned_books.add(i)
    candidates: dict[str, list[tuple[int, Book, str]]] = {}  # unknown kinds have no position: never here
    for i, book in enumerate(books):
        pos, kind = book.position, kind_of(book.position)
        if i in owned_books or pos is None:
            continue
        if kind == "omnibus":
            if "omnibus" not in rules or covers(pos) & set(positions):
                continue
        elif pos in positions or (kind != "primary" and kind not in rules):
            continue
        if not released(book.release_date, as_of) and "unreleased" not in rules:
            continue
        candidates.setdefault(pos, []).append((i, book, kind))
    chosen = [min(c, key=lambda ibk: (ibk[1].asin is None, ibk[1].release_date or "9999", ibk[0]))
              for c in candidates.values()]
    missing = _prioritise([(b, k) for _, b, k in chosen], positions, as_of)
    unplaced = sum(1 for b in books if b.position is None)
    return SeriesGaps(positions, missing, len(books), unplaced)


def _prioritise(chosen: list[tuple[Book, str]], owned: dict[str, set[str]], as_of: date) -> list[Gap]:
    top = max((sort_key(p) for p in owned if kind_of(p) in ("primary", "prequel")), default=0.0)
    primaries = sorted((b for b, k in chosen if k == "primary"), key=lambda b: sort_key(b.position))
    trailing = [b for b in primaries if sort_key(b.position) > top]
    interior = [b for b in primaries if sort_key(b.position) <= top]
    out: list[Gap] = []
    for n, book in enumerate(trailing):
        out.append(Gap(book, book.position or "", "primary", 100 if n == 0 else max(61, 90 - n)))
    for n, book in enumerate(interior):
        out.append(Gap(book, book.position or "", "primary", max(31, 60 - n)))
    for book, kind in chosen:
        if kind != "primary":
            out.append(Gap(book, book.position or "", kind, 20))
    return [g if released(g.book.release_date, as_of) else Gap(g.book, g.position, g.kind, min(g.priority, 10))
            for g in sorted(out, key=lambda g: (-g.priority, sort_key(g.position)))]
