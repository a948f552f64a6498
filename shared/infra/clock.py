"""The wall clock, in one place: aware UTC datetimes everywhere.

Its own module so that reading the time does not mean importing the job ledger (it lived there,
and domain code imported the ledger just to call it).
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
