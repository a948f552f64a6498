"""iTunes Search simulator: ``/search`` and ``/lookup`` for audiobooks of the US and GB stores.

Faithful to what makes iTunes awkward for matching: no series, no narrator field (narrators only
sometimes in the HTML description as "Narrated by ..."), titles with "(Unabridged)" or a series
suffix glued on ("Title: Series, Book 3"). ``term`` is required (400 ``errorMessage`` otherwise).
"""

from __future__ import annotations

import re
from typing import Any

from tests.sims.providers.catalog import tokens
from tests.sims.providers.common import SimApp, SimRequest, SimResponse, SimState, route
from tests.sims.world import AudioEdition, Work, World

PARTIAL_KEYS = frozenset({"description", "releaseDate", "artistName", "primaryGenreName", "artworkUrl100"})
REQUIRED_KEYS = frozenset({"collectionName"})
_STORES = {"US": "us", "GB": "uk"}


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"errorMessage": message, "queryParameters": {}}


def build_itunes_app(world: World, *, state: SimState | None = None) -> SimApp:
    def result(work: Work, edition: AudioEdition) -> dict[str, Any]:
        series = world.series_by_id[work.series_id]
        style = work.itunes_id % 4
        if edition.kind == "abridged":
            name = f"{edition.title} (Abridged)"
        elif style == 1 and work.kind != "omnibus":
            name = f"{edition.title}: {series.audible_name}, Book {work.position}"
        elif style in (0, 3):
            name = f"{edition.title} (Unabridged)"
        else:
            name = edition.title
        description = f"<p>{edition.title} by {', '.join(work.authors)}.</p>"
        if style != 2:
            description += f"<p><b>Narrated by {' and '.join(edition.narrators)}</b></p>"
        artist = " & ".join(work.authors)
        return {
            "wrapperType": "audiobook",
            "artistId": 900_000 + sum(map(ord, artist)),
            "collectionId": work.itunes_id + (500_000_000 if edition.kind != "main" else 0),
            "artistName": artist,
            "collectionName": name,
            "collectionCensoredName": name,
            "description": description,
            "releaseDate": f"{edition.release_date.isoformat()}T07:00:00Z",
            "primaryGenreName": "Sci-Fi & Fantasy",
            "artworkUrl100": f"https://is1-ssl.mzstatic.sim/image/thumb/{work.itunes_id}/100x100bb.jpg",
            "collectionPrice": 24.95,
            "currency": "USD" if edition.region == "us" else "GBP",
            "country": "USA" if edition.region == "us" else "GBR",
        }

    def store(request: SimRequest) -> str | None:
        return _STORES.get((request.arg("country") or "US").upper())

    def english(edition: AudioEdition) -> bool:
        return edition.language == "english" and edition.kind in ("main", "abridged")

    def search(request: SimRequest, _m: re.Match[str]) -> SimResponse:
        term = request.arg("term")
        if not term:
            return SimResponse(400, error_body(400, "Invalid value(s) for key(s): [term]"))
        limit = min(200, int(request.arg("limit") or "50"))
        region = store(request)
        media = request.arg("media") or "all"
        wanted = set(tokens(term))
        hits: list[dict[str, Any]] = []
        if region is not None and media in ("audiobook", "all"):
            for asin in sorted(world.editions):
                work, edition = world.editions[asin]
                if edition.region != region or not english(edition):
                    continue
                if wanted <= set(tokens(f"{edition.title} {' '.join(work.authors)}")):
                    hits.append(result(work, edition))
        hits = hits[:limit]
        return SimResponse(200, {"resultCount": len(hits), "results": hits})

    def lookup(request: SimRequest, _m: re.Match[str]) -> SimResponse:
        try:
            wanted = {int(x) for x in (request.arg("id") or "").split(",") if x}
        except ValueError:
            return SimResponse(400, error_body(400, "Invalid value(s) for key(s): [id]"))
        region = store(request)
        hits = [
            result(w, e)
            for _, (w, e) in sorted(world.editions.items())
            if e.region == region and english(e) and result(w, e)["collectionId"] in wanted
        ]
        return SimResponse(200, {"resultCount": len(hits), "results": hits})

    return SimApp(
        "itunes",
        [route("GET", "/search", "search", search), route("GET", "/lookup", "lookup", lookup)],
        error_body=error_body,
        partial_keys=PARTIAL_KEYS,
        required_keys=REQUIRED_KEYS,
        state=state,
    )
