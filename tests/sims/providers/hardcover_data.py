"""The world as Hardcover's database holds it: a graph of dicts for the GraphQL simulator.

Rows carry ``__typename`` and reference each other (book -> book_series -> series -> book_series ->
book...), so a query can walk any relationship it selects. Faithful details: positions are floats
(or null), omnibus editions are ``compilation`` books whose ``details`` carries the range "1-3",
duplicates are separate books with ``canonical_id`` set, and the primary author's ``contribution``
is null while narrators say "Narrator". Hardcover lists every work of a series, including the
novellas Audible lacks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from tests.sims.world import Work, World, isbn10_of

Row = dict[str, Any]


@dataclass
class HardcoverGraph:
    author_ids: dict[str, int] = field(default_factory=dict)  # the world's authors keep their ids
    books: dict[int, Row] = field(default_factory=dict)
    series: dict[int, Row] = field(default_factory=dict)
    editions: list[Row] = field(default_factory=list)
    authors: dict[str, Row] = field(default_factory=dict)
    book_docs: list[dict[str, Any]] = field(default_factory=list)
    series_docs: list[dict[str, Any]] = field(default_factory=list)
    author_docs: list[dict[str, Any]] = field(default_factory=list)


def _person(graph: HardcoverGraph, name: str) -> Row:
    """Authors and narrators share Hardcover's ``authors`` table (narrators get ids from 80,000)."""
    if name not in graph.authors:
        ident = graph.author_ids.get(name, 80_000 + len(graph.authors))
        graph.authors[name] = {"__typename": "authors", "id": ident, "name": name, "books_count": 0}
    return graph.authors[name]


def _book_row(graph: HardcoverGraph, work: Work, book_id: int, canonical: int | None, users: int) -> Row:
    main = work.edition("us")
    row: Row = {
        "__typename": "books",
        "id": book_id,
        "title": work.title,
        "subtitle": work.subtitle,
        "release_date": work.release_date.isoformat(),
        "release_year": work.release_date.year,
        "audio_seconds": main.duration_seconds if main else None,
        "compilation": work.kind == "omnibus",
        "canonical_id": canonical,
        "users_count": users,
        "contributions": [],
        "book_series": [],
        "editions": [],
    }
    for name in work.authors:
        author = _person(graph, name)
        author["books_count"] += 1
        row["contributions"].append({"__typename": "contributions", "contribution": None, "author": author})
    for edition in work.editions:
        if edition.kind == "main":
            for name in edition.narrators:
                narrator = _person(graph, name)
                row["contributions"].append(
                    {"__typename": "contributions", "contribution": "Narrator", "author": narrator}
                )
            break
    if work.isbn13:
        row["editions"].append(
            {
                "__typename": "editions",
                "id": book_id * 10 + 1,
                "isbn_13": work.isbn13,
                "isbn_10": isbn10_of(work.isbn13),
                "asin": None,
                "edition_format": "Hardcover",
                "audio_seconds": None,
                "book": row,
            }
        )
    for k, edition in enumerate(e for e in work.editions if e.kind == "main"):
        row["editions"].append(
            {
                "__typename": "editions",
                "id": book_id * 10 + 2 + k,
                "isbn_13": None,
                "isbn_10": None,
                "asin": edition.asin,
                "edition_format": "Audible Audio",
                "audio_seconds": edition.duration_seconds,
                "book": row,
            }
        )
    return row


def build_graph(world: World) -> HardcoverGraph:
    graph = HardcoverGraph(author_ids={a.name: a.hardcover_id for a in world.authors})
    rng = random.Random(f"hardcover:{world.seed}")
    for s in world.series:
        series_row: Row = {
            "__typename": "series",
            "id": s.hardcover_id,
            "name": s.hardcover_name,
            "slug": s.hardcover_name.lower().replace(" ", "-"),
            "is_completed": not any(q.startswith("unreleased") for q in s.quirks),
            "book_series": [],
        }
        graph.series[s.hardcover_id] = series_row
        for work in s.works:
            rows = [(_book_row(graph, work, work.hardcover_id, None, rng.randint(50, 5000)), work)]
            if work.hardcover_duplicate_id is not None:
                rows.append(
                    (_book_row(graph, work, work.hardcover_duplicate_id, work.hardcover_id, rng.randint(1, 20)), work)
                )
            for row, w in rows:
                link: Row = {
                    "__typename": "book_series",
                    "id": row["id"] * 7,
                    "position": w.hardcover_position,
                    "details": w.hardcover_details,
                    "featured": True,
                    "compilation": w.kind == "omnibus",
                    "book": row,
                    "series": series_row,
                }
                row["book_series"].append(link)
                series_row["book_series"].append(link)
                graph.books[row["id"]] = row
                graph.editions.extend(row["editions"])
        canonical = [ln for ln in series_row["book_series"] if ln["book"]["canonical_id"] is None]
        positions = {ln["position"] for ln in canonical if not ln["compilation"]}
        series_row["books_count"] = len(canonical)
        series_row["primary_books_count"] = len(
            {p for p in positions if p is not None and p >= 1 and float(p).is_integer()}
        )
        series_row["author"] = graph.authors[s.authors[0]]
        graph.series_docs.append(
            {
                "id": str(s.hardcover_id),
                "name": s.hardcover_name,
                "author_name": s.authors[0],
                "books_count": series_row["books_count"],
                "primary_books_count": series_row["primary_books_count"],
                "books": [ln["book"]["title"] for ln in canonical],
                "users_count": sum(ln["book"]["users_count"] for ln in canonical),
            }
        )
    for row in graph.books.values():
        if row["canonical_id"] is not None:
            continue
        link = row["book_series"][0]
        isbns = [e[k] for e in row["editions"] for k in ("isbn_13", "isbn_10") if e[k]]
        graph.book_docs.append(
            {
                "id": str(row["id"]),
                "title": row["title"],
                "subtitle": row["subtitle"],
                "author_names": [c["author"]["name"] for c in row["contributions"] if c["contribution"] is None],
                "series_names": [link["series"]["name"]],
                "featured_series_position": link["position"],
                "isbns": isbns,
                "release_year": row["release_year"],
                "compilation": row["compilation"],
                "has_audiobook": row["audio_seconds"] is not None,
                "audio_seconds": row["audio_seconds"],
                "users_count": row["users_count"],
            }
        )
    graph.author_docs = [
        {"id": str(a["id"]), "name": a["name"], "books_count": a["books_count"], "users_count": a["books_count"]}
        for a in graph.authors.values()
    ]
    return graph
