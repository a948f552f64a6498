"""The torrents an import rejected as the wrong recording: the next search refuses them.

Why the ``imports`` table is the memory (and not a second table, nor ``mam_snatched``): a rejected
import already holds the torrent id, the reason and the figures, and a person who retries it (a
wrong expected runtime, a tolerance changed) changes its verdict, which lifts the refusal with no
second row to keep in step. ``mam_snatched`` says something else (the account downloaded it: it
would be a second snatch) and the search reports both when both hold.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.imports.states import Verdict
from shared.models.imports import Import

__all__ = ["rejected_torrents"]


def rejected_torrents(session: Session) -> dict[int, str]:
    """Torrent id → why its import was rejected (the latest rejection of each)."""
    rows = session.execute(select(Import.torrent_id, Import.reason).where(
        Import.verdict == Verdict.REJECTED.value, Import.torrent_id.is_not(None)).order_by(Import.id))
    return {int(t): r or "rejected at import" for t, r in rows if t is not None}
