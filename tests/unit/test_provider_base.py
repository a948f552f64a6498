"""Behaviour every provider client inherits: error mapping, cache, throttle, real HTTP, timeouts.

Audnexus is the vehicle (simplest GET provider); provider-specific files test their quirks.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx
import pytest

from shared.infra.errors import (
    AuthError,
    MalformedResponse,
    NotFound,
    PermanentError,
    RateLimited,
    UpstreamUnavailable,
)
from shared.positions import canonical_position
from tests.sims.providers import ManualClock, build_audnexus_app, in_process_client, serve
from tests.sims.providers.common import SimApp
from tests.sims.world import World, generate_world
from workers.metadata.providers._normalize import iso_date, normalize_language
from workers.metadata.providers.audnexus import AudnexusClient
from workers.metadata.providers.base import MemoryCache
from workers.upstream import UpstreamOptions


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(20, seed=11)


@pytest.fixture
def app(world: World) -> SimApp:
    return build_audnexus_app(world, enforce_limits=False)


def _asin(world: World) -> str:
    edition = world.series[0].works[0].edition("us")
    assert edition is not None
    return edition.asin


def _client(app: SimApp, **kwargs: Any) -> AudnexusClient:
    return AudnexusClient(UpstreamOptions("http://sim", http=in_process_client(app), **kwargs))


def test_server_429_is_upstream_unavailable_with_retry_after_not_our_rate_limited(app: SimApp, world: World) -> None:
    app.state.storm_429(times=1, retry_after="7")
    with pytest.raises(UpstreamUnavailable) as caught:
        _client(app).book(_asin(world))
    assert caught.value.retry_after == 7.0
    assert not isinstance(caught.value, RateLimited)


def test_retry_after_http_date_form_is_understood(app: SimApp, world: World) -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    app.state.storm_429(times=1, retry_after=when)
    with pytest.raises(UpstreamUnavailable) as caught:
        _client(app).book(_asin(world))
    assert caught.value.retry_after is not None and 100 < caught.value.retry_after <= 120


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_upstream_unavailable(app: SimApp, world: World, status: int) -> None:
    app.state.fail(status)
    with pytest.raises(UpstreamUnavailable, match=str(status)):
        _client(app).book(_asin(world))


@pytest.mark.parametrize(("status", "error"), [(401, AuthError), (403, AuthError), (400, PermanentError)])
def test_4xx_mapping(app: SimApp, world: World, status: int, error: type[Exception]) -> None:
    app.state.fail(status)
    with pytest.raises(error):
        _client(app).book(_asin(world))


def test_malformed_json_is_malformed_response_and_not_cached(app: SimApp, world: World) -> None:
    cache = MemoryCache()
    client = _client(app, cache=cache)
    app.state.malformed(times=1)
    with pytest.raises(MalformedResponse):
        client.book(_asin(world))
    assert len(cache) == 0
    assert client.book(_asin(world)).asin == _asin(world)  # the retry reaches the sim again
    assert app.state.requests["book"] == 2


def test_cache_hit_makes_zero_requests_and_skips_the_throttle(app: SimApp, world: World) -> None:
    calls: list[int] = []
    client = _client(app, cache=MemoryCache(), throttle=lambda: calls.append(1))
    first = client.book(_asin(world))
    second = client.book(_asin(world))
    assert first == second
    assert app.state.requests["book"] == 1
    assert calls == [1]


def test_cache_expires_after_ttl(app: SimApp, world: World) -> None:
    clock = ManualClock()
    client = _client(app, cache=MemoryCache(clock=clock), cache_ttl=60.0)
    client.book(_asin(world))
    clock.advance(59)
    client.book(_asin(world))
    assert app.state.requests["book"] == 1
    clock.advance(2)
    client.book(_asin(world))
    assert app.state.requests["book"] == 2


def test_cache_key_includes_the_query(app: SimApp, world: World) -> None:
    client = _client(app, cache=MemoryCache())
    client.search_authors("Alpha")
    client.search_authors("Beta")
    client.search_authors("Alpha")
    assert app.state.requests["search_authors"] == 2


def test_throttle_rate_limited_propagates_before_any_request(app: SimApp, world: World) -> None:
    def refuse() -> None:
        raise RateLimited("audnexus", 2.5)

    with pytest.raises(RateLimited) as caught:
        _client(app, throttle=refuse).book(_asin(world))
    assert caught.value.retry_after == 2.5
    assert app.state.total == 0


def test_throttle_is_called_before_every_outgoing_request(app: SimApp, world: World) -> None:
    calls: list[int] = []
    client = _client(app, throttle=lambda: calls.append(1))
    client.book(_asin(world))
    client.chapters(_asin(world))
    app.state.fail(503)
    with pytest.raises(UpstreamUnavailable):
        client.book(_asin(world))
    assert len(calls) == app.state.total == 3


def test_real_http_round_trip_with_serve(app: SimApp, world: World) -> None:
    base_url, stop = serve(app)
    try:
        with AudnexusClient(UpstreamOptions(base_url)) as client:
            book = client.book(_asin(world))
        assert book.asin == _asin(world)
        assert app.state.requests["book"] == 1
    finally:
        stop()


def test_slow_response_times_out_as_upstream_unavailable(app: SimApp, world: World) -> None:
    base_url, stop = serve(app)
    try:
        app.state.slow(1.5)
        with AudnexusClient(UpstreamOptions(base_url, timeout=0.3)) as client:
            started = time.monotonic()
            with pytest.raises(UpstreamUnavailable, match="no answer within"):
                client.book(_asin(world))
            assert time.monotonic() - started < 1.4
    finally:
        stop()


def test_connection_refused_is_upstream_unavailable(app: SimApp, world: World) -> None:
    base_url, stop = serve(app)
    stop()
    with (
        AudnexusClient(UpstreamOptions(base_url, timeout=2)) as client,
        pytest.raises(UpstreamUnavailable, match="failed"),
    ):
        client.book(_asin(world))


def test_supplied_http_client_is_not_closed_by_the_provider(app: SimApp, world: World) -> None:
    http = in_process_client(app)
    with AudnexusClient(UpstreamOptions("http://sim", http=http)) as client:
        client.book(_asin(world))
    assert not http.is_closed


def test_not_found_404_is_cached_as_a_negative_answer(app: SimApp) -> None:
    client = _client(app, cache=MemoryCache())
    for _ in range(2):
        with pytest.raises(NotFound):
            client.book("B000000000")
    assert app.state.requests["book"] == 1


def test_sim_rate_limit_answers_429_like_the_real_service(world: World) -> None:
    clock = ManualClock()
    app = build_audnexus_app(world, clock=clock)
    client = _client(app)
    for _ in range(100):
        client.search_authors("x")
    with pytest.raises(UpstreamUnavailable) as caught:
        client.search_authors("x")
    assert caught.value.retry_after is not None and caught.value.retry_after > 0
    assert "RATE_LIMIT_EXCEEDED" in str(caught.value)
    clock.advance(1.0)
    client.search_authors("x")


@pytest.mark.parametrize(
    ("raw", "details", "expected"),
    [
        ("1", None, "1"),
        ("Book 1", None, "1"),
        ("2, Dramatized Adaptation", None, "2"),
        ("1-3", None, "1-3"),
        ("1 - 3", None, "1-3"),
        ("0.5", None, "0.5"),
        ("02", None, "2"),
        ("", None, None),
        (None, None, None),
        (3.0, None, "3"),
        (2.5, None, "2.5"),
        (1.0, "1-3", "1-3"),
        (1.0, "Book 1", "1"),
    ],
)
def test_canonical_position(raw: object, details: object, expected: str | None) -> None:
    assert canonical_position(raw, details) == expected


def test_normalize_language_and_dates() -> None:
    assert [normalize_language(x) for x in ("english", "eng", "EN", {"key": "/languages/ger"}, "klingon")] == [
        "en",
        "en",
        "en",
        "de",
        "klingon",
    ]
    assert iso_date("2019-03-05T07:00:00Z") == "2019-03-05"
    assert iso_date("March 5, 2019") == "2019-03-05"
    assert iso_date("2019") == "2019"
    assert iso_date("sometime") is None


def test_protocol_errors_are_upstream_unavailable(app: SimApp, world: World) -> None:
    """A connection dropped mid-answer is transient, like a refused connection."""

    class Exploding(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            raise httpx.RemoteProtocolError("peer closed connection", request=request)

    client = AudnexusClient(UpstreamOptions("http://sim", http=httpx.Client(transport=Exploding())))
    with pytest.raises(UpstreamUnavailable, match="RemoteProtocolError"):
        client.book(_asin(world))
