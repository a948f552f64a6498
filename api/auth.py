"""Every ``/api/v1`` route needs a caller: an API key (machines) or a logged-in session (people).

A key is looked up by its SHA-256 hash, cached for a few seconds in-process so the hot path
costs no query, and each key is rate-limited through the same global Redis limiter the workers use.

A session is the ``mamc_session`` cookie (shared/people/sessions.py). It is looked up on every
request (not cached: a logout must end it on every gateway process at once), and because a
browser sends cookies on its own, an unsafe request (anything but GET/HEAD/OPTIONS) made with a
session must echo the session's CSRF token in ``X-CSRF-Token``: a page on another site cannot
read that token, so it cannot forge the header. A request that presents an API key is judged by
the key alone (a key is never sent by a browser on its own), so machines need no CSRF token.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis.exceptions
from fastapi import Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api.problems import Problem
from shared.infra.apikeys import hash_key
from shared.infra.db import session_scope
from shared.infra.settings import get_settings
from shared.models.jobs import ApiKey
from shared.people import sessions
from shared.people.sessions import Login

log = logging.getLogger(__name__)
_CACHE_SECONDS = 10.0
_cache: dict[str, tuple[float, int | None]] = {}


SESSION_COOKIE = "mamc_session"
CSRF_COOKIE = "mamc_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    """Who is asking: a key (``key_id``) or a person (``user_id``, ``name``); exactly one is set."""

    key_id: int | None = None
    user_id: int | None = None
    name: str | None = None
    csrf_token: str | None = None


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


async def _limit_wait(request: Request, bucket: str) -> float:
    """Seconds until this key's next slot; 0 when Redis is unreachable (fails open, logged).

    Why open: a job posted while Redis is down is still recorded in the ledger and published by
    the sweeper once Redis is back; refusing every request would lose that for a limit whose only
    job is to stop a runaway client.
    """
    try:
        async_limiter = getattr(request.app.state, "async_limiter", None)
        if async_limiter is not None:
            return float(await async_limiter.try_acquire(bucket))
        limiter = getattr(request.app.state, "limiter", None)
        return limiter.try_acquire(bucket) if limiter is not None else 0.0
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        log.warning("API rate limit not checked, Redis unreachable: %s", type(exc).__name__)
        return 0.0


async def check_rate(request: Request, bucket: str) -> None:
    wait = await _limit_wait(request, bucket)
    if wait > 0:
        raise Problem(429, "Too Many Requests", f"API rate limit reached; retry in {wait:.2f}s",
                      headers={"Retry-After": str(max(1, round(wait + 0.5)))}, retry_after=round(wait, 3))


def _session_lookup(token: str) -> Login | None:
    settings = get_settings()
    with session_scope() as s:
        return sessions.lookup(s, token, idle=timedelta(hours=settings.session_idle_hours),
                               max_age=timedelta(days=settings.session_max_days))


async def session_caller(request: Request) -> Caller | None:
    """The person behind the session cookie, or None when there is none or it ended."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    login = await run_in_threadpool(_session_lookup, token)
    if login is None:
        return None
    return Caller(user_id=login.user_id, name=login.name, csrf_token=login.csrf_token)


async def require_key(request: Request) -> Caller:
    """An API key, or else a session (with its CSRF token on unsafe methods); 401 without either.

    Async so a cached key costs no thread hop; a cache miss reads PostgreSQL in the threadpool.
    The limiter's one EVALSHA goes through the asyncio Redis client opened in the app's lifespan
    (the sync client is the fallback when the app runs without its lifespan).
    """
    key = presented_key(request)
    if not key:
        caller = await session_caller(request)
        if caller is None:
            raise Problem(401, "Unauthorized", "send an API key in X-Api-Key or Authorization: Bearer, or log in")
        assert caller.csrf_token is not None
        if request.method not in SAFE_METHODS and not sessions.csrf_matches(
                caller.csrf_token, request.headers.get(CSRF_HEADER)):
            raise Problem(403, "CSRF token missing or wrong",
                          f"a request made with a login session must send its token in {CSRF_HEADER} "
                          f"(from the {CSRF_COOKIE} cookie or GET /api/v1/auth/me)")
        await check_rate(request, f"api:u{caller.user_id}")
        request.state.user_id = caller.user_id
        return caller
    key_hash = hash_key(key)
    key_id = _cached(key_hash)
    if key_id is _MISS:
        key_id = await run_in_threadpool(_lookup, key_hash)
    if key_id is None:
        raise Problem(401, "Unauthorized", "unknown or revoked API key")
    assert isinstance(key_id, int)
    await check_rate(request, f"api:{key_id}")
    request.state.key_id = key_id
    return Caller(key_id=key_id)


def forget_cached_keys() -> None:
    """Drop this process's key cache (after a revoke here, the key stops working here at once)."""
    _cache.clear()
