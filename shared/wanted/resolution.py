"""Is a wanted entry still being resolved (``metadata.resolve_wanted``)? A search waits for it.

Why: a wishlist entry is stored as typed and filled in from Audible by the metadata pool (series,
position, runtime, narrators, ASIN). A search started right after ``POST /api/v1/wanted`` must
judge with the same knowledge as one started an hour later, so ``crawl.search`` waits while a
resolution job for the entry (or for the id it was merged from) is still queued or running.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from shared.wanted.service import current_id

__all__ = ["resolution_pending"]


def resolution_pending(session: Session, wanted_id: int) -> bool:
    ids = sorted({str(wanted_id), str(current_id(session, wanted_id))})
    found = session.scalar(text("""
        SELECT 1 FROM jobs WHERE type = 'metadata.resolve_wanted'
           AND state IN ('queued', 'waiting', 'running', 'retrying')
           AND args->>'wanted_id' = ANY(:ids) LIMIT 1"""), {"ids": ids})
    return found is not None
