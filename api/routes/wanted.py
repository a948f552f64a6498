"""``/api/v1/wanted`` (the wanted list, the wishlist) and ``/api/v1/follows`` (followed authors).

The gateway only records intent: a wishlist entry is stored as typed and a ``metadata.resolve_wanted``
job fills it in from Audible; a new follow queues ``metadata.follow``. Ignoring sets the state to
``ignored``, which every later scan keeps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import delete, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api import cursor
from api.deps import get_session
from api.problems import Problem
from shared import ledger
from shared.models.metadata import Follow, Wanted, author_key, wanted_key
from shared.normalize import fold_name
from shared.settings import get_settings

router = APIRouter(tags=["wanted"])
SessionDep = Annotated[Session, Depends(get_session)]
WISHLIST_PRIORITY = 70
IGNORABLE = ("wanted", "searching", "ignored")


def wanted_out(w: Wanted) -> dict[str, Any]:
    series = None
    if w.series_name or w.metadata_series_id:
        series = {"id": w.series_id, "metadata_series_id": w.metadata_series_id, "name": w.series_name,
                  "position": w.position}
    return {"id": w.id, "title": w.title, "authors": w.authors, "reason": w.reason, "reasons": w.reasons,
            "state": w.state, "priority": w.priority, "priority_manual": w.priority_manual, "series": series,
            "language": w.language, "asin": w.asin, "release_date": w.release_date, "sources": w.sources,
            "created_at": w.created_at.isoformat(), "updated_at": w.updated_at.isoformat()}


@router.get("/wanted")
def list_wanted(
    session: SessionDep,
    reason: Annotated[Literal["series_gap", "followed_author", "wishlist"] | None, Query()] = None,
    series: Annotated[str | None, Query(max_length=255, description="library series id or name")] = None,
    author: Annotated[str | None, Query(max_length=255)] = None,
    state: Annotated[Literal["wanted", "searching", "grabbed", "downloaded", "imported", "ignored"] | None,
                     Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor_: Annotated[str | None, Query(alias="cursor")] = None,
) -> dict[str, Any]:
    """Highest priority first; ``next_cursor`` continues after the last item (stable under inserts)."""
    stmt = select(Wanted)
    if reason:
        stmt = stmt.where(Wanted.reasons.contains([reason]))
    if state:
        stmt = stmt.where(Wanted.state == state)
    if author:
        stmt = stmt.where(Wanted.author_keys.contains([author_key(author)]))
    if series:
        if series.isdigit():
            linked = text("metadata_series_id IN (SELECT metadata_series_id FROM metadata_series_links "
                          "WHERE series_id = :sid)").bindparams(sid=int(series))
            stmt = stmt.where((Wanted.series_id == int(series)) | linked)
        else:
            by_name = text("lower(series_name) = lower(:sname) OR metadata_series_id IN (SELECT l.metadata_series_id "
                           "FROM metadata_series_links l JOIN series s ON s.id = l.series_id WHERE s.key = :skey)")
            stmt = stmt.where(by_name.bindparams(sname=series.strip(), skey=fold_name(series)))
    if cursor_:
        priority, last = cursor.decode(cursor_, 2)
        if not isinstance(priority, int) or not isinstance(last, int):
            raise Problem(400, "Invalid cursor", "the cursor is not one this API returned")
        stmt = stmt.where((Wanted.priority < priority) | ((Wanted.priority == priority) & (Wanted.id > last)))
    rows = session.scalars(stmt.order_by(Wanted.priority.desc(), Wanted.id).limit(limit + 1)).all()
    items = rows[:limit]
    nxt = cursor.encode(items[-1].priority, items[-1].id) if len(rows) > limit else None
    return {"items": [wanted_out(w) for w in items], "next_cursor": nxt}


class WishlistIn(BaseModel):
    """By ASIN, or by title + author (one ``author`` or several ``authors``)."""

    model_config = ConfigDict(extra="forbid")
    asin: str | None = Field(None, pattern=r"^[A-Za-z0-9]{10}$")
    title: str | None = Field(None, min_length=1, max_length=500)
    author: str | None = Field(None, min_length=1, max_length=255)
    authors: list[str] = Field(default_factory=list, max_length=20)
    priority: int | None = Field(None, ge=0, le=1000)
    language: str | None = Field(None, min_length=2, max_length=16)

    @model_validator(mode="after")
    def _identified(self) -> WishlistIn:
        if self.author:
            self.authors = [self.author, *[a for a in self.authors if a != self.author]]
        if not self.asin and not (self.title and self.authors):
            raise ValueError("give an asin, or a title and an author")
        if self.asin:
            self.asin = self.asin.upper()
        return self


def _owned(session: Session, body: WishlistIn) -> bool:
    """Already in the library (by ASIN in any marketplace, or by title and author)?"""
    found = session.scalar(text("""
        SELECT 1 FROM metadata_owned_keys WHERE (kind = 'asin' AND key = :asin) OR (kind = 'work' AND key = :work)
        UNION ALL SELECT 1 FROM recordings r JOIN library_items i ON i.recording_id = r.id
         WHERE i.state = 'present' AND r.asin = :asin LIMIT 1"""),
        {"asin": body.asin or "", "work": wanted_key(body.title, body.authors) if body.title else ""})
    return found is not None


@router.post("/wanted", status_code=201)
def add_to_wishlist(body: WishlistIn, session: SessionDep, response: Response) -> dict[str, Any]:
    if _owned(session, body):
        raise Problem(409, "Already in the library", "the library already holds this book")
    key = wanted_key(body.title, body.authors) if body.title else f"asin:{body.asin}"
    values = {"key": key, "reason": "wishlist", "reasons": ["wishlist"], "state": "wanted",
              "priority": body.priority if body.priority is not None else WISHLIST_PRIORITY,
              "priority_manual": body.priority is not None, "title": body.title, "authors": body.authors,
              "author_keys": sorted({author_key(a) for a in body.authors}), "asin": body.asin,
              "language": body.language or get_settings().metadata_language, "sources": {"wishlist": {"added": True}}}
    stmt = insert(Wanted).values(values)
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={
        "reasons": text("ARRAY(SELECT DISTINCT r FROM unnest(wanted.reasons || excluded.reasons) r ORDER BY r)"),
        "state": text("CASE WHEN wanted.state = 'ignored' THEN 'wanted' ELSE wanted.state END"),
        "priority": text("CASE WHEN excluded.priority_manual THEN excluded.priority ELSE wanted.priority END"),
        "priority_manual": text("wanted.priority_manual OR excluded.priority_manual"),
        "asin": text("coalesce(wanted.asin, excluded.asin)"), "updated_at": text("now()")})
    row: Any = session.execute(stmt.returning(Wanted.id, literal_column("(xmax = 0)").label("inserted"))).one()
    ledger.create_job(session, "metadata.resolve_wanted", {"wanted_id": row.id})
    session.commit()  # publishes the job after the row is visible
    if not row.inserted:
        response.status_code = 200
    found = session.get(Wanted, row.id)
    assert found is not None
    return wanted_out(found)


class WantedPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    priority: int | None = Field(None, ge=0, le=1000)
    ignore: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> WantedPatch:
        if self.priority is None and self.ignore is None:
            raise ValueError("give priority and/or ignore")
        return self


@router.patch("/wanted/{wanted_id}")
def update_wanted(wanted_id: int, body: WantedPatch, session: SessionDep) -> dict[str, Any]:
    row = session.scalar(select(Wanted).where(Wanted.id == wanted_id).with_for_update())
    if row is None:
        raise Problem(404, "Not wanted", f"no wanted entry {wanted_id}")
    if body.ignore is not None:
        if row.state not in IGNORABLE:
            raise Problem(409, "Cannot change", f"the entry is {row.state}: the download pipeline has it")
        row.state = "ignored" if body.ignore else "wanted"
    if body.priority is not None:
        row.priority = body.priority
        row.priority_manual = True
    session.commit()
    return wanted_out(row)


# -- follows ---------------------------------------------------------------------------------------


class FollowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    author: str = Field(min_length=1, max_length=255)
    mode: Literal["all", "future"] = "future"
    since: datetime | None = Field(None, description="for mode future: books released after this (default now)")


def follow_out(f: Follow) -> dict[str, Any]:
    return {"id": f.id, "author": f.name, "mode": f.mode, "since": f.since.isoformat(),
            "created_at": f.created_at.isoformat(), "checked_at": f.checked_at.isoformat() if f.checked_at else None}


@router.post("/follows", status_code=201)
def follow(body: FollowIn, session: SessionDep, response: Response) -> dict[str, Any]:
    values: dict[str, Any] = {"author_key": author_key(body.author), "name": body.author.strip(), "mode": body.mode}
    if body.since is not None:
        values["since"] = body.since
    stmt = insert(Follow).values(values)
    updates: dict[str, Any] = {"mode": stmt.excluded.mode, "name": stmt.excluded.name}
    if body.since is not None:
        updates["since"] = stmt.excluded.since
    row: Any = session.execute(stmt.on_conflict_do_update(index_elements=["author_key"], set_=updates)
                          .returning(Follow.id, literal_column("(xmax = 0)").label("inserted"))).one()
    ledger.create_job(session, "metadata.follow", {"follow_id": row.id})
    session.commit()
    if not row.inserted:
        response.status_code = 200
    found = session.get(Follow, row.id)
    assert found is not None
    return follow_out(found)


@router.get("/follows")
def list_follows(session: SessionDep) -> dict[str, Any]:
    return {"items": [follow_out(f) for f in session.scalars(select(Follow).order_by(Follow.name, Follow.id))]}


@router.delete("/follows/{follow_id}", status_code=204)
def unfollow(follow_id: int, session: SessionDep) -> Response:
    """Stop following; books wanted only because of this author leave the wanted list (ignored ones stay)."""
    if session.get(Follow, follow_id) is None:
        raise Problem(404, "Not followed", f"no follow {follow_id}")
    session.execute(delete(Wanted).where(Wanted.follow_id == follow_id, Wanted.state == "wanted",
                                         Wanted.reasons == ["followed_author"]))
    session.execute(text("UPDATE wanted SET reasons = array_remove(reasons, 'followed_author') "
                         "WHERE follow_id = :f AND 'followed_author' = ANY(reasons) AND cardinality(reasons) > 1"),
                    {"f": follow_id})
    session.execute(delete(Follow).where(Follow.id == follow_id))
    session.commit()
    return Response(status_code=204)

