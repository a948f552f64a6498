"""Queueing ``import.abs`` on a person's request: a completed download imported (again).

The download monitor queues the first import of each completed download itself; these are for a
person: a download that completed before imports existed (``import_state`` ``pending``), a retry
of a rejected or failed import. One job per download at a time (the monitor's dedupe key).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.download.live import announce
from shared.engine import ledger
from shared.imports import records
from shared.imports.jobs import IMPORT_ABS, import_dedupe_key
from shared.infra.errors import PermanentError
from shared.models.download import Download
from shared.models.imports import Import
from shared.models.jobs import TERMINAL_STATES, Job

__all__ = ["NotImportable", "active_job", "queue_import", "retry_import"]


class NotImportable(PermanentError):
    """This download cannot be imported (the API answers 409 with the reason)."""


def active_job(session: Session, download_id: int) -> Job | None:
    return session.scalar(select(Job).where(Job.dedupe_key == import_dedupe_key(download_id),
                                            Job.state.not_in(TERMINAL_STATES)))


def queue_import(session: Session, download_id: int) -> ledger.Created:
    """Queue the import of a completed download (the active job if one is queued or running)."""
    download = session.get(Download, download_id)
    if download is None:
        raise records.UnknownDownload(download_id)
    if download.wanted_id is None:
        raise NotImportable(f"download {download_id} has no wanted entry: imports place only wanted books")
    if download.completed_at is None and download.progress < 1.0:
        raise NotImportable(f"download {download_id} is not complete ({download.progress:.0%})")
    done = session.scalar(select(Import.verdict).where(Import.download_id == download_id))
    if done is not None:
        raise NotImportable(f"download {download_id} was imported already ({done}): retry that import instead")
    download.import_state = "queued"
    announce(download)
    return ledger.create_job(session, IMPORT_ABS.name, {"download_id": download_id},
                             dedupe_key=import_dedupe_key(download_id))


def retry_import(session: Session, import_id: int) -> tuple[Import, ledger.Created]:
    """Run a rejected or failed import again (or one whose job ended without a verdict)."""
    row = session.get(Import, import_id)
    if row is None:
        raise records.UnknownImport(import_id)
    row = records.retry(session, import_id, active_job=active_job(session, row.download_id) is not None)
    created = ledger.create_job(session, IMPORT_ABS.name, {"download_id": row.download_id},
                                dedupe_key=import_dedupe_key(row.download_id))
    return row, created
