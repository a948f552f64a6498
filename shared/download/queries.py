"""Reading downloads for the API: newest first, filtered, paged by id (stable under inserts)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.download.schemas import DownloadOut
from shared.models.download import Download, Obligation


@dataclass(frozen=True, slots=True)
class DownloadFilter:
    state: str | None = None
    wanted_id: int | None = None
    obligation: str | None = None  # open | met | at_risk | failed


@dataclass(frozen=True, slots=True)
class Page:
    items: list[DownloadOut]
    more: bool

    def last_id(self) -> int:
        return self.items[-1].id


def list_downloads(session: Session, where: DownloadFilter, *, limit: int, after: int | None) -> Page:
    stmt = select(Download, Obligation).outerjoin(Obligation, Obligation.download_id == Download.id)
    if where.state:
        stmt = stmt.where(Download.state == where.state)
    if where.wanted_id is not None:
        stmt = stmt.where(Download.wanted_id == where.wanted_id)
    if where.obligation:
        stmt = stmt.where(Obligation.state == where.obligation)
    if after is not None:
        stmt = stmt.where(Download.id < after)
    rows = session.execute(stmt.order_by(Download.id.desc()).limit(limit + 1)).all()
    items = [DownloadOut.of(d, o) for d, o in rows[:limit]]
    return Page(items, len(rows) > limit)


def get_download(session: Session, download_id: int) -> DownloadOut | None:
    row = session.execute(select(Download, Obligation).outerjoin(Obligation, Obligation.download_id == Download.id)
                          .where(Download.id == download_id)).first()
    return DownloadOut.of(row[0], row[1]) if row is not None else None


def downloads_of_wanted(session: Session, wanted_id: int) -> list[DownloadOut]:
    return list_downloads(session, DownloadFilter(wanted_id=wanted_id), limit=20, after=None).items
