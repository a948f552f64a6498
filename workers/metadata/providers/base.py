"""The vocabulary every metadata provider client speaks: normalized records and the cache contract.

Six providers describe the same books six different ways (Audible sequences like "Book 1", Hardcover
float positions, Open Library "Name #3" strings...). Matching and gap detection must not care which
provider said what, so each client translates its provider's shape into these records once, at the
edge, exactly like :mod:`shared.infra.errors` does for failures.

Positions stay strings ("1", "2.5", "1-3") because an omnibus range is not a number; deciding what a
position *means* for a gap is the gap detector's job, not the client's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from shared.infra.errors import NotFound
from workers.upstream.options import ResponseCache, Throttle

__all__ = ["MemoryCache", "ProviderBook", "RegionUnavailable", "ResponseCache", "SeriesEntry", "SeriesListing",
           "SeriesRef", "Throttle"]


@dataclass(frozen=True, slots=True)
class SeriesRef:
    """A book's membership in one series, as one provider states it."""

    name: str
    position: str | None
    source_series_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderBook:
    """One book (one recording for Audible/Audnexus) as a provider describes it, normalized.

    ``series`` lists the primary series first when the provider says which one is primary.
    ``language`` is an ISO 639-1 code when the provider's value is recognised, else its lowercase text.
    ``release_date`` is an ISO prefix: "2019", "2019-03" or "2019-03-05".
    """

    source: str
    source_id: str
    asin: str | None = None
    isbn: str | None = None
    title: str
    subtitle: str | None = None
    authors: tuple[str, ...] = ()
    narrators: tuple[str, ...] = ()
    series: tuple[SeriesRef, ...] = ()
    duration_seconds: int | None = None
    language: str | None = None
    release_date: str | None = None
    abridged: bool | None = None
    format_type: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesEntry:
    """One member of a series listing; ``book`` holds the details when the provider gave them."""

    position: str | None
    title: str | None
    source_id: str
    asin: str | None = None
    isbn: str | None = None
    release_date: str | None = None
    book: ProviderBook | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesListing:
    """A whole series as one provider lists it (each provider lists differently: compare, never trust)."""

    source: str
    series_id: str
    name: str
    entries: tuple[SeriesEntry, ...]
    region: str | None = None
    is_completed: bool | None = None
    primary_books_count: int | None = None


class RegionUnavailable(NotFound):
    """Audnexus/Audible know the ASIN but not in the asked marketplace (404 ``REGION_UNAVAILABLE``).

    Kept apart from a plain :class:`NotFound` because the right reaction differs: ask the book's own
    region (ASINs are per marketplace) instead of concluding the book does not exist.
    """

    def __init__(self, message: str, *, asin: str, region: str) -> None:
        super().__init__(message)
        self.asin = asin
        self.region = region


class MemoryCache:
    """In-process :class:`ResponseCache` for tests and one-off scripts; honours TTLs with ``clock``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._items: dict[tuple[str, str], tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, provider: str, key: str) -> bytes | None:
        with self._lock:
            item = self._items.get((provider, key))
            if item is None:
                return None
            expires, body = item
            if self._clock() >= expires:
                del self._items[(provider, key)]
                return None
            return body

    def put(self, provider: str, key: str, body: bytes, ttl: float) -> None:
        with self._lock:
            self._items[(provider, key)] = (self._clock() + ttl, body)

    def get_many(self, provider: str, keys: Collection[str]) -> dict[str, bytes]:
        found = ((key, self.get(provider, key)) for key in keys)
        return {key: body for key, body in found if body is not None}

    def put_many(self, provider: str, bodies: Mapping[str, bytes], ttl: float) -> None:
        for key, body in bodies.items():
            self.put(provider, key, body, ttl)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
