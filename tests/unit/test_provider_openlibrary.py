"""OpenLibraryClient against the Open Library simulator: ISBN redirect, author keys, search, works."""

from __future__ import annotations

import pytest

from shared.infra.errors import NotFound
from tests.sims.providers import build_openlibrary_app, in_process_client
from tests.sims.providers.common import SimApp
from tests.sims.world import Work, World, generate_world, isbn10_of
from workers.metadata.providers.base import MemoryCache, SeriesRef
from workers.metadata.providers.openlibrary import OpenLibraryClient
from workers.upstream import UpstreamOptions


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(40, seed=8)


@pytest.fixture
def app(world: World) -> SimApp:
    return build_openlibrary_app(world)


def _work(world: World) -> Work:
    return next(w for w in world.works.values() if w.isbn13 and w.kind == "primary" and w.itunes_id % 3)


def test_by_isbn_follows_the_redirect_and_resolves_author_keys(world: World, app: SimApp) -> None:
    calls: list[int] = []
    client = OpenLibraryClient(
        UpstreamOptions("http://sim", http=in_process_client(app), throttle=lambda: calls.append(1))
    )
    work = _work(world)
    book = client.by_isbn(work.isbn13 or "")
    series = world.series_by_id[work.series_id]
    assert (book.source_id, book.title, book.isbn, book.authors) == (
        work.ol_edition,
        work.title,
        work.isbn13,
        work.authors,
    )
    assert book.series == (SeriesRef(series.hardcover_name, work.position),)
    assert book.release_date == work.release_date.isoformat() and book.language == "en"
    assert dict(app.state.requests) == {"isbn": 1, "edition": 1, "author": len(work.authors)}
    assert len(calls) == app.state.total  # the redirect hop passed the throttle too


def test_isbn10_finds_the_same_edition(world: World, app: SimApp) -> None:
    client = OpenLibraryClient(UpstreamOptions("http://sim", http=in_process_client(app)))
    work = _work(world)
    assert client.by_isbn(isbn10_of(work.isbn13 or "") or "").source_id == work.ol_edition


def test_unknown_isbn_is_not_found_and_cached(app: SimApp) -> None:
    client = OpenLibraryClient(UpstreamOptions("http://sim", http=in_process_client(app), cache=MemoryCache()))
    for _ in range(2):
        with pytest.raises(NotFound):
            client.by_isbn("9780000000002")
    assert app.state.total == 1


def test_cached_by_isbn_repeats_without_requests(world: World, app: SimApp) -> None:
    client = OpenLibraryClient(UpstreamOptions("http://sim", http=in_process_client(app), cache=MemoryCache()))
    work = _work(world)
    first = client.by_isbn(work.isbn13 or "")
    before = app.state.total
    assert client.by_isbn(work.isbn13 or "") == first
    assert app.state.total == before


def test_search_by_title_and_author(world: World, app: SimApp) -> None:
    client = OpenLibraryClient(UpstreamOptions("http://sim", http=in_process_client(app)))
    work = _work(world)
    books = client.search(work.title, work.authors[0])
    assert work.ol_work in [b.source_id for b in books]
    hit = next(b for b in books if b.source_id == work.ol_work)
    assert (hit.title, hit.authors, hit.isbn, hit.release_date) == (
        work.title,
        work.authors,
        work.isbn13,
        str(work.release_date.year),
    )
    sent = app.state.log[-1].query
    assert sent["fields"] == ["key,title,author_name,first_publish_year,isbn,language,edition_count"]


def test_partial_search_docs_parse(world: World, app: SimApp) -> None:
    client = OpenLibraryClient(UpstreamOptions("http://sim", http=in_process_client(app)))
    work = _work(world)
    app.state.partial()
    hit = next(b for b in client.search(work.title) if b.source_id == work.ol_work)
    assert (hit.authors, hit.isbn, hit.language) == ((), None, None)


def test_work_resolves_authors(world: World, app: SimApp) -> None:
    client = OpenLibraryClient(UpstreamOptions("http://sim", http=in_process_client(app)))
    work = _work(world)
    book = client.work(work.ol_work)
    assert (book.source_id, book.title, book.authors) == (work.ol_work, work.title, work.authors)
