"""What the wanted list and the follows look like to readers: typed, and the API's JSON as it was.

Timestamps are written with ``datetime.isoformat()`` (``+00:00``, not pydantic's ``Z``) because
that is what the API has always returned; clients compare them as strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, PlainSerializer, WithJsonSchema

from shared.models.metadata import Follow, Wanted
from shared.wanted.states import FollowMode, WantedReason, WantedState

IsoDatetime = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), return_type=str),
                        WithJsonSchema({"type": "string", "format": "date-time"})]


class SeriesRef(BaseModel):
    """Where the wanted work sits: the library's series row (if linked) and the bibliographic one."""

    id: int | None
    metadata_series_id: int | None
    name: str | None
    position: str | None


class SearchState(BaseModel):
    """Where the crawl pool is with the entry: its chosen candidate, and when it looks again."""

    chosen_torrent_id: int | None
    last_search_id: int | None
    last_searched_at: IsoDatetime | None
    next_search_at: IsoDatetime | None
    misses: int


class WantedOut(BaseModel):
    id: int
    title: str | None
    authors: list[str]
    reason: WantedReason
    reasons: list[WantedReason]
    state: WantedState
    priority: int
    priority_manual: bool
    series: SeriesRef | None
    language: str | None
    asin: str | None
    release_date: str | None
    sources: dict[str, Any]
    runtime_seconds: float | None = None
    narrators: list[str] = []
    search: SearchState | None = None
    created_at: IsoDatetime
    updated_at: IsoDatetime

    @classmethod
    def of(cls, w: Wanted) -> WantedOut:
        series = None
        if w.series_name or w.metadata_series_id:
            series = SeriesRef(id=w.series_id, metadata_series_id=w.metadata_series_id, name=w.series_name,
                               position=w.position)
        return cls(id=w.id, title=w.title, authors=w.authors, reason=WantedReason(w.reason),
                   reasons=[WantedReason(r) for r in w.reasons], state=w.state, priority=w.priority,
                   priority_manual=w.priority_manual, series=series, language=w.language, asin=w.asin,
                   release_date=w.release_date, sources=w.sources, runtime_seconds=w.runtime_seconds,
                   narrators=list(w.narrators or []), search=_search_state(w), created_at=w.created_at,
                   updated_at=w.updated_at)


def _search_state(w: Wanted) -> SearchState | None:
    if w.last_search_id is None:
        return None
    return SearchState(chosen_torrent_id=w.chosen_torrent_id, last_search_id=w.last_search_id,
                       last_searched_at=w.last_searched_at, next_search_at=w.next_search_at,
                       misses=w.search_misses)


class FollowOut(BaseModel):
    id: int
    author: str
    mode: FollowMode
    since: IsoDatetime
    created_at: IsoDatetime
    checked_at: IsoDatetime | None

    @classmethod
    def of(cls, f: Follow) -> FollowOut:
        return cls(id=f.id, author=f.name, mode=FollowMode(f.mode), since=f.since, created_at=f.created_at,
                   checked_at=f.checked_at)
