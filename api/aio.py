"""The gateway's asyncio resources: a psycopg connection pool and an asyncio Redis client.

Why: the hot routes (``POST /api/v1/jobs`` and the per-key limiter) run on the event loop, so
they need clients that do not block it; everything else still uses the per-process SQLAlchemy
engine from a threadpool. Opened in the app's lifespan (after uvicorn forks its workers),
closed at shutdown; the pool opens lazily so the gateway starts even while PostgreSQL is down
and ``/readyz`` can say so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy.engine import make_url

from shared.infra.settings import Settings


@dataclass
class AsyncResources:
    pg: AsyncConnectionPool[Any]
    redis: AsyncRedis[bytes]


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://...`` → ``postgresql://...`` (what libpq accepts)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def open_resources(settings: Settings) -> AsyncResources:
    assert settings.database_url and settings.redis_url
    pg: AsyncConnectionPool[Any] = AsyncConnectionPool(
        libpq_url(settings.database_url), min_size=4, max_size=10, open=False, timeout=2.0,
        kwargs={"application_name": "mamc:api-async", "connect_timeout": 5},
        # One cheap round trip per checkout, like SQLAlchemy's pre-ping: after a PostgreSQL
        # restart no request is handed a dead connection.
        check=AsyncConnectionPool.check_connection,
    )
    redis = AsyncRedis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=3,
                                health_check_interval=15)
    return AsyncResources(pg, redis)


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[AsyncResources]:
    res = open_resources(settings)
    await res.pg.open(wait=False)
    try:
        yield res
    finally:
        await res.pg.close()
        await res.redis.aclose()  # type: ignore[attr-defined]  # types-redis predates aclose
