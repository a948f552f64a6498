"""The wall clock, in one place: aware UTC datetimes everywhere.

Its own module so that reading the time does not mean importing the job ledger (it lived there,
and domain code imported the ledger just to call it).

Simulations (a month of seeding run in a minute, the monitor's cycles against a fake qBittorrent)
replace the clock with :func:`use_clock`, for the process that calls it. Every reader that calls
:func:`utcnow` at run time follows, including those that imported the name (``from
shared.infra.clock import utcnow``): the function itself looks up the source on each call. Nothing
in production sets it; PostgreSQL's ``now()`` defaults and Redis' ``TIME`` are not affected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

Source = Callable[[], datetime]

_source: Source | None = None


def utcnow() -> datetime:
    return _source() if _source is not None else datetime.now(UTC)


@contextmanager
def use_clock(source: Source) -> Iterator[None]:
    """Read the time from ``source`` (an aware UTC datetime each call) until the block ends."""
    global _source
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous


class ManualClock:
    """A clock that only moves when told to: ``with use_clock(clock): ... clock.advance(60)``."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime (UTC)")
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now
