"""Audnexus client: Audible's per-region book records, chapters and authors, keyed by ASIN.

Audnexus is one of the two sources (with the Audible catalog) that carry narrators, runtime and
ASIN-keyed series positions, which is what recording-level matching needs. Its documented limit is
100 requests/min; the throttle hook is where the project's limiter enforces it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.infra.errors import MalformedResponse, MamcError
from shared.positions import canonical_position
from workers.metadata.providers._http import ProviderHttp
from workers.metadata.providers._normalize import (
    abridged_from_format,
    iso_date,
    minutes_to_seconds,
    names,
    normalize_language,
    require_dict,
    require_list,
    require_str,
    text_or_none,
)
from workers.metadata.providers.base import ProviderBook, RegionUnavailable, SeriesRef
from workers.upstream import Reply

PROVIDER = "audnexus"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Chapter:
    title: str
    start_ms: int
    length_ms: int


@dataclass(frozen=True, slots=True)
class Chapters:
    """A recording's chapter map; ``runtime_ms`` is the check that a file is the same recording."""

    asin: str
    runtime_ms: int | None
    is_accurate: bool | None
    chapters: tuple[Chapter, ...]


@dataclass(frozen=True, slots=True)
class AuthorRef:
    asin: str
    name: str


@dataclass(frozen=True, slots=True)
class AuthorInfo:
    asin: str
    name: str
    description: str | None
    image: str | None
    genres: tuple[str, ...]


class AudnexusClient(ProviderHttp):
    """``GET /books/{asin}``, ``/books/{asin}/chapters``, ``/authors?name=`` and ``/authors/{asin}``."""

    service = PROVIDER

    def book(self, asin: str, region: str = "us") -> ProviderBook:
        """The book in ``region``; raises :class:`RegionUnavailable` when that marketplace lacks it."""
        region = region.lower()
        return self._regional(
            asin,
            region,
            f"/books/{asin}",
            {"region": region, "update": "0"},
            lambda data: parse_book(data, region=region),
        )

    def chapters(self, asin: str, region: str = "us") -> Chapters:
        region = region.lower()
        return self._regional(
            asin, region, f"/books/{asin}/chapters", {"region": region}, lambda data: _parse_chapters(asin, data)
        )

    def _regional(
        self, asin: str, region: str, path: str, params: dict[str, str | int | None], parse: Callable[[Any], T]
    ) -> T:
        try:
            return self._get(path, params, parse)
        except RegionUnavailable as exc:
            # The 404 body does not reliably name the region; we know which one we asked.
            raise RegionUnavailable(str(exc), asin=asin, region=region) from None

    def search_authors(self, name: str, region: str = "us") -> list[AuthorRef]:
        return self._get("/authors", {"name": name, "region": region.lower()}, _parse_author_refs)

    def author(self, asin: str, region: str = "us") -> AuthorInfo:
        return self._get(f"/authors/{asin}", {"region": region.lower()}, _parse_author)

    def classify(self, reply: Reply, method: str, path: str) -> MamcError:
        error = super().classify(reply, method, path)
        if reply.status == 404 and b"REGION_UNAVAILABLE" in reply.content:
            parts = path.split("/")
            asin = parts[2] if len(parts) > 2 else ""
            return RegionUnavailable(str(error), asin=asin, region="")
        return error


def _series_ref(raw: object) -> SeriesRef | None:
    if not isinstance(raw, dict):
        return None
    name = text_or_none(raw.get("name"))
    if name is None:
        return None
    return SeriesRef(name, canonical_position(raw.get("position")), text_or_none(raw.get("asin")))


def parse_book(data: object, *, region: str) -> ProviderBook:
    record = require_dict(data, provider=PROVIDER, what="book")
    asin = require_str(record, "asin", provider=PROVIDER, what="book")
    title = require_str(record, "title", provider=PROVIDER, what=f"book {asin}")
    series = tuple(
        ref
        for ref in (_series_ref(record.get("seriesPrimary")), _series_ref(record.get("seriesSecondary")))
        if ref is not None
    )
    return ProviderBook(
        source=PROVIDER,
        source_id=asin,
        asin=asin,
        isbn=text_or_none(record.get("isbn")),
        title=title,
        subtitle=text_or_none(record.get("subtitle")),
        authors=names(record.get("authors")),
        narrators=names(record.get("narrators")),
        series=series,
        duration_seconds=minutes_to_seconds(record.get("runtimeLengthMin")),
        language=normalize_language(record.get("language")),
        release_date=iso_date(record.get("releaseDate")),
        abridged=abridged_from_format(record.get("formatType")),
        format_type=text_or_none(record.get("formatType")),
        region=text_or_none(record.get("region")) or region,
    )


def _parse_chapters(asin: str, data: object) -> Chapters:
    record = require_dict(data, provider=PROVIDER, what="chapters")
    raw = require_list(record.get("chapters"), provider=PROVIDER, what="chapters.chapters")
    chapters: list[Chapter] = []
    for item in raw:
        if not isinstance(item, dict):
            raise MalformedResponse(f"{PROVIDER}: chapter entry is not an object")
        start, length = item.get("startOffsetMs"), item.get("lengthMs")
        if not isinstance(start, int) or not isinstance(length, int):
            raise MalformedResponse(f"{PROVIDER}: chapter of {asin} without startOffsetMs/lengthMs")
        chapters.append(Chapter(text_or_none(item.get("title")) or "", start, length))
    runtime = record.get("runtimeLengthMs")
    accurate = record.get("isAccurate")
    return Chapters(
        asin=asin,
        runtime_ms=runtime if isinstance(runtime, int) else None,
        is_accurate=accurate if isinstance(accurate, bool) else None,
        chapters=tuple(chapters),
    )


def _parse_author_refs(data: object) -> list[AuthorRef]:
    out: list[AuthorRef] = []
    for item in require_list(data, provider=PROVIDER, what="author search"):
        if not isinstance(item, dict):
            raise MalformedResponse(f"{PROVIDER}: author search entry is not an object")
        out.append(
            AuthorRef(
                require_str(item, "asin", provider=PROVIDER, what="author"),
                require_str(item, "name", provider=PROVIDER, what="author"),
            )
        )
    return out


def _parse_author(data: object) -> AuthorInfo:
    record = require_dict(data, provider=PROVIDER, what="author")
    return AuthorInfo(
        asin=require_str(record, "asin", provider=PROVIDER, what="author"),
        name=require_str(record, "name", provider=PROVIDER, what="author"),
        description=text_or_none(record.get("description")),
        image=text_or_none(record.get("image")),
        genres=names(record.get("genres")),
    )
