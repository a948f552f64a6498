"""``/api/v1/books``, ``/authors``, ``/narrators``, ``/series``, ``/library/stats``: the mirrored library, read-only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api import cursor
from api import library_queries as q
from api.deps import get_session
from api.library_schemas import (
    AuthorPage,
    BookOut,
    BookPage,
    LibraryStats,
    NarratorPage,
    SeriesDetail,
    SeriesPage,
)
from api.problems import Problem, documented

router = APIRouter(tags=["library"])
SessionDep = Annotated[Session, Depends(get_session)]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(alias="cursor")]
NameQuery = Annotated[str | None, Query(alias="q", max_length=255, description="text the name contains (folded)")]
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


def _after_book(token: str | None, order: q.BookOrder) -> q.BookKey | None:
    """A ``/books`` cursor: the last book's id (``sort=id``), or its folded title and id (``sort=title``)."""
    if not token:
        return None
    if order == "id":
        return q.BookKey(_after(token), "")
    title_key, book_id = cursor.decode(token, 2)
    if not isinstance(title_key, str) or not isinstance(book_id, int):
        raise Problem(400, "Invalid cursor", "the cursor is not one this API returned")
    return q.BookKey(book_id, title_key)


@router.get("/books", response_model=BookPage, responses=documented(400))
def list_books(session: SessionDep, limit: Limit = 50, cursor_: Cursor = None,
               author: Annotated[str | None, Query(max_length=255, description="author id or name")] = None,
               series: Annotated[str | None, Query(max_length=255, description="series id or name")] = None,
               narrator: Annotated[str | None, Query(max_length=255, description="narrator id or name")] = None,
               q_: Annotated[str | None, Query(alias="q", max_length=255,
                                               description="text in the title, an author, a series or a narrator")]
               = None,
               sort: Annotated[q.BookOrder, Query(description="id: as books entered the library; title: A to Z")]
               = "id") -> BookPage:
    keys = q.list_work_keys(session, q.Filters(author, series, narrator, q_), sort, _after_book(cursor_, sort),
                            limit + 1)
    nxt = None
    if len(keys) > limit:
        keys, last = keys[:limit], keys[limit - 1]
        nxt = cursor.encode(last.title_key, last.id) if sort == "title" else cursor.encode(last.id)
    return BookPage(items=q.books(session, [k.id for k in keys]), next_cursor=nxt)


@router.get("/books/{book_id}", response_model=BookOut, responses=documented(404))
def read_book(book_id: int, session: SessionDep) -> BookOut:
    found = q.books(session, [book_id]) if q.work_exists(session, book_id) else []
    if not found:
        raise Problem(404, "Book not found", f"no book {book_id} in the library")
    return found[0]


@router.get("/authors", response_model=AuthorPage, responses=documented(400))
def list_authors(session: SessionDep, limit: Limit = 50, cursor_: Cursor = None, q_: NameQuery = None) -> AuthorPage:
    items, nxt = _more(q.authors(session, _after(cursor_), limit + 1, q_), limit, lambda a: a.id)
    return AuthorPage(items=items, next_cursor=nxt)


@router.get("/narrators", response_model=NarratorPage, responses=documented(400))
def list_narrators(session: SessionDep, limit: Limit = 50, cursor_: Cursor = None,
                   q_: NameQuery = None) -> NarratorPage:
    items, nxt = _more(q.narrators(session, _after(cursor_), limit + 1, q_), limit, lambda n: n.id)
    return NarratorPage(items=items, next_cursor=nxt)


@router.get("/series", response_model=SeriesPage, responses=documented(400))
def list_series(session: SessionDep, limit: Limit = 50, cursor_: Cursor = None, q_: NameQuery = None) -> SeriesPage:
    items, nxt = _more(q.series_list(session, _after(cursor_), limit + 1, q_), limit, lambda x: x.id)
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
