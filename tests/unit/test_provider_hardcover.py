"""HardcoverClient against the Hardcover GraphQL simulator: series, search, identifiers, limits, errors."""

from __future__ import annotations

from typing import Any

import pytest

from shared.infra.errors import AuthError, ConfigError, PermanentError, UpstreamUnavailable
from tests.sims.providers import ManualClock, build_hardcover_app, in_process_client
from tests.sims.providers.common import SimApp
from tests.sims.world import Series, World, generate_world, isbn10_of
from workers.metadata.providers.base import MemoryCache
from workers.metadata.providers.hardcover import HardcoverClient
from workers.upstream import UpstreamOptions

TOKEN = "hc-secret-token-123"


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(80, seed=9)


@pytest.fixture
def app(world: World) -> SimApp:
    return build_hardcover_app(world, tokens_allowed=(TOKEN,), enforce_limits=False)


@pytest.fixture
def client(app: SimApp) -> HardcoverClient:
    return HardcoverClient(UpstreamOptions("http://sim", http=in_process_client(app)), token=TOKEN)


def _series(world: World, quirk: str) -> Series:
    return next(s for s in world.series if any(q.startswith(quirk) for q in s.quirks))


def _raw(app: SimApp, query: str, variables: dict[str, Any] | None = None, token: str = TOKEN) -> Any:
    return in_process_client(app).post(
        "/v1/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"authorization": f"Bearer {token}"},
    )


def test_find_series_then_list_it_with_hardcover_positions(world: World, client: HardcoverClient) -> None:
    series = _series(world, "hc_extra_novella")
    hits = client.find_series(series.hardcover_name, author=series.authors[0])
    assert hits[0].id == series.hardcover_id and hits[0].name == series.hardcover_name
    listing = client.series(hits[0].id)
    expected = sorted(w.position for w in series.works if w.kind != "omnibus")
    assert sorted(e.position or "" for e in listing.entries) == expected  # extra novella included
    assert {e.source_id for e in listing.entries} == {str(w.hardcover_id) for w in series.works if w.kind != "omnibus"}
    assert listing.primary_books_count == len([w for w in series.works if w.kind == "primary"])
    assert all(e.book is not None and e.book.authors == series.works[0].authors for e in listing.entries)


def test_series_listing_drops_duplicates_and_compilations(world: World, client: HardcoverClient) -> None:
    for quirk in ("hc_duplicate", "omnibus"):
        series = _series(world, quirk)
        listing = client.series(series.hardcover_id)
        ids = [e.source_id for e in listing.entries]
        assert len(ids) == len(set(ids))
        duplicates = {str(w.hardcover_duplicate_id) for w in series.works if w.hardcover_duplicate_id}
        omnibus = {str(w.hardcover_id) for w in series.works if w.kind == "omnibus"}
        assert not (duplicates | omnibus) & set(ids)


@pytest.mark.parametrize("encoding", ["object", "string", "alternate"])
def test_search_results_as_object_or_json_string(world: World, encoding: Any) -> None:
    app = build_hardcover_app(world, tokens_allowed=(TOKEN,), enforce_limits=False, results_encoding=encoding)
    client = HardcoverClient(UpstreamOptions("http://sim", http=in_process_client(app)), token=TOKEN)
    work = world.series[2].works[0]
    for _ in range(2):
        books = client.search_books(work.title)
        assert books[0].source_id == str(work.hardcover_id)
        assert books[0].title == work.title and books[0].authors == work.authors


def test_book_by_id_and_by_any_identifier(world: World, client: HardcoverClient) -> None:
    work = next(w for w in world.works.values() if w.edition("uk") and w.isbn13)
    book = client.book(work.hardcover_id)
    assert (book.title, book.isbn) == (work.title, work.isbn13)
    assert book.narrators == work.editions[0].narrators
    uk = work.edition("uk")
    assert uk is not None
    for identifier in (uk.asin, work.isbn13, isbn10_of(work.isbn13 or "")):
        found = client.books_by_identifier(identifier or "")
        assert [b.source_id for b in found] == [str(work.hardcover_id)]
    assert client.books_by_identifier("0000000000") == []


def test_missing_book_is_not_found(client: HardcoverClient) -> None:
    from shared.infra.errors import NotFound

    with pytest.raises(NotFound):
        client.book(1)


def test_bad_token_is_auth_error_without_the_token(world: World, app: SimApp) -> None:
    wrong = "hc-wrong-token-456"
    client = HardcoverClient(UpstreamOptions("http://sim", http=in_process_client(app)), token=f"Bearer {wrong}")
    with pytest.raises(AuthError) as caught:
        client.book(world.series[0].works[0].hardcover_id)
    assert "Unable to verify token" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), repr(client)):
        assert wrong not in text


def test_empty_token_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        HardcoverClient(UpstreamOptions("http://sim"), token="  ")


