"""``/api/v1/books``, ``/authors``, ``/series``, ``/library/stats``: the mirrored library, read-only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api import cursor
from api import library_queries as q
from api.deps import get_session
from api.problems import Problem

router = APIRouter(tags=["library"])
SessionDep = Annotated[Session, Depends(get_session)]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(alias="cursor")]


def _after(token: str | None) -> int:
    if not token:
        return 0
    (value,) = cursor.decode(token, 1)
    if not isinstance(value, int):
        raise Problem(400, "Invalid cursor", "the cursor is not one this API returned")
    return value


def _page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": cursor.encode(items[-1]["id"]) if more else None}


@router.get("/books")
def list_books(session: SessionDep, limit: Limit = 50, cursor_: Cursor = None,
               author: Annotated[str | None, Query(max_length=255)] = None,
               series: Annotated[str | None, Query(max_length=255)] = None,
               narrator: Annotated[str | None, Query(max_length=255)] = None,
               q_: Annotated[str | None, Query(alias="q", max_length=255)] = None) -> dict[str, Any]:
    ids = q.list_work_ids(session, q.Filters(author, series, narrator, q_), _after(cursor_), limit + 1)
    return _page(q.books(session, ids), limit)


@router.get("/books/{book_id}")
def read_book(book_id: int, session: SessionDep) -> dict[str, Any]:
    found = q.books(session, [book_id]) if q.work_exists(session, book_id) else []
    if not found:
        raise Problem(404, "Book not found", f"no book {book_id} in the library")
    return found[0]


@router.get("/authors")
def list_authors(session: SessionDep, limit: Limit = 50, cursor_: Cursor = None) -> dict[str, Any]:
    return _page(q.authors(session, _after(cursor_), limit + 1), limit)


@router.get("/series")
def list_series(session: SessionDep, limit: Limit = 50, cursor_: Cursor = None) -> dict[str, Any]:
    return _page(q.series_list(session, _after(cursor_), limit + 1), limit)


@router.get("/series/{series_id}")
def read_series(series_id: int, session: SessionDep) -> dict[str, Any]:
    found = q.series_detail(session, series_id)
    if found is None:
        raise Problem(404, "Series not found", f"no series {series_id} in the library")
    return found


@router.get("/library/stats")
def library_stats(session: SessionDep) -> dict[str, Any]:
    return q.stats(session)
