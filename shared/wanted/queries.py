"""Reading the wanted list and the follows: the filters, the order and the paging, in one place.

The order is highest priority first, then oldest id, and a page continues after a (priority, id)
key rather than at an offset, so an entry added or re-prioritised while someone pages through the
list does not shift the pages (the API turns the key into its opaque cursor).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, TextClause, select, text
from sqlalchemy.orm import Session

from shared.models.metadata import Follow, Wanted
from shared.names import author_key
from shared.normalize import fold_name
from shared.wanted.schemas import FollowOut, WantedOut
from shared.wanted.service import current_id
from shared.wanted.states import WantedReason, WantedState


@dataclass(frozen=True, slots=True)
class WantedFilter:
    """``series``: a library series id (digits) or a series name, any spelling the library links."""

    reason: WantedReason | None = None
    state: WantedState | None = None
    author: str | None = None
    series: str | None = None


@dataclass(frozen=True, slots=True)
class WantedSlice:
    items: list[WantedOut]
    more: bool  # entries follow the last item

    def last_key(self) -> tuple[int, int]:
        """The (priority, id) the next page continues after."""
        last = self.items[-1]
        return last.priority, last.id


def _series_clause(series: str) -> ColumnElement[bool] | TextClause:
    if series.isdigit():
        linked = text("metadata_series_id IN (SELECT metadata_series_id FROM metadata_series_links "
                      "WHERE series_id = :sid)").bindparams(sid=int(series))
        return (Wanted.series_id == int(series)) | linked
    # parenthesised: a text clause is not grouped by SQLAlchemy, and "state = x AND a OR b" is not the filter
    by_name = text("(lower(series_name) = lower(:sname) OR metadata_series_id IN (SELECT l.metadata_series_id "
                   "FROM metadata_series_links l JOIN series s ON s.id = l.series_id WHERE s.key = :skey))")
    return by_name.bindparams(sname=series.strip(), skey=fold_name(series))


def list_wanted(session: Session, where: WantedFilter, *, limit: int,
                after: tuple[int, int] | None = None) -> WantedSlice:
    """Up to ``limit`` entries matching ``where``, continuing after the (priority, id) key ``after``."""
    stmt = select(Wanted)
    if where.reason:
        stmt = stmt.where(Wanted.reasons.contains([where.reason.value]))
    if where.state:
        stmt = stmt.where(Wanted.state == where.state)
    if where.author:
        stmt = stmt.where(Wanted.author_keys.contains([author_key(where.author)]))
    if where.series:
        stmt = stmt.where(_series_clause(where.series))
    if after is not None:
        priority, last = after
        stmt = stmt.where((Wanted.priority < priority) | ((Wanted.priority == priority) & (Wanted.id > last)))
    rows = session.scalars(stmt.order_by(Wanted.priority.desc(), Wanted.id).limit(limit + 1)).all()
    return WantedSlice([WantedOut.of(w) for w in rows[:limit]], more=len(rows) > limit)


def get_wanted(session: Session, wanted_id: int) -> WantedOut | None:
    """One entry as stored now (re-read, so defaults and other writers' changes show); an id merged
    into another entry answers as that entry."""
    row = session.get(Wanted, current_id(session, wanted_id), populate_existing=True)
    return WantedOut.of(row) if row is not None else None


def list_follows(session: Session) -> list[FollowOut]:
    return [FollowOut.of(f) for f in session.scalars(select(Follow).order_by(Follow.name, Follow.id))]


def get_follow(session: Session, follow_id: int) -> FollowOut | None:
    row = session.get(Follow, follow_id, populate_existing=True)
    return FollowOut.of(row) if row is not None else None
