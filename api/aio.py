"""The gateway's asyncio resources: a psycopg connection pool and an asyncio Redis client.

Why: the hot routes (``POST /api/v1/jobs`` and the per-key limiter) run on the event loop, so
they need clients that do not block it; everything else still uses the per-process SQLAlchemy
engine from a threadpool. Opened in the app's lifespan (after uvicorn forks its workers),
closed at shutdown; the pool opens lazily so the gateway starts even while PostgreSQL is down
and ``/readyz`` can say so.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy.engine import make_url

from shared.infra.db import PING_AFTER_IDLE
from shared.infra.settings import Settings


@dataclass
class AsyncResources:
    pg: AsyncConnectionPool[Any]
    redis: AsyncRedis[bytes]
    recency: RecentUse


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://...`` → ``postgresql://...`` (what libpq accepts)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class RecentUse:
    """The pool's checkout check, made only for a connection that has been idle a while.

    A checkout check is one round trip (like SQLAlchemy's pre-ping), so that after a PostgreSQL
    restart no request is handed a dead connection. Under load a connection comes back to the pool
    and goes out again within milliseconds, and the round trip was ~8 % of the gateway's CPU per
    ``POST /api/v1/jobs`` (``bench/api_profile.py``) plus a PostgreSQL round trip for nothing. A
    connection returned less than ``recent_s`` ago (the workers' window, ``PING_AFTER_IDLE``) goes
    out unchecked. One that died in that moment (a restart within it) fails its statement; the
    caller then calls :meth:`forget`, so every connection is checked again at its next checkout,
    and asks again (``api/enqueue.py``).
    """

    def __init__(self, recent_s: float = PING_AFTER_IDLE) -> None:
        self.recent_s = recent_s
        self._returned: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()

    async def returned(self, conn: AsyncConnection[Any]) -> None:
        """The pool's ``reset`` hook: called as each connection comes back, in the idle state."""
        self._returned[conn] = time.monotonic()

    def forget(self) -> None:
        """A pooled connection was found dead: trust none returned before now."""
        self._returned.clear()

    async def check(self, conn: AsyncConnection[Any]) -> None:
        at = self._returned.pop(conn, None)
        if at is None or time.monotonic() - at >= self.recent_s:
            await AsyncConnectionPool.check_connection(conn)


def open_resources(settings: Settings) -> AsyncResources:
    assert settings.database_url and settings.redis_url
    recency = RecentUse()
    # Autocommit: the pool's one user is the hot path's INSERT, a single statement, atomic by itself.
    # In a transaction it cost BEGIN and COMMIT round trips besides (7-10 % of the gateway's CPU
    # per POST /api/v1/jobs, bench/api_profile.py, and two commands more for PostgreSQL).
    pg: AsyncConnectionPool[Any] = AsyncConnectionPool(
        libpq_url(settings.database_url), min_size=4, max_size=10, open=False, timeout=2.0,
        kwargs={"application_name": "mamc:api-async", "connect_timeout": 5, "autocommit": True},
        check=recency.check, reset=recency.returned,
    )
    redis = AsyncRedis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=3,
                                health_check_interval=15)
    return AsyncResources(pg, redis, recency)


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[AsyncResources]:
    res = open_resources(settings)
    await res.pg.open(wait=False)
    try:
        yield res
    finally:
        await res.pg.close()
        await res.redis.aclose()  # type: ignore[attr-defined]  # types-redis predates aclose
