"""The ``download`` live event: a download's row changed in a way a person watching it would see.

Published through the live-event channel (``shared/engine/events.py``: Redis pub/sub after the
commit, ``GET /api/v1/events`` to browsers) so the Downloads page and the overview move without
reloading. :func:`announce` is the one way to send it, called by the code that changes a row: the
grab (a new row, added, failed), the monitor (state, progress, import state or obligation changed
in a cycle), the removal, the queueing of an import. It is keyed by the download, so however often
a row is announced in one transaction (a monitor cycle is one), one event goes out, with the values
of the last call (callers announce after they change the row); nothing is sent on a rollback.

The event is small on purpose (what a list row shows at a glance); a page reads the download again
(``GET /api/v1/downloads/{id}``) for the rest. The seeding clock's every-cycle advance is not an
event: a page counts it down itself from the last reading.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from shared.engine import events
from shared.models.download import Download

__all__ = ["announce", "announce_record", "download_event", "visible"]


class DownloadLike(Protocol):
    """A ``downloads`` row: the ORM object, or the monitor's plain record of it (``cycle_rows``)."""

    @property
    def id(self) -> int | None: ...
    @property
    def wanted_id(self) -> int | None: ...
    @property
    def state(self) -> str: ...
    @property
    def progress(self) -> float | None: ...
    @property
    def import_state(self) -> str | None: ...


class ObligationLike(Protocol):
    @property
    def state(self) -> str: ...


def visible(row: DownloadLike, obligation: ObligationLike | None = None) -> tuple[object, ...]:
    """What the event carries that can change, cheaply: a caller that compares it before and after
    (the monitor, over every followed row each cycle) announces only the rows whose value moved."""
    return row.state, row.progress, row.import_state, obligation.state if obligation is not None else None


def download_event(row: DownloadLike, obligation: ObligationLike | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "download", "id": row.id, "wanted_id": row.wanted_id, "state": row.state,
                             "progress": round(float(row.progress or 0.0), 4), "import_state": row.import_state}
    if obligation is not None:
        event["obligation"] = obligation.state
    return event


def announce(row: Download, obligation: ObligationLike | None = None) -> None:
    """Publish ``row``'s event when its session commits (once per download per transaction).

    The session is the row's own, so the event always travels with the change it reports; a row
    in no session has nothing to commit and is not announced."""
    if row.id is not None:
        events.note_change(row, download_event(row, obligation), key=f"download:{row.id}")


def announce_record(session: Session, row: DownloadLike, obligation: ObligationLike | None = None) -> None:
    """:func:`announce` for a row the caller holds as a plain record (the monitor writes its rows as
    sets, not ORM objects): published when ``session``, the one that writes the record, commits."""
    if row.id is not None:
        events.note(session, download_event(row, obligation), key=f"download:{row.id}")
