"""``/api/v1/wanted`` (the wanted list, the wishlist) and ``/api/v1/follows`` (followed authors).

The gateway only records intent, through the wanted domain (``shared.wanted``): a wishlist entry is
stored as typed and a ``metadata.resolve_wanted`` job fills it in from Audible; a new follow queues
``metadata.follow``. Ignoring sets the state to ``ignored``, which every later scan keeps; approving
moves a suggestion (a top-list entry) to ``wanted``. Each route validates, calls the domain, commits
(so a queued job is published after its row is visible) and answers with a typed model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from api import cursor
from api.deps import get_session
from api.problems import Problem, documented
from shared.download import queries as download_queries
from shared.download.schemas import DownloadOut
from shared.imports import queries as import_queries
from shared.imports.schemas import ImportOut
from shared.infra.settings import get_settings
from shared.wanted import queries, service
from shared.wanted.schemas import FollowOut, WantedOut
from shared.wanted.states import FollowMode, ForbiddenTransition, UnknownWanted, WantedReason, WantedState

router = APIRouter(tags=["wanted"])
SessionDep = Annotated[Session, Depends(get_session)]


class WantedPage(BaseModel):
    items: list[WantedOut]
    next_cursor: str | None


@router.get("/wanted", response_model=WantedPage)
def list_wanted(
    session: SessionDep,
    reason: Annotated[WantedReason | None, Query()] = None,
    series: Annotated[str | None, Query(max_length=255, description="library series id or name")] = None,
    author: Annotated[str | None, Query(max_length=255)] = None,
    state: Annotated[WantedState | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor_: Annotated[str | None, Query(alias="cursor")] = None,
) -> WantedPage:
    """Highest priority first; ``next_cursor`` continues after the last item (stable under inserts)."""
    after = None
    if cursor_:
        priority, last = cursor.decode(cursor_, 2)
        if not isinstance(priority, int) or not isinstance(last, int):
            raise Problem(400, "Invalid cursor", "the cursor is not one this API returned")
        after = (priority, last)
    where = queries.WantedFilter(reason=reason, state=state, author=author, series=series)
    page = queries.list_wanted(session, where, limit=limit, after=after)
    return WantedPage(items=page.items, next_cursor=cursor.encode(*page.last_key()) if page.more else None)


class WantedDetail(WantedOut):
    """One entry with where the pipeline has it: its downloads (newest first) and their imports."""

    downloads: list[DownloadOut]
    imports: list[ImportOut]


@router.get("/wanted/{wanted_id}", response_model=WantedDetail, responses=documented(404))
def read_wanted(wanted_id: int, session: SessionDep) -> WantedDetail:
    """One entry; an id that resolution merged into another entry answers as the surviving one."""
    found = queries.get_wanted(session, wanted_id)
    if found is None:
        raise Problem(404, "Not wanted", f"no wanted entry {wanted_id}")
    imports = import_queries.list_imports(session, import_queries.ImportFilter(wanted_id=found.id), limit=20,
                                          after=None).items
    return WantedDetail(**found.model_dump(), downloads=download_queries.downloads_of_wanted(session, found.id),
                        imports=imports)


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


def _reread(session: Session, wanted_id: int) -> WantedOut:
    found = queries.get_wanted(session, wanted_id)
    if found is None:  # removed between our commit and this read (a scan swept it): say so, not 500
        raise Problem(404, "Not wanted", f"no wanted entry {wanted_id}")
    return found


@router.post("/wanted", status_code=201, response_model=WantedOut)
def add_to_wishlist(body: WishlistIn, session: SessionDep, response: Response) -> WantedOut:
    wish = service.Wish(asin=body.asin, title=body.title, authors=body.authors, priority=body.priority,
                        language=body.language)
    try:
        wanted_id, inserted = service.add_to_wishlist(session, wish,
                                                      default_language=get_settings().metadata_language)
    except service.AlreadyOwned:
        raise Problem(409, "Already in the library", "the library already holds this book") from None
    session.commit()  # publishes the job after the row is visible
    if not inserted:
        response.status_code = 200
    return _reread(session, wanted_id)


class WantedPatch(BaseModel):
    """``approve: true`` turns a suggestion (a top-list entry) into a wanted book; ``ignore: true``
    declines it. Only ``true`` approves: there is no "un-approve" (ignore it instead)."""

    model_config = ConfigDict(extra="forbid")
    priority: int | None = Field(None, ge=0, le=1000)
    ignore: bool | None = None
    approve: Literal[True] | None = None

    @model_validator(mode="after")
    def _something(self) -> WantedPatch:
        if self.priority is None and self.ignore is None and self.approve is None:
            raise ValueError("give priority, ignore and/or approve")
        if self.approve and self.ignore is not None:
            raise ValueError("approve and ignore together: give one")
        return self


@router.patch("/wanted/{wanted_id}", response_model=WantedOut)
def update_wanted(wanted_id: int, body: WantedPatch, session: SessionDep) -> WantedOut:
    try:
        if body.approve:
            service.approve(session, wanted_id)
        row = service.edit(session, wanted_id, ignore=body.ignore, priority=body.priority)
    except UnknownWanted:
        raise Problem(404, "Not wanted", f"no wanted entry {wanted_id}") from None
    except service.NotASuggestion as exc:
        raise Problem(409, "Not a suggestion",
                      f"the entry is {exc.current}: only a suggested entry can be approved") from None
    except ForbiddenTransition as exc:
        raise Problem(409, "Cannot change", f"the entry is {exc.current}: the download pipeline has it") from None
    session.commit()
    return WantedOut.of(row)


# -- follows ---------------------------------------------------------------------------------------


class FollowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    author: str = Field(min_length=1, max_length=255)
    mode: FollowMode = FollowMode.FUTURE
    since: datetime | None = Field(None, description="for mode future: books released after this (default now)")


class FollowPage(BaseModel):
    items: list[FollowOut]


@router.post("/follows", status_code=201, response_model=FollowOut)
def follow(body: FollowIn, session: SessionDep, response: Response) -> FollowOut:
    follow_id, inserted = service.follow(session, body.author, body.mode, body.since)
    session.commit()  # publishes metadata.follow after the follow is visible
    if not inserted:
        response.status_code = 200
    found = queries.get_follow(session, follow_id)
    if found is None:  # unfollowed between our commit and this read
        raise Problem(404, "Not followed", f"no follow {follow_id}")
    return found


@router.get("/follows", response_model=FollowPage)
def list_follows(session: SessionDep) -> FollowPage:
    return FollowPage(items=queries.list_follows(session))


@router.delete("/follows/{follow_id}", status_code=204, response_class=Response)
def unfollow(follow_id: int, session: SessionDep) -> Response:
    """Stop following; books wanted only because of this author leave the wanted list (ignored ones stay)."""
    if not service.unfollow(session, follow_id):
        raise Problem(404, "Not followed", f"no follow {follow_id}")
    session.commit()
    return Response(status_code=204)
