"""What the wanted entry knows when its search runs: the book, the member's library, past grabs.

Built by the crawl worker from the wanted row, the library and the local grab log; everything the
decision needs is here, so the decision itself reads nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.positions import SeriesPosition

__all__ = ["OwnedRecording", "Target"]


@dataclass(frozen=True, slots=True)
class OwnedRecording:
    """A recording in the library, identified without an ASIN: title + author + duration."""

    title: str
    authors: tuple[str, ...]
    duration_seconds: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """The wanted book.

    ``narrators`` are the expected narrators of this book (metadata); ``series_narrators`` the
    narrators of the *owned* books of its series, the member's strong preference. ``snatched_ids``
    joins MAM's ``my_snatched`` (which lags 5-20 minutes) with the grabs remembered locally;
    ``rejected_ids`` maps the torrents an import rejected as the wrong recording to its reason.
    """

    title: str
    authors: tuple[str, ...] = ()
    series_name: str | None = None
    position: SeriesPosition | None = None
    runtime_seconds: float | None = None
    narrators: tuple[str, ...] = ()
    series_narrators: tuple[str, ...] = ()
    asin: str | None = None
    language: str | None = None  # None: the profile's languages
    is_collection: bool = False
    allow_dramatisation: bool = False
    owned_asins: frozenset[str] = field(default_factory=frozenset)
    owned_recordings: tuple[OwnedRecording, ...] = ()
    snatched_ids: frozenset[int] = field(default_factory=frozenset)
    rejected_ids: Mapping[int, str] = field(default_factory=dict)

    @property
    def preferred_narrators(self) -> tuple[str, ...]:
        """Whom the member wants to hear: the owned series' narrators, else the expected ones."""
        return self.series_narrators or self.narrators
