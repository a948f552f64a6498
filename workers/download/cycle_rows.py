"""The monitor's rows, read and written as sets: one query loads them, one statement per table writes them.

Why not ORM objects: a cycle follows every torrent of our category, 10,000 in a large library, and
building an ORM object per download and per obligation was most of a cycle's time (10,000 + 9,000
objects, about 0.6 s of a 1 s cycle; ``bench/download_monitor.py``). Here a row is a plain record
(:class:`DownRec`, :class:`ObRec`) holding only the columns the monitor reads; the record remembers
its loaded values, and at the end of the cycle every record that differs is written with the
others in one ``UPDATE ... FROM unnest(...)`` (``shared/infra/bulk.py``), new obligations and
adopted downloads in one ``INSERT ... SELECT FROM unnest(...)`` each. An unchanged row is not
written. An adopted download's id is taken from the sequence when it is found, so its row is
inserted once, with the values the cycle settled on.

Locks: the load takes ``FOR UPDATE OF downloads SKIP LOCKED``, as the ORM load did: a row that a
grab, a removal or an import holds right now is skipped this cycle (the next one sees it), and
every row loaded is the monitor's to write until the cycle commits. Obligations are written only by
the monitor (a singleton), so their rows need no lock of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Text, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shared.infra.bulk import insert_rows, update_rows
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
#: What a tick changes on most rows, every cycle: the clock (``last_tick_at``, the cycle's time for all).
OBLIGATION_CLOCK = ("seeded_seconds", "qbit_seeding_time")
_DOWNLOAD_READS = ("id", "info_hash", "wanted_id", "torrent_id", "title", *DOWNLOAD_WRITES)
_OBLIGATION_READS = ("download_id", "required_seconds", "window_seconds", "completed_at", "deadline",
                     *OBLIGATION_WRITES)
_download_written = attrgetter(*DOWNLOAD_WRITES)
_download_read = attrgetter(*_DOWNLOAD_READS)
_obligation_written = attrgetter(*OBLIGATION_WRITES)
#: The obligation columns a clock-only tick leaves as they were, and where they sit in ``OBLIGATION_WRITES``.
_SETTLED = tuple(name for name in OBLIGATION_WRITES if name not in (*OBLIGATION_CLOCK, "last_tick_at"))
_settled_now = attrgetter(*_SETTLED)
_SETTLED_AT = tuple(OBLIGATION_WRITES.index(name) for name in _SETTLED)


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
        values: tuple[Any, ...] = _obligation_written(self)
        return values

    def changed(self) -> bool:
        return self.written() != self.loaded

    def clock_only(self, now: datetime) -> bool:
        """Only the clock moved (the common tick): seeded seconds, qBittorrent's counter, ``last_tick_at``."""
        loaded = self.loaded
        return self.last_tick_at == now and _settled_now(self) == tuple(loaded[i] for i in _SETTLED_AT)

    def row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _OBLIGATION_READS)


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
    new: dict[str, Any] | None = None  # a row to insert: the columns a record does not hold (source, tags...)
    loaded: tuple[Any, ...] = field(default=(), repr=False)

    def written(self) -> tuple[Any, ...]:
        values: tuple[Any, ...] = _download_written(self)
        return values

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
    for row in session.connection().execute(stmt).all():  # Core rows, fetched at once: no ORM layer per row
        rec = DownRec(*row[:width]).settle()
        rec.has_torrent = bool(row[width])
        ob_values = row[width + 1:]
        if ob_values[0] is not None:
            ob = ObRec(*ob_values)
            ob.loaded = ob.written()
            rec.ob = ob
        recs.append(rec)
    return recs


def new_downloads(session: Session, rows: list[dict[str, Any]]) -> list[DownRec]:
    """Records of ``downloads`` rows to insert with the cycle's writes (their ids taken from the
    sequence now, so events and obligations can name them). ``rows``: each row's columns."""
    if not rows:
        return []
    ids = session.execute(text("SELECT nextval(pg_get_serial_sequence('downloads', 'id')) "
                               "FROM generate_series(1, :n)"), {"n": len(rows)}).scalars().all()
    recs = []
    for new_id, values in zip(ids, rows, strict=True):
        known: dict[str, Any] = {name: values.get(name) for name in _DOWNLOAD_READS if name != "id"}
        rec = DownRec(id=int(new_id), **known)
        rec.new = {name: value for name, value in values.items() if name not in known}
        recs.append(rec)
    return recs


@dataclass
class Written:
    downloads: int = 0
    obligations_opened: int = 0
    obligations: int = 0


def write(session: Session, recs: Iterable[DownRec], now: datetime) -> Written:
    """Every changed record, one statement per table: new downloads and new obligations inserted in
    one each, changed downloads updated in one, and the obligations whose only change is the clock
    (most of them, every cycle) in one narrower statement than the others."""
    created: list[DownRec] = []
    downloads: list[tuple[Any, ...]] = []
    opened: list[tuple[Any, ...]] = []
    ticked: list[tuple[Any, ...]] = []
    obligations: list[tuple[Any, ...]] = []
    for rec in recs:
        if rec.new is not None:
            created.append(rec)
        elif rec.changed():
            downloads.append((rec.id, *rec.written()))
        ob = rec.ob
        if ob is None:
            continue
        if ob.new:
            opened.append(ob.row())
        elif ob.changed():
            if ob.clock_only(now):
                ticked.append((ob.download_id, ob.seeded_seconds, ob.qbit_seeding_time))
            else:
                obligations.append((ob.download_id, *ob.written()))
    downloads_table, obligations_table = Download.__table__, Obligation.__table__
    if created:
        extra = sorted({name for rec in created for name in rec.new or {}})
        columns = [*_DOWNLOAD_READS, *extra]
        insert_rows(session, downloads_table, columns,  # type: ignore[arg-type]
                    [(*_download_read(rec), *((rec.new or {}).get(name) for name in extra)) for rec in created])
    insert_rows(session, obligations_table, _OBLIGATION_READS, opened)  # type: ignore[arg-type]
    update_rows(session, downloads_table, "id", DOWNLOAD_WRITES, downloads)  # type: ignore[arg-type]
    update_rows(session, obligations_table, "download_id", OBLIGATION_CLOCK, ticked,  # type: ignore[arg-type]
                same={"last_tick_at": now})
    update_rows(session, obligations_table, "download_id", OBLIGATION_WRITES, obligations)  # type: ignore[arg-type]
    return Written(len(created) + len(downloads), len(opened), len(ticked) + len(obligations))
