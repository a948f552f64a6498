"""Google Books simulator: ``/books/v1/volumes?q=`` with ``intitle:``/``inauthor:``/``isbn:`` terms.

Faithful points: ``maxResults`` above 40 is a 400; an unknown ``key`` is a 400 "API key not valid"
(not a 401); each key (and anonymous use) has a daily quota answered with 429
``RESOURCE_EXHAUSTED``; a search without matches has ``totalItems: 0`` and no ``items`` key at all.
Volumes are print editions: no narrators, no runtime, no ASIN.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection
from typing import Any

from tests.sims.providers.catalog import tokens
from tests.sims.providers.common import SimApp, SimRequest, SimResponse, SimState, route
from tests.sims.world import Work, World, isbn10_of

PARTIAL_KEYS = frozenset({"subtitle", "authors", "publishedDate", "industryIdentifiers", "language", "description"})
REQUIRED_KEYS = frozenset({"title"})
MAX_RESULTS = 40
_TERM = re.compile(r'(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)')
_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def error_body(status: int, message: str, reason: str = "backendError") -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": _STATUS.get(status, "UNKNOWN"),
        }
    }


def parse_q(q: str) -> dict[str, list[str]]:
    """``intitle:"The Way" inauthor:Smith words`` -> {"intitle": [...], "inauthor": [...], "": [...]}."""
    terms: dict[str, list[str]] = {}
    for m in _TERM.finditer(q):
        key = (m.group(1) or m.group(3) or "").lower()
        value = m.group(2) if m.group(1) else m.group(4) if m.group(3) else m.group(5) or m.group(6)
        terms.setdefault(key, []).append(value or "")
    return terms


def build_googlebooks_app(
    world: World,
    *,
    valid_keys: Collection[str] = ("sim-google-key",),
    daily_quota: int = 1000,
    clock: Callable[[], float] = time.time,
    state: SimState | None = None,
) -> SimApp:
    sim_state = state or SimState("googlebooks", clock=clock)
    usage: dict[tuple[str, int], int] = {}
    sim_state.extra = {"daily_usage": usage}
    works = [world.works[wid] for wid in sorted(world.works) if world.works[wid].isbn13]

    def volume(work: Work) -> dict[str, Any]:
        assert work.isbn13 is not None
        ids = [{"type": "ISBN_13", "identifier": work.isbn13}]
        ten = isbn10_of(work.isbn13)
        if ten:
            ids.append({"type": "ISBN_10", "identifier": ten})
        date = work.release_date.isoformat() if work.itunes_id % 3 else str(work.release_date.year)
        return {
            "kind": "books#volume",
            "id": work.google_id,
            "etag": work.google_id[::-1],
            "selfLink": f"https://www.googleapis.sim/books/v1/volumes/{work.google_id}",
            "volumeInfo": {  # Google omits absent fields rather than sending null
                k: v
                for k, v in {
                    "title": work.title,
                    "subtitle": work.subtitle,
                    "authors": list(work.authors),
                    "publisher": "Simulated Press",
                    "publishedDate": date,
                    "description": f"{work.title}, a novel.",
                    "industryIdentifiers": ids,
                    "pageCount": 200 + work.itunes_id % 500,
                    "printType": "BOOK",
                    "categories": ["Fiction"],
                    "language": "en",
                    "imageLinks": {"thumbnail": f"https://books.google.sim/{work.google_id}.jpg"},
                }.items()
                if v is not None
            },
        }

    def matches(work: Work, terms: dict[str, list[str]]) -> bool:
        title = set(tokens(f"{work.title} {work.subtitle or ''}"))
        authors = set(tokens(" ".join(work.authors)))
        isbns = {work.isbn13, isbn10_of(work.isbn13 or "")}
        for key, values in terms.items():
            for value in values:
                wanted = set(tokens(value))
                if key == "intitle" and not wanted <= title:
                    return False
                if key == "inauthor" and not wanted <= authors:
                    return False
                if key == "isbn" and value.replace("-", "").upper() not in isbns:
                    return False
                if key == "" and not wanted <= title | authors:
                    return False
        return True

    def volumes(request: SimRequest, _m: re.Match[str]) -> SimResponse:
        key = request.arg("key")
        if key is not None and key not in valid_keys:
            return SimResponse(400, error_body(400, "API key not valid. Please pass a valid API key.", "badRequest"))
        q = request.arg("q")
        if not q:
            return SimResponse(400, error_body(400, "Missing query.", "queryRequired"))
        try:
            max_results = int(request.arg("maxResults") or "10")
            start = int(request.arg("startIndex") or "0")
        except ValueError:
            return SimResponse(400, error_body(400, "Invalid integer value", "invalid"))
        if not 0 <= max_results <= MAX_RESULTS:
            return SimResponse(
                400, error_body(400, f"Invalid value at 'max_results' (TYPE_INT32), {max_results}", "invalid")
            )
        day = int(sim_state.clock() // 86_400)
        who = key or "anonymous"
        if usage.get((who, day), 0) >= daily_quota:
            return SimResponse(
                429,
                error_body(
                    429,
                    "Quota exceeded for quota metric 'Queries' and limit 'Queries per day' of service "
                    "'books.googleapis.com'",
                    "rateLimitExceeded",
                ),
            )
        usage[(who, day)] = usage.get((who, day), 0) + 1
        lang = request.arg("langRestrict")
        terms = parse_q(q)
        hits = [w for w in works if matches(w, terms) and lang in (None, "", "en")]
        body: dict[str, Any] = {"kind": "books#volumes", "totalItems": len(hits)}
        if hits[start : start + max_results]:
            body["items"] = [volume(w) for w in hits[start : start + max_results]]
        return SimResponse(200, body)

    def one(_r: SimRequest, m: re.Match[str]) -> SimResponse:
        found = next((w for w in works if w.google_id == m.group(1)), None)
        if found is None:
            return SimResponse(404, error_body(404, "The volume ID could not be found.", "notFound"))
        return SimResponse(200, volume(found))

    return SimApp(
        "googlebooks",
        [
            route("GET", "/books/v1/volumes", "volumes", volumes),
            route("GET", r"/books/v1/volumes/([^/]+)", "volume", one),
        ],
        error_body=error_body,
        partial_keys=PARTIAL_KEYS,
        required_keys=REQUIRED_KEYS,
        state=sim_state,
    )
