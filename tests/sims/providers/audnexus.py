"""Audnexus simulator: per-region book records, chapters and authors, served from the world.

Faithful points: ``/books/{ASIN}?region=`` answers 404 ``REGION_UNAVAILABLE`` when the ASIN
belongs to another marketplace (ASINs are per region), plain 404 when unknown, 400 for a malformed
ASIN or region; the documented 100 requests/min limit answers 429 ``RATE_LIMIT_EXCEEDED``
(``enforce_limits=False`` turns it off). Errors look like ``{"statusCode", "error", "message"}``.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from typing import Any

from tests.sims.providers.catalog import AudibleCatalog, tokens
from tests.sims.providers.common import Gcra, SimApp, SimRequest, SimResponse, SimState, route
from tests.sims.world import AudioEdition, Work, World

REGIONS = ("us", "uk", "ca", "au", "de", "fr", "in", "it", "es", "jp")
PARTIAL_KEYS = frozenset(
    {
        "narrators",
        "runtimeLengthMin",
        "seriesPrimary",
        "seriesSecondary",
        "releaseDate",
        "isbn",
        "subtitle",
        "language",
        "formatType",
        "genres",
    }
)
REQUIRED_KEYS = frozenset({"title", "asin"})
_ASIN = re.compile(r"^[A-Z0-9]{10}$")
_PHRASES = {
    400: "Bad Request",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def error_body(status: int, message: str, error: str | None = None) -> dict[str, Any]:
    return {"statusCode": status, "error": error or _PHRASES.get(status, "Error"), "message": message}


def build_audnexus_app(
    world: World, *, enforce_limits: bool = True, clock: Callable[[], float] = time.time, state: SimState | None = None
) -> SimApp:
    catalogs = {
        region: AudibleCatalog(world, region) for region in sorted({e.region for _, e in world.editions.values()})
    }
    authors_by_asin = {a.asin: a for a in world.authors}
    sim_state = state or SimState("audnexus", clock=clock, limiter=Gcra(100, 60.0, 100) if enforce_limits else None)

    def lookup(request: SimRequest, asin: str) -> tuple[str, tuple[Work, AudioEdition] | SimResponse]:
        region = (request.arg("region") or "us").lower()
        if region not in REGIONS:
            return region, SimResponse(400, error_body(400, f"Invalid region: {region}"))
        if not _ASIN.match(asin):
            return region, SimResponse(400, error_body(400, "Bad ASIN"))
        catalog = catalogs.get(region)
        if catalog is not None and asin in catalog.products:
            return region, catalog.products[asin]
        if asin in world.editions:
            return region, SimResponse(
                404, error_body(404, f"Item not available in region: {region}", "REGION_UNAVAILABLE")
            )
        return region, SimResponse(404, error_body(404, "Book not found"))

    def book(request: SimRequest, m: re.Match[str]) -> SimResponse:
        region, found = lookup(request, m.group(1))
        if isinstance(found, SimResponse):
            return found
        work, edition = found
        catalog = catalogs[region]
        members = catalog.memberships.get(edition.asin, [])
        primary = next((x for x in members if not x.universe), None)
        secondary = next((x for x in members if x.universe), None)
        record: dict[str, Any] = {
            "asin": edition.asin,
            "title": edition.title,
            "subtitle": work.subtitle,
            "authors": [{"asin": catalog.author_asin(a), "name": a} for a in work.authors],
            "narrators": [{"name": n} for n in edition.narrators],
            "publisherName": "Simulated Audio",
            "releaseDate": f"{edition.release_date.isoformat()}T00:00:00.000Z",
            "runtimeLengthMin": max(1, round(edition.duration_seconds / 60)),
            "formatType": "abridged" if edition.kind == "abridged" else "unabridged",
            "language": edition.language,
            "literatureType": "fiction",
            "genres": [{"asin": "18580606011", "name": "Science Fiction & Fantasy", "type": "genre"}],
            "summary": f"<p>{edition.title}</p>",
            "description": f"{edition.title}.",
            "image": f"https://m.media-amazon.sim/images/I/{edition.asin}.jpg",
            "isbn": work.isbn13,
            "rating": "4.5",
            "region": region,
            "isAdult": False,
            "copyright": edition.release_date.year,
        }
        for key, member in (("seriesPrimary", primary), ("seriesSecondary", secondary)):
            if member is not None:
                record[key] = {"asin": member.series_asin, "name": member.name}
                if member.sequence is not None:
                    record[key]["position"] = member.sequence
        return SimResponse(200, {k: v for k, v in record.items() if v is not None})

    def chapters(request: SimRequest, m: re.Match[str]) -> SimResponse:
        _, found = lookup(request, m.group(1))
        if isinstance(found, SimResponse):
            return found
        _, edition = found
        total_ms = edition.duration_seconds * 1000
        rng = random.Random(edition.asin)
        count = max(1, min(60, edition.duration_seconds // 1800 + rng.randint(0, 3)))
        cuts = sorted(rng.sample(range(1, total_ms), count - 1)) if count > 1 else []
        starts = [0, *cuts]
        ends = [*cuts, total_ms]
        return SimResponse(
            200,
            {
                "asin": edition.asin,
                "brandIntroDurationMs": 2043,
                "brandOutroDurationMs": 5061,
                "chapters": [
                    {
                        "title": f"Chapter {n}",
                        "lengthMs": end - start,
                        "startOffsetMs": start,
                        "startOffsetSec": start // 1000,
                    }
                    for n, (start, end) in enumerate(zip(starts, ends, strict=True), start=1)
                ],
                "isAccurate": True,
                "region": "us",
                "runtimeLengthMs": total_ms,
                "runtimeLengthSec": total_ms // 1000,
            },
        )

    def search_authors(request: SimRequest, _m: re.Match[str]) -> SimResponse:
        wanted = set(tokens(request.arg("name") or ""))
        if not wanted:
            return SimResponse(400, error_body(400, "name is required"))
        hits = [{"asin": a.asin, "name": a.name} for a in world.authors if wanted <= set(tokens(a.name))]
        return SimResponse(200, hits)

    def author(request: SimRequest, m: re.Match[str]) -> SimResponse:
        found = authors_by_asin.get(m.group(1))
        if found is None:
            return SimResponse(404, error_body(404, "Author not found"))
        return SimResponse(
            200,
            {
                "asin": found.asin,
                "name": found.name,
                "description": f"{found.name} writes series.",
                "image": f"https://m.media-amazon.sim/images/I/{found.asin}.jpg",
                "genres": [{"asin": "18580606011", "name": "Science Fiction & Fantasy", "type": "genre"}],
                "similar": [],
                "region": (request.arg("region") or "us").lower(),
            },
        )

    routes = [
        route("GET", r"/books/([^/]+)", "book", book),
        route("GET", r"/books/([^/]+)/chapters", "chapters", chapters),
        route("GET", "/authors", "search_authors", search_authors),
        route("GET", r"/authors/([^/]+)", "author", author),
    ]
    return SimApp(
        "audnexus",
        routes,
        error_body=error_body,
        partial_keys=PARTIAL_KEYS,
        required_keys=REQUIRED_KEYS,
        state=sim_state,
        rate_limit_message="RATE_LIMIT_EXCEEDED",
    )
