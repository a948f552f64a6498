"""The provider response cache in PostgreSQL, and the clients built from settings around it.

Real PostgreSQL and Redis; the Audible simulator over HTTP. A second request inside the TTL makes no
outside call, a forced one does (and refreshes the entry); a 429 pauses every client of the provider
for its Retry-After instead of failing the request.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from shared.engine.ratelimit import RateLimiter
from shared.infra.redis_client import get_redis
from shared.infra.settings import get_settings
from tests.sims.providers import build_audible_app, serve
from tests.sims.providers.common import SimApp
from tests.sims.world import World, generate_world
from workers.context import JobContext
from workers.metadata.cache import PgResponseCache, purge_expired
from workers.metadata.clients import Clients, ProviderPause
from workers.metadata.providers.base import ProviderBook


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(8, seed=2)


@pytest.fixture
def audible(world: World, settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[SimApp]:
    app = build_audible_app(world)
    url, stop = serve(app)
    monkeypatch.setenv("MAMC_AUDIBLE_URL", url)
    get_settings.cache_clear()
    yield app
    stop()


def _asin(world: World) -> str:
    edition = world.series[0].works[0].edition("us")
    assert edition is not None
    return edition.asin


def test_round_trip_expiry_bypass_and_purge(settings_env: dict[str, str]) -> None:
    cache = PgResponseCache()
    assert cache.get("audible", "GET /x") is None
    cache.put("audible", "GET /x", b"200\n{}", ttl=60)
    cache.put("audible", "GET /x", b"200\n{\"a\": 1}", ttl=60)  # an upsert, not a duplicate
    assert cache.get("audible", "GET /x") == b"200\n{\"a\": 1}"
    assert cache.get("hardcover", "GET /x") is None  # per provider
    assert PgResponseCache(bypass_reads=True).get("audible", "GET /x") is None
    cache.put("audible", "GET /old", b"200\n{}", ttl=0.05)
    time.sleep(0.2)
    assert cache.get("audible", "GET /old") is None
    assert purge_expired() == 1 and cache.get("audible", "GET /x") is not None
    assert (cache.stats.hits, cache.stats.misses) == (2, 3)


def test_many_at_once_expire_bypass_and_count(settings_env: dict[str, str]) -> None:
    cache = PgResponseCache()
    cache.put_many("audible", {"k1": b"200\n1", "k2": b"200\n2"}, ttl=60)
    cache.put_many("audible", {"k2": b"200\n22", "k3": b"200\n3"}, ttl=0.05)  # an upsert of k2
    cache.put_many("audible", {}, ttl=60)
    time.sleep(0.2)
    assert cache.get_many("audible", ["k1", "k2", "k3", "k4"]) == {"k1": b"200\n1"}
    assert cache.get_many("hardcover", ["k1"]) == {} and cache.get_many("audible", []) == {}
    assert PgResponseCache(bypass_reads=True).get_many("audible", ["k1"]) == {}
    assert (cache.stats.hits, cache.stats.misses) == (1, 4)


def test_products_asked_in_other_batches_come_from_postgres(audible: SimApp, world: World) -> None:
    asins = sorted(a for a, (_, e) in world.editions.items() if e.region == "us")[:6]
    first = Clients(None).audible().products(asins[:4])
    again = Clients(None).audible().products(asins[2:4] + asins[:2])  # another job, other neighbours
    assert audible.state.total == 1 and {b.asin: b for b in again} == {b.asin: b for b in first}
    Clients(None).audible().products(asins)
    assert audible.state.total == 2 and audible.state.log[-1].query["asins"] == [",".join(asins[4:])]
    Clients(None, force=True).audible().products(asins[:2])
    assert audible.state.total == 3


def test_the_second_answer_comes_from_postgres_and_force_refreshes_it(audible: SimApp, world: World) -> None:
    first = Clients(None).audible().product(_asin(world))
    assert audible.state.total == 1
    second = Clients(None).audible().product(_asin(world))  # another job, another process: same table
    assert second == first and isinstance(second, ProviderBook) and audible.state.total == 1
    forced = Clients(None, force=True).audible().product(_asin(world))
    assert forced == first and audible.state.total == 2


def _ctx() -> JobContext:
    from shared.engine.jobtypes import NoArgs

    return JobContext(job_id=uuid.uuid4(), job_type="metadata.match", generation=1, attempt=1, correlation_id="t",
                      phase=None, args=NoArgs(), limiter=RateLimiter(get_redis(), get_settings().limits()),
                      worker_host="test", worker_pid=0, lifetime_attempts=1)


def test_a_429_pauses_the_provider_for_every_worker_and_the_request_goes_through(audible: SimApp,
                                                                                  world: World) -> None:
    audible.state.storm_429(times=2, retry_after="1")
    started = time.monotonic()
    book = Clients(_ctx()).audible().product(_asin(world))
    assert book.asin == _asin(world)
    assert time.monotonic() - started >= 1.9 and audible.state.total == 3
    # while a pause holds, another worker's request waits for it first
    ProviderPause(get_redis()).hold("audible", 1.0)
    started = time.monotonic()
    Clients(_ctx()).audible().product(world.series[1].works[0].editions[0].asin)
    assert time.monotonic() - started >= 0.9
