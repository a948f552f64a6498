"""Reading imports for the API: newest first, filtered, paged by id (stable under inserts)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.imports.schemas import ImportOut
from shared.models.imports import Import


@dataclass(frozen=True, slots=True)
class ImportFilter:
    verdict: str | None = None  # a verdict, or "running" for rows without one
    wanted_id: int | None = None
    download_id: int | None = None
    torrent_id: int | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[ImportOut]
    more: bool

    def last_id(self) -> int:
        return self.items[-1].id


def list_imports(session: Session, where: ImportFilter, *, limit: int, after: int | None) -> Page:
    stmt = select(Import)
    if where.verdict == "running":
        stmt = stmt.where(Import.verdict.is_(None))
    elif where.verdict:
        stmt = stmt.where(Import.verdict == where.verdict)
    for column, value in ((Import.wanted_id, where.wanted_id), (Import.download_id, where.download_id),
                          (Import.torrent_id, where.torrent_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if after is not None:
        stmt = stmt.where(Import.id < after)
    rows = list(session.scalars(stmt.order_by(Import.id.desc()).limit(limit + 1)))
    return Page([ImportOut.of(r) for r in rows[:limit]], len(rows) > limit)


def get_import(session: Session, import_id: int) -> ImportOut | None:
    row = session.get(Import, import_id)
    return ImportOut.of(row) if row is not None else None
