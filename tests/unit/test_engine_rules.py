"""Fast checks of the engine's rule tables: routing, retry policy, limits, settings, declarations."""

from __future__ import annotations

import random

import httpx
import pytest

from shared.engine import jobtypes
from shared.engine.jobtypes import JobType, NoArgs
from shared.engine.pools import POOLS, Pool, RetryPolicy
from shared.engine.ratelimit import Limit
from shared.engine.routing import UnroutableJob, queue_for
from shared.infra.errors import ConfigError, NotFound, RateLimited, UpstreamUnavailable
from shared.infra.settings import Settings, load_settings


@pytest.mark.parametrize(("job_type", "queue"), [
    ("crawl.search", "crawl"), ("account.refresh", "crawl"), ("metadata.refresh", "metadata"),
    ("gaps.detect", "metadata"), ("download.grab", "download"), ("library.sync", "library_sync"),
])
def test_job_types_route_to_their_declared_pool(job_type: str, queue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Routing is derived from the declarations; the crawl, account and download job types are not
    written yet, so they are declared here on their domain's pool, as their issues will."""
    if job_type.split(".")[0] in ("crawl", "account", "download"):
        future = JobType(job_type, NoArgs, pool=Pool(queue))
        monkeypatch.setitem(jobtypes._catalogue(), job_type, future)
    assert queue_for(job_type) == queue


def test_probe_routes_by_its_pool_argument() -> None:
    assert queue_for("probe", {"pool": "download"}) == "download"
    with pytest.raises(UnroutableJob):
        queue_for("probe", {"pool": "mars"})
    with pytest.raises(UnroutableJob):
        queue_for("unknown.thing")


def test_retry_policy_classifies_and_backs_off_with_jitter() -> None:
    policy = RetryPolicy(base=10, cap=100, max_retries=5)
    assert policy.is_transient(UpstreamUnavailable("503"))
    assert policy.is_transient(httpx.ConnectTimeout("t"))
    assert not policy.is_transient(NotFound("404"))
    assert not policy.is_transient(ValueError("bug"))
    rng = random.Random(1)
    for n, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        delays = [policy.delay(n, rng=rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 4, "no jitter"
    assert policy.delay(1, UpstreamUnavailable("429", retry_after=55), rng=rng) >= 55


def test_every_pool_retry_horizon_fits_the_visibility_timeout() -> None:
    settings = Settings(database_url="postgresql://x", redis_url="redis://x")
    for cfg in POOLS.values():
        assert cfg.time_limit + settings.max_countdown < settings.visibility_timeout
        assert cfg.soft_time_limit < cfg.time_limit
    assert {p.value for p in Pool} == {"crawl", "metadata", "download", "library_sync"}


def test_limit_parse() -> None:
    assert Limit.parse("100/60") == Limit(100, 60.0, 1)
    assert Limit.parse("20/1/5").tolerance_us == 4 * 50_000
    for bad in ("100", "0/1", "a/b", "1/2/3/4"):
        with pytest.raises(ValueError):
            Limit.parse(bad)


def test_rate_limited_is_transient_with_a_wait() -> None:
    exc = RateLimited("mam", 2.5)
    assert exc.retry_after == 2.5 and "mam" in str(exc)


def test_prod_refuses_placeholder_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMC_ENV", "prod")
    monkeypatch.setenv("MAMC_SECRET_KEY", "changeme")
    monkeypatch.setenv("MAMC_DATABASE_URL", "postgresql://db")
    monkeypatch.setenv("MAMC_REDIS_URL", "redis://r")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "MAMC_SECRET_KEY" in str(err.value) and "MAMC_FLOWER_PASSWORD" in str(err.value)


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMC_API_PORT", "http")
    monkeypatch.setenv("MAMC_RATE_LIMITS", '{"mam": "fast"}')
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "MAMC_API_PORT" in str(err.value) and "MAMC_RATE_LIMITS" in str(err.value)


def test_visibility_timeout_must_cover_countdowns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMC_VISIBILITY_TIMEOUT", "200")
    with pytest.raises(ConfigError, match="MAMC_VISIBILITY_TIMEOUT"):
        load_settings()
