"""Response bodies of the library routes (books, authors, series, stats) and of a series' gaps.

The web UI generates its client from these. Fields are required even when nullable: every key is
always present in the JSON (null, never missing), as it was before the models existed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from api.schemas import IsoDatetime, Page
from shared.normalize import position_sort_key

SORT_KEY = ('the position as a number, for reading order ("1-3" sorts at 1, "2.5" between 2 and 3); '
            "null when the text is no position")


class BookSeries(BaseModel):
    id: int
    name: str
    position: str | None


class BookRecording(BaseModel):
    """One present library item of the book (an edition on disk)."""

    abs_id: str
    asin: str | None
    abridged: bool
    duration_seconds: float | None
    library_id: str
    narrators: list[str]


class BookOut(BaseModel):
    id: int
    title: str
    authors: list[str]
    series: list[BookSeries]
    recordings: list[BookRecording]


class AuthorOut(BaseModel):
    id: int
    name: str
    book_count: int


class NarratorOut(BaseModel):
    id: int
    name: str
    book_count: int = Field(description="books in the library with a recording this narrator reads")


class SeriesOut(BaseModel):
    id: int
    name: str
    book_count: int
    positions: list[str] = Field(description="owned positions, in reading order")


class SeriesMember(BaseModel):
    position: str | None
    sort_key: float | None = Field(description=SORT_KEY)
    book: BookOut


class _Stored(BaseModel):
    """Read back from a JSON column a worker wrote: keys this model does not name are kept, not dropped."""

    model_config = ConfigDict(extra="allow")


class OwnedPosition(_Stored):
    position: str
    sources: list[str] = Field(description="who places an owned book there: abs, audible, hardcover, title...")

    @computed_field(description=SORT_KEY)  # type: ignore[prop-decorator]
    @property
    def sort_key(self) -> float | None:
        """Derived on reading, not stored: scans written before this field have it too."""
        return position_sort_key(self.position)


class ProviderListing(_Stored):
    provider: str
    id: str
    name: str | None
    region: str | None
    fetched_at: str
    entries: int


class MissingEntry(BaseModel):
    """A wanted row for one gap; ``state`` says whether it is still wanted, ignored, grabbed..."""

    wanted_id: int
    position: str | None
    title: str | None
    asin: str | None
    state: str
    priority: int
    release_date: str | None
    sources: dict[str, Any] = Field(description="each provider's position for this book")
    kind: str | None
    sort_key: float | None = Field(description=SORT_KEY)


class SeriesGaps(BaseModel):
    """The last gap scan of one bibliographic (metadata) series."""

    metadata_series_id: int
    name: str
    key: str
    library_series_ids: list[int]
    checked_at: IsoDatetime | None
    as_of: str | None
    audible_asins: list[str]
    hardcover_ids: list[int]
    owned: list[OwnedPosition]
    missing: list[MissingEntry]
    listings: list[ProviderListing]
    failed: list[dict[str, Any]] = Field(description="providers that failed during the last scan")


class SeriesDetail(SeriesOut):
    members: list[SeriesMember]
    gaps: list[SeriesGaps]


class LibraryStats(BaseModel):
    books: int
    authors: int
    series: int
    narrators: int
    hours: float


class BookPage(Page[BookOut]):
    pass


class AuthorPage(Page[AuthorOut]):
    pass


class NarratorPage(Page[NarratorOut]):
    pass


class SeriesPage(Page[SeriesOut]):
    pass
