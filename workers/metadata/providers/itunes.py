"""iTunes Search client: a second opinion on audiobook titles, authors and release dates.

iTunes has no series, no ASIN and no narrator field (narrators sometimes hide in the HTML
description as "Narrated by ..."), so it is a tie-breaker, never the core of a match. Apple's
guidance is about 20 calls/min: the throttle hook enforces it.
"""

from __future__ import annotations

import html
import re
from typing import Any

from shared.infra.errors import MalformedResponse, NotFound
from workers.metadata.providers._http import ProviderHttp
from workers.metadata.providers._normalize import (
    iso_date,
    require_dict,
    require_list,
    require_str,
    text_or_none,
)
from workers.metadata.providers.base import ProviderBook

PROVIDER = "itunes"
_EDITION = re.compile(r"\s*\((un)?abridged\)\s*$", re.IGNORECASE)
_NARRATED = re.compile(r"narrated by[:\s]+([^<.\n]+)", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
#: Regions use Audible's marketplace names across providers ("uk", not ISO "gb").
_MARKETPLACE = {"GB": "uk"}
_SPLIT = re.compile(r"\s*(?:,|&|\band\b)\s*")


class ITunesClient(ProviderHttp):
    service = PROVIDER

    def search(self, term: str, *, country: str = "US", limit: int = 50) -> list[ProviderBook]:
        params: dict[str, str | int | None] = {
            "term": term,
            "media": "audiobook",
            "entity": "audiobook",
            "country": country.upper(),
            "limit": limit,
        }
        return self._get("/search", params, lambda data: _parse_results(data, country))

    def lookup(self, collection_id: int, *, country: str = "US") -> ProviderBook:
        def parse(data: object) -> ProviderBook:
            books = _parse_results(data, country)
            if not books:
                raise NotFound(f"{PROVIDER}: collection {collection_id} not found")
            return books[0]

        return self._get("/lookup", {"id": collection_id, "country": country.upper()}, parse)


def _parse_results(data: object, country: str) -> list[ProviderBook]:
    body = require_dict(data, provider=PROVIDER, what="response")
    results = require_list(body.get("results"), provider=PROVIDER, what="results")
    books: list[ProviderBook] = []
    for item in results:
        record = require_dict(item, provider=PROVIDER, what="result")
        if record.get("wrapperType", "audiobook") != "audiobook":
            continue
        books.append(_book(record, _MARKETPLACE.get(country.upper(), country.lower())))
    return books


def _book(record: dict[str, Any], region: str) -> ProviderBook:
    collection_id = record.get("collectionId")
    if not isinstance(collection_id, int):
        raise MalformedResponse(f"{PROVIDER}: result without required field 'collectionId'")
    raw_title = require_str(record, "collectionName", provider=PROVIDER, what=f"collection {collection_id}")
    edition = _EDITION.search(raw_title)
    abridged = None if edition is None else edition.group(1) is None
    title = _EDITION.sub("", raw_title).strip() or raw_title
    artist = text_or_none(record.get("artistName"))
    authors = tuple(a for a in _SPLIT.split(artist) if a) if artist else ()
    return ProviderBook(
        source=PROVIDER,
        source_id=str(collection_id),
        title=title,
        authors=authors,
        narrators=_narrators(record.get("description")),
        release_date=iso_date(record.get("releaseDate")),
        abridged=abridged,
        region=region,
    )


def _narrators(description: object) -> tuple[str, ...]:
    if not isinstance(description, str):
        return ()
    text = html.unescape(_TAGS.sub(" ", description))
    m = _NARRATED.search(text)
    if not m:
        return ()
    return tuple(n.strip() for n in _SPLIT.split(m.group(1).strip()) if n.strip())
