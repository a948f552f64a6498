"""The monitor's rows, read and written as sets: one query loads them, one statement per table writes them.

Why not ORM objects: a cycle follows every torrent of our category, 10,000 in a large library, and
building an ORM object per download and per obligation was most of a cycle's time (10,000 + 9,000
objects, about 0.6 s of a 1 s cycle; ``bench/download_monitor.py``). Here a row is a plain record
(:class:`DownRec`, :class:`ObRec`) holding only the columns the monitor reads; the record remembers
its loaded values, and at the end of the cycle every record that differs is written with the
others in one ``UPDATE ... FROM unnest(...)`` (``shared/infra/bulk.py``), new obligations and
adopted downloads in one multi-row ``INSERT``. An unchanged row is not written.

Locks: the load takes ``FOR UPDATE OF downloads SKIP LOCKED``, as the ORM load did: a row that a
grab, a removal or an import holds right now is skipped this cycle (the next one sees it), and
every row loaded is the monitor's to write until the cycle commits. Obligations are written only by
the monitor (a singleton), so their rows need no lock of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, any_, bindparam, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shared.infra.bulk import update_rows
from shared.models.download import Download, Obligation

#: The downloads columns a cycle may change (``tags`` only through ``grabs.mark_added``, on the ORM).
DOWNLOAD_WRITES = (
    "state", "name", "progress", "ratio", "uploaded_bytes", "downloaded_bytes", "qbit_state", "size_bytes",
    "save_path", "content_path", "category", "added_at", "completed_at", "last_seen_at", "last_progress_at",
    "stalled_since", "reannounced_at", "removed_at", "error", "import_state", "tracker_working", "tracker_message",
    "tracker_checked_at")
#: The seeding_obligations columns a tick may change.
OBLIGATION_WRITES = ("state", "seeded_seconds", "qbit_seeding_time", "last_tick_at", "met_at", "risk_reason",
                     "risk_since")
_DOWNLOAD_READS = ("id", "info_hash", "wanted_id", "torrent_id", "title", *DOWNLOAD_WRITES)
_OBLIGATION_READS = ("download_id", "required_seconds", "window_seconds", "completed_at", "deadline",
                     *OBLIGATION_WRITES)


@dataclass(slots=True, eq=False)
class ObRec:
    """One ``seeding_obligations`` row (the attributes ``shared.download.obligations.tick`` reads)."""

    download_id: int
    required_seconds: int
    window_seconds: int
    completed_at: datetime
    deadline: datetime
    state: str
    seeded_seconds: float
    qbit_seeding_time: int | None
    last_tick_at: datetime | None
    met_at: datetime | None
    risk_reason: str | None
    risk_since: datetime | None
    new: bool = False  # opened this cycle: inserted, not updated
    loaded: tuple[Any, ...] = field(default=(), repr=False)

    def written(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in OBLIGATION_WRITES)

    def changed(self) -> bool:
        return self.written() != self.loaded

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _OBLIGATION_READS}


@dataclass(slots=True, eq=False)
class DownRec:
    """One ``downloads`` row as the monitor sees it, and its obligation."""

    id: int
    info_hash: str | None
    wanted_id: int | None
    torrent_id: int | None
    title: str | None
    state: str
    name: str | None
    progress: float
    ratio: float | None
    uploaded_bytes: int | None
    downloaded_bytes: int | None
    qbit_state: str | None
    size_bytes: int | None
    save_path: str | None
    content_path: str | None
    category: str | None
    added_at: datetime | None
    completed_at: datetime | None
    last_seen_at: datetime | None
    last_progress_at: datetime | None
    stalled_since: datetime | None
    reannounced_at: datetime | None
    removed_at: datetime | None
    error: str | None
    import_state: str | None
    tracker_working: bool | None
    tracker_message: str | None
    tracker_checked_at: datetime | None
    has_torrent: bool = False  # a .torrent is stored (to re-add it if it vanishes)
    ob: ObRec | None = None
    loaded: tuple[Any, ...] = field(default=(), repr=False)

    def written(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in DOWNLOAD_WRITES)

    def changed(self) -> bool:
        return self.written() != self.loaded

    def settle(self) -> DownRec:
        """Take the current values as the stored ones (after a load, or an insert)."""
        self.loaded = self.written()
        return self


def load(session: Session, followed_states: Iterable[str], shown: Sequence[str]) -> list[DownRec]:
    """Every row in ``followed_states`` and every row of a hash qBittorrent shows, with its obligation:
    one query, the hashes sent as one array, rows locked (a row locked elsewhere is skipped)."""
    d_cols = [getattr(Download, name) for name in _DOWNLOAD_READS]
    o_cols = [getattr(Obligation, name) for name in _OBLIGATION_READS]
    shown_any = any_(bindparam("shown", list(shown), type_=ARRAY(Text)))
    stmt = (select(*d_cols, Download.torrent_file.is_not(None), *o_cols)
            .outerjoin(Obligation, Obligation.download_id == Download.id)
            .where(Download.info_hash.is_not(None),
                   Download.state.in_(list(followed_states)) | (Download.info_hash == shown_any))
            .with_for_update(of=Download, skip_locked=True))
    width = len(_DOWNLOAD_READS)
    recs = []
    for row in session.execute(stmt):
        rec = DownRec(*row[:width]).settle()
        rec.has_torrent = bool(row[width])
        ob_values = row[width + 1:]
        if ob_values[0] is not None:
            ob = ObRec(*ob_values)
            ob.loaded = ob.written()
            rec.ob = ob
        recs.append(rec)
    return recs


def insert_downloads(session: Session, rows: list[dict[str, Any]]) -> list[DownRec]:
    """New ``downloads`` rows in one statement, as records (their ids filled in)."""
    if not rows:
        return []
    stmt = insert(Download).returning(Download.id, sort_by_parameter_order=True)
    ids = list(session.scalars(stmt, rows))
    recs = []
    for new_id, values in zip(ids, rows, strict=True):
        known: dict[str, Any] = {name: values.get(name) for name in _DOWNLOAD_READS if name != "id"}
        recs.append(DownRec(id=new_id, **known).settle())
    return recs


@dataclass
class Written:
    downloads: int = 0
    obligations_opened: int = 0
    obligations: int = 0


def write(session: Session, recs: Iterable[DownRec]) -> Written:
    """Every changed record, one statement per table (new obligations inserted in one)."""
    downloads: list[tuple[Any, ...]] = []
    opened: list[dict[str, Any]] = []
    obligations: list[tuple[Any, ...]] = []
    for rec in recs:
        if rec.changed():
            downloads.append((rec.id, *rec.written()))
        ob = rec.ob
        if ob is None:
            continue
        if ob.new:
            opened.append(ob.values())
        elif ob.changed():
            obligations.append((ob.download_id, *ob.written()))
    if opened:
        session.execute(insert(Obligation), opened)
    update_rows(session, Download.__table__, "id", DOWNLOAD_WRITES, downloads)  # type: ignore[arg-type]
    update_rows(session, Obligation.__table__, "download_id", OBLIGATION_WRITES, obligations)  # type: ignore[arg-type]
    return Written(len(downloads), len(opened), len(obligations))
