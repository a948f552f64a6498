"""Reading downloads for the API: newest first, filtered, paged by id (stable under inserts); and
the governor's record of one download (its decisions and spends)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from shared.download.schemas import DecisionOut, DownloadDecisions, DownloadOut, SpendOut
from shared.models.download import Download, GovernorDecision, Obligation, Spend
from shared.models.imports import Import

#: A download's record is short (a grab, a few waits, a removal request); this bounds a pathological one.
RECORD_LIMIT = 200


@dataclass(frozen=True, slots=True)
class DownloadFilter:
    state: str | None = None
    wanted_id: int | None = None
    obligation: str | None = None  # open | met | at_risk | failed
    ids: tuple[int, ...] = ()  # only these (a page reading again the rows live events named)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[DownloadOut]
    more: bool

    def last_id(self) -> int:
        return self.items[-1].id


def _rows() -> Select[Download, Obligation, Import]:
    """A download with its obligation and its import (at most one of each: both are keyed by it)."""
    return (select(Download, Obligation, Import).outerjoin(Obligation, Obligation.download_id == Download.id)
            .outerjoin(Import, Import.download_id == Download.id))


def list_downloads(session: Session, where: DownloadFilter, *, limit: int, after: int | None) -> Page:
    stmt = _rows()
    if where.state:
        stmt = stmt.where(Download.state == where.state)
    if where.wanted_id is not None:
        stmt = stmt.where(Download.wanted_id == where.wanted_id)
    if where.obligation:
        stmt = stmt.where(Obligation.state == where.obligation)
    if where.ids:
        stmt = stmt.where(Download.id.in_(where.ids))
    if after is not None:
        stmt = stmt.where(Download.id < after)
    rows = session.execute(stmt.order_by(Download.id.desc()).limit(limit + 1)).all()
    items = [DownloadOut.of(d, o, i) for d, o, i in rows[:limit]]
    return Page(items, len(rows) > limit)


def get_download(session: Session, download_id: int) -> DownloadOut | None:
    row = session.execute(_rows().where(Download.id == download_id)).first()
    return DownloadOut.of(row[0], row[1], row[2]) if row is not None else None


def downloads_of_wanted(session: Session, wanted_id: int) -> list[DownloadOut]:
    return list_downloads(session, DownloadFilter(wanted_id=wanted_id), limit=20, after=None).items


def decision_record(session: Session, download_id: int) -> DownloadDecisions | None:
    """Every decision about the download or its MAM torrent (a wait is recorded before any row
    exists, so it is found by the torrent id) and every spend for that torrent; None: no download."""
    row = session.get(Download, download_id)
    if row is None:
        return None
    about = GovernorDecision.download_id == download_id
    if row.torrent_id is not None:
        about = or_(about, GovernorDecision.torrent_id == row.torrent_id)
    decisions = session.scalars(select(GovernorDecision).where(about)
                                .order_by(GovernorDecision.at.asc(), GovernorDecision.id.asc()).limit(RECORD_LIMIT))
    spends: list[Spend] = [] if row.torrent_id is None else list(session.scalars(
        select(Spend).where(Spend.torrent_id == row.torrent_id)
        .order_by(Spend.created_at.asc(), Spend.id.asc()).limit(RECORD_LIMIT)))
    return DownloadDecisions(download_id=download_id, decisions=[DecisionOut.of(d) for d in decisions],
                             spends=[SpendOut.of(s) for s in spends])
