"""Every ``/api/v1`` route needs a key (shared/apikeys.py mints them).

A key is looked up by its SHA-256 hash, cached for a few seconds in-process so the hot path
costs no query, and each key is rate-limited through the same global Redis limiter the workers use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api.problems import Problem
from shared.apikeys import hash_key
from shared.db import session_scope
from shared.models.jobs import ApiKey

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


async def require_key(request: Request) -> Caller:
    """Async so a cached key costs no thread hop; a cache miss reads PostgreSQL in the threadpool.

    The limiter's one EVALSHA runs inline: a sub-millisecond call to a local Redis is cheaper
    than the thread hop it would take to move it off the loop.
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
    limiter = getattr(request.app.state, "limiter", None)
    if limiter is not None:
        wait = limiter.try_acquire(f"api:{key_id}")
        if wait > 0:
            raise Problem(429, "Too Many Requests", f"API rate limit reached; retry in {wait:.2f}s",
                          headers={"Retry-After": str(max(1, round(wait + 0.5)))}, retry_after=round(wait, 3))
    request.state.key_id = key_id
    return Caller(key_id)
