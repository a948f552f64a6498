"""The four pools, each sized and retried for the outside world it owns.

Everything a reader needs to judge a pool's behaviour is in this one table: how many tasks run
at once, how many messages a process may hold, how long a task may run, which errors are
retried and how fast the retries back off. Which outside services a job throttles on is part of
the job's declaration (``JobType.throttle``), not the pool's. The start-up check in workers/registry.py proves these
numbers fit under the broker's visibility timeout.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from enum import StrEnum

import httpx
import psycopg
import redis.exceptions
import sqlalchemy.exc

from shared.infra.errors import PermanentError, TransientError


class Pool(StrEnum):
    CRAWL = "crawl"
    METADATA = "metadata"
    DOWNLOAD = "download"
    LIBRARY_SYNC = "library_sync"


QUEUES: tuple[str, ...] = tuple(p.value for p in Pool)

# Errors every pool treats as transient, whatever raised them: the network failed, not the request.
# Our own Redis and PostgreSQL count too: a restart of either (Redis answering LOADING while it
# reads its AOF, a dropped database connection) must cost a retry, never a final failure.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    ConnectionError,
    TimeoutError,
    redis.exceptions.ConnectionError,  # includes BusyLoadingError
    redis.exceptions.TimeoutError,
    sqlalchemy.exc.OperationalError,
    psycopg.OperationalError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter (uniform over the upper half of the step), capped, for a
    fixed number of retries. Half-range rather than full jitter keeps a minimum spacing while
    still spreading a thundering herd.

    ``transient`` errors retry; everything else (``PermanentError``, validation errors, bugs) is
    final on first sight, because repeating a 404 or a bad argument only burns the outside
    service's patience. A server's Retry-After is honoured as a lower bound.
    """

    base: float
    cap: float
    max_retries: int
    transient: tuple[type[BaseException], ...] = NETWORK_ERRORS
    permanent: tuple[type[BaseException], ...] = (PermanentError,)

    def is_transient(self, exc: BaseException) -> bool:
        if isinstance(exc, self.permanent):
            return False
        return isinstance(exc, self.transient)

    def delay(self, retry_number: int, exc: BaseException | None = None, rng: random.Random | None = None) -> float:
        """Seconds before retry ``retry_number`` (1-based): drawn uniformly from the upper half of an
        exponential ceiling (half-range jitter, see the class docstring)."""
        ceiling = min(self.cap, self.base * (2 ** (retry_number - 1)))
        delay = (rng or random).uniform(ceiling / 2, ceiling)
        hint = getattr(exc, "retry_after", None)
        if isinstance(hint, int | float) and hint > delay:
            delay = min(float(hint), self.cap * 4)
        return delay

    def horizon(self) -> float:
        """Worst-case seconds from the first failure to the last retry (all delays at their ceiling)."""
        return float(sum(min(self.cap, self.base * 2.0 ** (n - 1)) for n in range(1, self.max_retries + 1)))


@dataclass(frozen=True)
class PoolConfig:
    pool: Pool
    concurrency: int
    prefetch_multiplier: int
    soft_time_limit: int
    time_limit: int
    retry: RetryPolicy

    @property
    def queue(self) -> str:
        return self.pool.value


POOLS: dict[Pool, PoolConfig] = {
    # MAM: one account, touchy about bursts. Few processes, long patience, few retries: a tracker
    # that is down is not helped by hammering it.
    Pool.CRAWL: PoolConfig(
        Pool.CRAWL, concurrency=2, prefetch_multiplier=1, soft_time_limit=240, time_limit=300,
        retry=RetryPolicy(base=60, cap=1800, max_retries=5),
    ),
    # Metadata providers: many small calls, each provider with its own limit; outages are common
    # and short, so retry often (10 s doubling: ~10.5 min of retries in all, each step under the cap).
    Pool.METADATA: PoolConfig(
        Pool.METADATA, concurrency=4, prefetch_multiplier=1, soft_time_limit=540, time_limit=600,
        retry=RetryPolicy(base=10, cap=900, max_retries=6),
    ),
    # qBittorrent is local: failures are a restarting daemon, seconds not hours.
    Pool.DOWNLOAD: PoolConfig(
        Pool.DOWNLOAD, concurrency=2, prefetch_multiplier=1, soft_time_limit=540, time_limit=600,
        retry=RetryPolicy(base=5, cap=120, max_retries=8),
    ),
    # Audiobookshelf is local too, but a big library page can take a while.
    Pool.LIBRARY_SYNC: PoolConfig(
        Pool.LIBRARY_SYNC, concurrency=2, prefetch_multiplier=1, soft_time_limit=1700, time_limit=1800,
        retry=RetryPolicy(base=5, cap=300, max_retries=5),
    ),
}


def pool_config(pool: str | Pool) -> PoolConfig:
    """The pool's table entry with the operator's overrides (MAMC_CONCURRENCY, MAMC_RETRY_POLICIES)."""
    from shared.infra.settings import get_settings

    cfg = POOLS[Pool(pool)]
    settings = get_settings()
    if cfg.pool.value in settings.concurrency:
        cfg = replace(cfg, concurrency=int(settings.concurrency[cfg.pool.value]))
    if cfg.pool.value in settings.retry_policies:
        base, cap, retries = settings.retry_policies[cfg.pool.value].split("/")
        cfg = replace(cfg, retry=replace(cfg.retry, base=float(base), cap=float(cap), max_retries=int(retries)))
    return cfg


def all_pool_configs() -> list[PoolConfig]:
    return [pool_config(p) for p in Pool]
