"""Removing a download from qBittorrent: only on an explicit, logged request, never while it owes
seeding. The rule itself is ``shared.download.protection.may_remove``; this module applies it for the
API (refuse with the reason, or queue ``download.remove``) and the job (check again, then act).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.download import decisions
from shared.download.jobs import DOWNLOAD_REMOVE
from shared.download.live import announce
from shared.download.protection import Verdict, may_remove
from shared.download.states import DecisionKind, DownloadState
from shared.engine import ledger
from shared.infra.clock import utcnow
from shared.models.download import Download, Obligation


def verdict(session: Session, download_id: int, *, lock: bool = False) -> tuple[Download, Verdict] | None:
    stmt = select(Download).where(Download.id == download_id)
    row = session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        return None
    obligation = session.get(Obligation, download_id)
    return row, may_remove(row, obligation)


def request(session: Session, download_id: int, reason: str) -> tuple[Verdict, uuid.UUID | None] | None:
    """Record the request and its verdict; queue the removal only when allowed. None: no such download."""
    found = verdict(session, download_id)
    if found is None:
        return None
    row, said = found
    kind = DecisionKind.REMOVE if said.allowed else DecisionKind.REFUSE
    decisions.record(session, kind=kind, reason=f"removal requested ({reason}): {said.reason}",
                     wanted_id=row.wanted_id, torrent_id=row.torrent_id, download_id=row.id,
                     details={"action": "remove", "allowed": said.allowed})
    if not said.allowed:
        return said, None
    created = ledger.create_job(session, DOWNLOAD_REMOVE.name, {"download_id": download_id, "reason": reason},
                                dedupe_key=f"download.remove:{download_id}")
    return said, created.job.id


def mark_removed(row: Download) -> None:
    row.state = DownloadState.REMOVED.value
    row.removed_at = utcnow()
    announce(row)
