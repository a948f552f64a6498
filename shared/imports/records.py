"""The import row: created before the first effect, advanced after each, ended with a verdict.

Every function takes a session whose scope the caller commits (the task commits after each step,
so a kill loses at most the step in flight). The verdicts move the wanted entry through the one
state table (``shared.wanted.states``):

- ``imported`` and ``already_owned``: the entry becomes ``imported``;
- ``rejected``: ``downloaded -> wanted`` (the next search skips this torrent: ``memory``), its
  chosen torrent and back-off cleared so automatic searching looks again;
- ``failed``: the entry stays ``downloaded`` (a retry continues from the step reached).

The torrent itself is never touched: it keeps seeding whatever the verdict.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.imports.live import announce
from shared.imports.states import Step, Verdict
from shared.infra.clock import utcnow
from shared.infra.errors import PermanentError
from shared.models.download import Download
from shared.models.imports import Import
from shared.wanted.service import lock, move
from shared.wanted.states import UnknownWanted, WantedState, allowed

__all__ = ["NotRetryable", "UnknownDownload", "UnknownImport", "begin", "finish", "retry", "settle_wanted"]

log = logging.getLogger(__name__)


class UnknownDownload(PermanentError):
    def __init__(self, download_id: int) -> None:
        super().__init__(f"no download {download_id}")


class UnknownImport(PermanentError):
    def __init__(self, import_id: int) -> None:
        super().__init__(f"no import {import_id}")


class NotRetryable(PermanentError):
    """Only a rejected or failed import, or one whose job ended without a verdict, can be retried."""


def begin(session: Session, download: Download, job_id: uuid.UUID | None) -> Import:
    """The download's import row, created if new, locked and read fresh."""
    stmt = insert(Import).values(download_id=download.id, wanted_id=download.wanted_id,
                                 torrent_id=download.torrent_id, step=Step.NEW.value, files=[], figures={}, book={},
                                 scans=0, runs=0, job_id=job_id)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["download_id"]))
    row = session.scalar(select(Import).where(Import.download_id == download.id).with_for_update()
                         .execution_options(populate_existing=True))
    assert row is not None
    announce(row)
    return row


def touch(row: Import, **changes: Any) -> None:
    """Write ``changes`` and announce the row (``shared.imports.live``: one event per transaction)."""
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    announce(row)


def settle_wanted(session: Session, wanted_id: int | None, to: WantedState, reason: str) -> str | None:
    """Move the import's wanted entry to ``to`` where the table allows it; else say why not (kept in
    the import's figures, never an error: the import's own verdict stands either way)."""
    if wanted_id is None:
        return "no wanted entry"
    try:
        row = lock(session, wanted_id)
    except UnknownWanted:
        return f"wanted entry {wanted_id} is gone"
    if to == WantedState.WANTED and row.state == WantedState.GRABBED:
        move(row, WantedState.DOWNLOADED, reason=reason)  # the monitor had not moved it yet
    if not allowed(row.state, to):
        log.warning("import: wanted %s is %s, left as it is (would be %s: %s)", row.id, row.state, to, reason)
        return f"wanted entry {row.id} is {row.state}: left as it is"
    move(row, to, reason=reason)
    if to == WantedState.WANTED:
        row.chosen_torrent_id = None  # the rejected torrent is no longer the choice
        row.next_search_at = None  # automatic searching looks again now
    return None


_WANTED_AFTER = {Verdict.IMPORTED: WantedState.IMPORTED, Verdict.ALREADY_OWNED: WantedState.IMPORTED,
                 Verdict.REJECTED: WantedState.WANTED}


def finish(session: Session, row: Import, verdict: Verdict, reason: str | None) -> None:
    """Record the verdict and its consequences: the wanted entry moved, the download's import state."""
    now = utcnow()
    note = None
    to = _WANTED_AFTER.get(verdict)
    if to is not None:
        note = settle_wanted(session, row.wanted_id, to, f"import {row.id}: {verdict}" + (f": {reason}" if reason
                                                                                         else ""))
    touch(row, verdict=verdict.value, reason=reason, error=None, finished_at=now,
          step=Step.DONE.value if verdict != Verdict.FAILED else row.step,
          figures={**(row.figures or {}), **({"wanted": note} if note else {})})
    download = session.get(Download, row.download_id)
    if download is not None:
        download.import_state = verdict.value
    log.info("import %s (download %s): %s%s", row.id, row.download_id, verdict, f": {reason}" if reason else "")


def retry(session: Session, import_id: int, *, active_job: bool) -> Import:
    """Make a finished (rejected or failed) import, or one whose job ended without a verdict, run
    again. A rejected one is verified afresh (the expectation or the tolerance may have changed);
    a failed one continues from the step it reached (its files stay placed)."""
    row = session.scalar(select(Import).where(Import.id == import_id).with_for_update())
    if row is None:
        raise UnknownImport(import_id)
    if row.verdict in (Verdict.IMPORTED, Verdict.ALREADY_OWNED):
        raise NotRetryable(f"import {import_id} is {row.verdict}: there is nothing to retry")
    if row.verdict is None and active_job:
        raise NotRetryable(f"import {import_id} is running (step {row.step})")
    if row.verdict == Verdict.REJECTED:
        touch(row, step=Step.NEW.value, verified_at=None)
    touch(row, verdict=None, reason=None, error=None, finished_at=None, scans=0)
    download = session.get(Download, row.download_id)
    if download is not None:
        download.import_state = "queued"
    return row
