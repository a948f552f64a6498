"""Every ``/api/v1`` route needs a key (shared/infra/apikeys.py mints them).

A key is looked up by its SHA-256 hash, cached for a few seconds in-process so the hot path
costs no query, and each key is rate-limited through the same global Redis limiter the workers use.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import redis.exceptions
from fastapi import Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api.problems import Problem
from shared.infra.apikeys import hash_key
from shared.infra.db import session_scope
from shared.models.jobs import ApiKey

log = logging.getLogger(__name__)
_CACHE_SECONDS = 10.0
_cache: dict[str, tuple[float, int | None]] = {}


@dataclass(frozen=True)
class Caller:
    key_id: int


_MISS: Any = object()


def _cached(key_hash: str) -> Any:
    hit = _cache.get(key_hash)
    if hit and time.monotonic() - hit[0] < _CACHE_SECONDS:
        return hit[1]
    return _MISS


def _lookup(key_hash: str) -> int | None:
    now = time.monotonic()
    with session_scope() as s:
        key_id = s.scalar(select(ApiKey.id).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None)))
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[key_hash] = (now, key_id)
    return key_id


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def _limit_wait(request: Request, key_id: int) -> float:
    """Seconds until this key's next slot; 0 when Redis is unreachable (fails open, logged).

    Why open: a job posted while Redis is down is still recorded in the ledger and published by
    the sweeper once Redis is back; refusing every request would lose that for a limit whose only
    job is to stop a runaway client.
    """
    try:
        async_limiter = getattr(request.app.state, "async_limiter", None)
        if async_limiter is not None:
            return float(await async_limiter.try_acquire(f"api:{key_id}"))
        limiter = getattr(request.app.state, "limiter", None)
        return limiter.try_acquire(f"api:{key_id}") if limiter is not None else 0.0
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        log.warning("API rate limit not checked, Redis unreachable: %s", type(exc).__name__)
        return 0.0


async def require_key(request: Request) -> Caller:
    """Async so a cached key costs no thread hop; a cache miss reads PostgreSQL in the threadpool.

    The limiter's one EVALSHA goes through the asyncio Redis client opened in the app's lifespan
    (the sync client is the fallback when the app runs without its lifespan).
    """
    key = presented_key(request)
    if not key:
        raise Problem(401, "Unauthorized", "send an API key in X-Api-Key or Authorization: Bearer")
    key_hash = hash_key(key)
    key_id = _cached(key_hash)
    if key_id is _MISS:
        key_id = await run_in_threadpool(_lookup, key_hash)
    if key_id is None:
        raise Problem(401, "Unauthorized", "unknown or revoked API key")
    assert isinstance(key_id, int)
    wait = await _limit_wait(request, key_id)
    if wait > 0:
        raise Problem(429, "Too Many Requests", f"API rate limit reached; retry in {wait:.2f}s",
                      headers={"Retry-After": str(max(1, round(wait + 0.5)))}, retry_after=round(wait, 3))
    request.state.key_id = key_id
    return Caller(key_id)
