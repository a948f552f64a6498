"""``/api/v1/books``, ``/authors``, ``/series``, ``/library/stats``: the mirrored library, read-only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api import cursor
from api import library_queries as q
from api.deps import get_session
from api.library_schemas import AuthorPage, BookOut, BookPage, LibraryStats, SeriesDetail, SeriesPage
from api.problems import Problem, documented

router = APIRouter(tags=["library"])
SessionDep = Annotated[Session, Depends(get_session)]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(alias="cursor")]
T = TypeVar("T")


def _after(token: str | None) -> int:
    if not token:
        return 0
    (value,) = cursor.decode(token, 1)
    if not isinstance(value, int):
        raise Problem(400, "Invalid cursor", "the cursor is not one this API returned")
    return value


def _more(items: list[T], limit: int, key: Callable[[T], int]) -> tuple[list[T], str | None]:
    """The first ``limit`` of ``limit + 1`` fetched rows, and the cursor after them if there are more."""
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    return items, cursor.encode(key(items[-1]))


@router.get("/books", response_model=BookPage, responses=documented(400))
def list_books(session: SessionDep, limit: Limit = 50, cursor_: Cursor = None,
               author: Annotated[str | None, Query(max_length=255)] = None,
               series: Annotated[str | None, Query(max_length=255)] = None,
               narrator: Annotated[str | None, Query(max_length=255)] = None,
               q_: Annotated[str | None, Query(alias="q", max_length=255)] = None) -> BookPage:
    ids = q.list_work_ids(session, q.Filters(author, series, narrator, q_), _after(cursor_), limit + 1)
    items, nxt = _more(q.books(session, ids), limit, lambda b: b.id)
    return BookPage(items=items, next_cursor=nxt)


@router.get("/books/{book_id}", response_model=BookOut, responses=documented(404))
def read_book(book_id: int, session: SessionDep) -> BookOut:
    found = q.books(session, [book_id]) if q.work_exists(session, book_id) else []
    if not found:
        raise Problem(404, "Book not found", f"no book {book_id} in the library")
    return found[0]


@router.get("/authors", response_model=AuthorPage, responses=documented(400))
def list_authors(session: SessionDep, limit: Limit = 50, cursor_: Cursor = None) -> AuthorPage:
    items, nxt = _more(q.authors(session, _after(cursor_), limit + 1), limit, lambda a: a.id)
    return AuthorPage(items=items, next_cursor=nxt)


@router.get("/series", response_model=SeriesPage, responses=documented(400))
def list_series(session: SessionDep, limit: Limit = 50, cursor_: Cursor = None) -> SeriesPage:
    items, nxt = _more(q.series_list(session, _after(cursor_), limit + 1), limit, lambda x: x.id)
    return SeriesPage(items=items, next_cursor=nxt)


@router.get("/series/{series_id}", response_model=SeriesDetail, responses=documented(404))
def read_series(series_id: int, session: SessionDep) -> SeriesDetail:
    found = q.series_detail(session, series_id)
    if found is None:
        raise Problem(404, "Series not found", f"no series {series_id} in the library")
    return found


@router.get("/library/stats", response_model=LibraryStats)
def library_stats(session: SessionDep) -> LibraryStats:
    return q.stats(session)
