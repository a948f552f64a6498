"""GoogleBooksClient against the Google Books simulator: query syntax, key handling, quota, secrets."""

from __future__ import annotations

import pytest

from shared.infra.errors import AuthError, MamcError, NotFound, UpstreamUnavailable
from tests.sims.providers import ManualClock, build_googlebooks_app, in_process_client, serve
from tests.sims.providers.common import SimApp
from tests.sims.providers.googlebooks import error_body, parse_q
from tests.sims.world import Work, World, generate_world, isbn10_of
from workers.metadata.providers.base import MemoryCache
from workers.metadata.providers.googlebooks import GoogleBooksClient
from workers.upstream import UpstreamOptions

KEY = "AIzaSy-very-secret-key"


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(40, seed=6)


@pytest.fixture
def app(world: World) -> SimApp:
    return build_googlebooks_app(world, valid_keys=(KEY,))


@pytest.fixture
def client(app: SimApp) -> GoogleBooksClient:
    return GoogleBooksClient(UpstreamOptions("http://sim", http=in_process_client(app)), key=KEY)


def _work(world: World) -> Work:
    return next(w for w in world.works.values() if w.isbn13 and w.kind == "primary")


def test_search_by_title_and_author(world: World, client: GoogleBooksClient, app: SimApp) -> None:
    work = _work(world)
    books = client.search(work.title, work.authors[0])
    assert [b.source_id for b in books] == [work.google_id]
    assert (books[0].title, books[0].authors, books[0].isbn, books[0].language) == (
        work.title,
        work.authors,
        work.isbn13,
        "en",
    )
    q = app.state.log[-1].query["q"][0]
    assert parse_q(q) == {"intitle": [work.title], "inauthor": [work.authors[0]]}


def test_by_isbn_13_and_10(world: World, client: GoogleBooksClient) -> None:
    work = _work(world)
    assert client.by_isbn(work.isbn13 or "").source_id == work.google_id
    assert client.by_isbn(isbn10_of(work.isbn13 or "") or "").source_id == work.google_id


def test_no_items_key_means_no_results(client: GoogleBooksClient) -> None:
    assert client.search("Nonexistent Zebra Title") == []
    with pytest.raises(NotFound):
        client.by_isbn("9780000000002")


def test_anonymous_use_works_without_a_key(world: World, app: SimApp) -> None:
    client = GoogleBooksClient(UpstreamOptions("http://sim", http=in_process_client(app)))
    assert client.by_isbn(_work(world).isbn13 or "").title == _work(world).title
    assert "key" not in app.state.log[-1].query


def test_invalid_key_is_auth_error_and_never_echoed(world: World, app: SimApp) -> None:
    wrong = "AIzaSy-wrong-secret"
    client = GoogleBooksClient(UpstreamOptions("http://sim", http=in_process_client(app)), key=wrong)
    with pytest.raises(AuthError) as caught:
        client.search(_work(world).title)
    _assert_secret_free(caught.value, wrong)
    assert wrong not in repr(client)


def test_daily_quota_is_transient(world: World) -> None:
    app = build_googlebooks_app(world, valid_keys=(KEY,), daily_quota=2, clock=ManualClock())
    client = GoogleBooksClient(UpstreamOptions("http://sim", http=in_process_client(app)), key=KEY)
    client.search("a")
    client.search("b")
    with pytest.raises(UpstreamUnavailable, match="Quota exceeded"):
        client.search("c")


def test_quota_403_is_transient_not_auth(app: SimApp, client: GoogleBooksClient) -> None:
    app.state.fail(403, body=error_body(403, "Daily Limit Exceeded", "dailyLimitExceeded"))
    with pytest.raises(UpstreamUnavailable):
        client.search("x")


def test_key_stays_out_of_cache_keys(world: World, app: SimApp) -> None:
    cache = MemoryCache()
    client = GoogleBooksClient(UpstreamOptions("http://sim", http=in_process_client(app), cache=cache), key=KEY)
    client.search(_work(world).title)
    client.search(_work(world).title)
    assert app.state.total == 1
    assert all(KEY not in key for (_, key) in cache._items)


@pytest.mark.parametrize("fault", ["429", "503", "malformed"])
def test_no_secret_in_any_error(world: World, app: SimApp, client: GoogleBooksClient, fault: str) -> None:
    if fault == "malformed":
        app.state.malformed()
    else:
        app.state.fail(int(fault), body=error_body(int(fault), f"echo {KEY}"), retry_after="3")
    with pytest.raises(MamcError) as caught:
        client.search(_work(world).title)
    _assert_secret_free(caught.value, KEY)


def test_no_secret_in_timeout_or_connection_errors(world: World, app: SimApp) -> None:
    base_url, stop = serve(app)
    try:
        app.state.slow(1.0)
        with (
            GoogleBooksClient(UpstreamOptions(base_url, timeout=0.2), key=KEY) as client,
            pytest.raises(UpstreamUnavailable) as slow,
        ):
            client.search("x")
    finally:
        stop()
    with (
        GoogleBooksClient(UpstreamOptions(base_url, timeout=1), key=KEY) as client,
        pytest.raises(UpstreamUnavailable) as refused,
    ):
        client.search("x")
    for caught in (slow, refused):
        _assert_secret_free(caught.value, KEY)


def test_more_than_40_results_is_refused_before_sending(client: GoogleBooksClient, app: SimApp) -> None:
    with pytest.raises(ValueError):
        client.search("x", max_results=41)
    assert app.state.total == 0


def _assert_secret_free(exc: BaseException, secret: str) -> None:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for item in chain:
        assert secret not in str(item) and secret not in repr(item)