def test_graphql_errors_in_a_200_are_permanent_and_not_cached(world: World, app: SimApp) -> None:
    client = HardcoverClient(
        UpstreamOptions("http://sim", http=in_process_client(app), cache=MemoryCache()), token=TOKEN
    )
    series = world.series[0]
    body = {
        "errors": [
            {
                "message": "field 'x' not found in type: 'series'",
                "extensions": {"path": "$", "code": "validation-failed"},
            }
        ]
    }
    app.state.fail(200, body=body)
    with pytest.raises(PermanentError, match="validation-failed"):
        client.series(series.hardcover_id)
    assert client.series(series.hardcover_id).name == series.hardcover_name
    assert app.state.requests["graphql"] == 2


def test_sim_reports_unknown_fields_as_200_validation_errors(app: SimApp) -> None:
    answer = _raw(app, "{ series_by_pk(id: 10000) { id nonsense } }")
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["extensions"]["code"] == "validation-failed"


def test_ilike_is_refused_with_403_and_maps_to_permanent(app: SimApp, client: HardcoverClient) -> None:
    answer = _raw(app, '{ series(where: {name: {_ilike: "%ash%"}}) { id } }')
    assert answer.status_code == 403 and "not permitted" in answer.json()["error"]
    assert _raw(app, '{ series(where: {name: {_eq: "x"}}) { id } }').json() == {"data": {"series": []}}
    app.state.fail(403, body=answer.json())
    with pytest.raises(PermanentError) as caught:
        client.series(10000)
    assert not isinstance(caught.value, AuthError)


def test_top_level_limits(app: SimApp) -> None:
    six = "{ " + " ".join(f"a{n}: series_by_pk(id: {10000 + n}) {{ id }}" for n in range(6)) + " }"
    assert _raw(app, six).status_code == 403
    two_searches = '{ a: search(query: "x") { ids } b: search(query: "y") { ids } }'
    assert "top_level_limit_exceeded" in _raw(app, two_searches).json()["error"]
    five = "{ " + " ".join(f"a{n}: series_by_pk(id: {10000 + n}) {{ id }}" for n in range(5)) + " }"
    assert _raw(app, five).status_code == 200


def test_daily_quota_counts_every_top_level_field(world: World) -> None:
    clock = ManualClock(start=86_400 * 20_000 + 80_000.0)  # 6400 s before UTC midnight
    app = build_hardcover_app(world, tokens_allowed=(TOKEN,), per_day=4, clock=clock)
    client = HardcoverClient(UpstreamOptions("http://sim", http=in_process_client(app)), token=TOKEN)
    two = "{ a: series_by_pk(id: 10000) { id } b: series_by_pk(id: 10001) { id } }"
    assert _raw(app, two).status_code == 200
    client.series(10000)
    client.series(10001)
    with pytest.raises(UpstreamUnavailable, match="Daily") as caught:
        client.series(10002)
    assert caught.value.retry_after == 6400.0
    clock.advance(6400)
    assert client.series(10002).series_id == "10002"


def test_per_minute_burst_answers_429_with_retry_after(world: World) -> None:
    clock = ManualClock()
    app = build_hardcover_app(world, tokens_allowed=(TOKEN,), clock=clock)
    client = HardcoverClient(UpstreamOptions("http://sim", http=in_process_client(app)), token=TOKEN)
    for n in range(10):
        client.series(10000 + n)
    with pytest.raises(UpstreamUnavailable) as caught:
        client.series(10010)
    assert caught.value.retry_after == 1.0
    clock.advance(1.0)
    client.series(10010)


def test_partial_book_parses_with_what_is_there(world: World, app: SimApp, client: HardcoverClient) -> None:
    work = world.series[0].works[0]
    app.state.partial()
    book = client.book(work.hardcover_id)
    assert book.title == work.title
    assert (book.authors, book.subtitle, book.duration_seconds, book.isbn) == ((), None, None, None)


def test_cache_keys_post_bodies_and_skips_the_network(world: World, app: SimApp) -> None:
    calls: list[int] = []
    client = HardcoverClient(
        UpstreamOptions(
            "http://sim", http=in_process_client(app), cache=MemoryCache(), throttle=lambda: calls.append(1)
        ),
        token=TOKEN,
    )
    client.series(10000)
    client.series(10000)
    client.series(10001)
    assert app.state.requests["graphql"] == 2 and len(calls) == 2


def test_429_without_retry_after_falls_back_to_the_ratelimit_header(app: SimApp, client: HardcoverClient) -> None:
    app.state.fail(429, body={"error": "Throttled"}, headers={"ratelimit": "limit=60, remaining=0, reset=17"})
    with pytest.raises(UpstreamUnavailable) as caught:
        client.series(10000)
    assert caught.value.retry_after == 17.0
