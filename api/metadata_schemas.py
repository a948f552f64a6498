"""Response bodies of ``/api/v1/metadata``: review items, a book's merged metadata with provenance."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.schemas import IsoDatetime, Page


class LibraryView(BaseModel):
    """The library's side of a match: what ABS says about the recording."""

    book_id: int
    title: str
    asin: str | None
    isbn: str | None
    duration_seconds: float | None
    language: str | None
    authors: list[str]
    item_ids: list[str]


class CandidateSeries(BaseModel):
    name: str
    position: str | None
    source_series_id: str | None


class Candidate(BaseModel):
    """The provider's normalized record of the matched book; a key the record lacks is null."""

    title: str | None
    subtitle: str | None
    authors: list[str] | None
    narrators: list[str] | None
    series: list[CandidateSeries] | None
    duration_seconds: int | float | None
    language: str | None
    asin: str | None
    isbn: str | None
    region: str | None
    release_date: str | None
    abridged: bool | None


class MatchOut(BaseModel):
    recording_id: int
    provider: str
    provider_id: str | None
    method: str
    confidence: float
    state: str
    checked_at: IsoDatetime
    details: dict[str, Any] | None = Field(description="the score's parts, and a person's decision if any")
    candidate: Candidate | None


class ReviewItem(MatchOut):
    library: LibraryView | None = Field(default=None, description="left out when the recording is gone")


class ReviewPage(Page[ReviewItem]):
    pass


class FieldOut(BaseModel):
    """A merged field: the value kept, who gave it, and what every source said."""

    value: Any
    source: str
    confidence: float
    verified: bool
    said: dict[str, Any] = Field(description="source -> the value it gave")
    updated_at: IsoDatetime


class RecordingMetadata(BaseModel):
    recording_id: int
    library: LibraryView | None
    matches: list[MatchOut]
    fields: dict[str, FieldOut]


class BookMetadata(BaseModel):
    book_id: int
    recordings: list[RecordingMetadata]
