"""Open Library simulator: ``search.json``, works, editions, authors and the ISBN redirect.

Faithful points: ``/isbn/{isbn}.json`` answers 302 to ``/books/{OLID}.json`` (clients must follow
it), editions name authors by key only, ``search.json`` honours ``fields`` and ``limit``, work
descriptions come either as text or as ``{"type": "/type/text", "value": ...}``, and edition
``series`` strings look like "Name #3". Only works with a print ISBN have an edition.
"""

from __future__ import annotations

import re
from typing import Any

from tests.sims.providers.catalog import tokens
from tests.sims.providers.common import SimApp, SimRequest, SimResponse, SimState, route
from tests.sims.world import Work, World, isbn10_of

PARTIAL_KEYS = frozenset(
    {
        "author_name",
        "isbn",
        "language",
        "first_publish_year",
        "subtitle",
        "authors",
        "series",
        "publish_date",
        "languages",
        "description",
    }
)
REQUIRED_KEYS = frozenset({"title"})
_MONTHS = "January February March April May June July August September October November December".split()


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": message}


def build_openlibrary_app(world: World, *, state: SimState | None = None) -> SimApp:
    works = {w.ol_work: w for w in world.works.values()}
    editions = {w.ol_edition: w for w in world.works.values() if w.ol_edition}
    by_isbn: dict[str, Work] = {}
    for w in world.works.values():
        if w.isbn13:
            by_isbn[w.isbn13] = w
            ten = isbn10_of(w.isbn13)
            if ten:
                by_isbn[ten] = w
    authors = {a.ol_key: a for a in world.authors}
    author_key = {a.name: a.ol_key for a in world.authors}

    def doc(work: Work) -> dict[str, Any]:
        isbns = [i for i in (work.isbn13, isbn10_of(work.isbn13) if work.isbn13 else None) if i]
        return {
            "key": f"/works/{work.ol_work}",
            "title": work.title,
            "author_name": list(work.authors),
            "author_key": [author_key[a] for a in work.authors],
            "first_publish_year": work.release_date.year,
            "isbn": isbns,
            "language": ["eng"],
            "edition_count": 1 + len(isbns) // 2,
        }

    def search(request: SimRequest, _m: re.Match[str]) -> SimResponse:
        title, author, q = request.arg("title"), request.arg("author"), request.arg("q")
        if not (title or author or q):
            return SimResponse(400, error_body(400, "Missing query"))
        limit = int(request.arg("limit") or "100")
        offset = int(request.arg("offset") or "0")
        fields = [f for f in (request.arg("fields") or "*").split(",") if f]
        hits = []
        for wid in sorted(works):
            work = works[wid]
            checks = (
                (title, f"{work.title} {work.subtitle or ''}"),
                (author, " ".join(work.authors)),
                (q, f"{work.title} {' '.join(work.authors)} {work.isbn13 or ''}"),
            )
            if all(want is None or set(tokens(want)) <= set(tokens(text)) for want, text in checks):
                hits.append(doc(work))
        window = hits[offset : offset + limit]
        if "*" not in fields:
            window = [{k: v for k, v in d.items() if k in fields} for d in window]
        return SimResponse(
            200, {"numFound": len(hits), "start": offset, "numFoundExact": True, "docs": window, "q": q or ""}
        )

    def work_json(_r: SimRequest, m: re.Match[str]) -> SimResponse:
        work = works.get(m.group(1))
        if work is None:
            return SimResponse(404, error_body(404, "notfound"))
        description: Any = f"{work.title}, a novel."
        if work.itunes_id % 2:
            description = {"type": "/type/text", "value": description}
        body = {
            "key": f"/works/{work.ol_work}",
            "title": work.title,
            "subtitle": work.subtitle,
            "description": description,
            "covers": [work.itunes_id % 10_000_000],
            "subjects": ["Fantasy"],
            "authors": [
                {"author": {"key": f"/authors/{author_key[a]}"}, "type": {"key": "/type/author_role"}}
                for a in work.authors
            ],
            "type": {"key": "/type/work"},
        }
        return SimResponse(200, {k: v for k, v in body.items() if v is not None})

    def isbn(_r: SimRequest, m: re.Match[str]) -> SimResponse:
        work = by_isbn.get(m.group(1).upper())
        if work is None or work.ol_edition is None:
            return SimResponse(404, error_body(404, "notfound"))
        return SimResponse(302, b"", {"location": f"/books/{work.ol_edition}.json"})

    def edition(_r: SimRequest, m: re.Match[str]) -> SimResponse:
        work = editions.get(m.group(1))
        if work is None or work.isbn13 is None:
            return SimResponse(404, error_body(404, "notfound"))
        series = world.series_by_id[work.series_id]
        d = work.release_date
        body: dict[str, Any] = {
            "key": f"/books/{work.ol_edition}",
            "title": work.title,
            "subtitle": work.subtitle,
            "authors": [{"key": f"/authors/{author_key[a]}"} for a in work.authors],
            "works": [{"key": f"/works/{work.ol_work}"}],
            "isbn_13": [work.isbn13],
            "isbn_10": [i for i in (isbn10_of(work.isbn13),) if i],
            "publish_date": f"{_MONTHS[d.month - 1]} {d.day}, {d.year}",
            "number_of_pages": 200 + work.itunes_id % 500,
            "languages": [{"key": "/languages/eng"}],
            "physical_format": "Hardcover",
            "type": {"key": "/type/edition"},
        }
        if work.kind != "omnibus" and work.itunes_id % 3:
            body["series"] = [f"{series.hardcover_name} #{work.position}"]
        return SimResponse(200, {k: v for k, v in body.items() if v is not None})

    def author(_r: SimRequest, m: re.Match[str]) -> SimResponse:
        found = authors.get(m.group(1))
        if found is None:
            return SimResponse(404, error_body(404, "notfound"))
        return SimResponse(
            200,
            {
                "key": f"/authors/{found.ol_key}",
                "name": found.name,
                "personal_name": found.name,
                "type": {"key": "/type/author"},
            },
        )

    routes = [
        route("GET", "/search.json", "search", search),
        route("GET", r"/works/(OL\d+W)\.json", "work", work_json),
        route("GET", r"/isbn/([0-9Xx]{10}|[0-9]{13})\.json", "isbn", isbn),
        route("GET", r"/books/(OL\d+M)\.json", "edition", edition),
        route("GET", r"/authors/(OL\d+A)\.json", "author", author),
    ]
    return SimApp(
        "openlibrary",
        routes,
        error_body=error_body,
        partial_keys=PARTIAL_KEYS,
        required_keys=REQUIRED_KEYS,
        state=state,
    )
