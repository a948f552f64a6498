"""The gateway: validates, authorises, writes intent, enqueues after commit, reads PostgreSQL.

It never imports ``workers/`` and never calls MAM, ABS, qBittorrent or a provider during a
request; anything that talks to the outside world is a job.
"""

from __future__ import annotations

import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import aio, problems, ui
from api.auth import require_key
from api.routes import apikeys, auth, events, health, jobs, pools
from shared.engine.ratelimit import AsyncRateLimiter, Limit, RateLimiter
from shared.infra.redis_client import get_redis
from shared.infra.settings import get_settings

log = logging.getLogger("mamcrawler.api")


def _freeze_startup_objects() -> None:
    """Move everything alive after start-up (routes, schemas, SQLAlchemy's metadata, the imported
    modules) out of the garbage collector's reach. Those objects live as long as the process, yet
    every full collection walked them all: under the engine benchmark's 200 requests a second one
    took 137-149 ms in each gateway process, stalling every request in flight (``bench/engine.py``;
    after the freeze the longest collection seen was 5 ms)."""
    gc.collect()
    gc.freeze()


def create_app() -> FastAPI:
    settings = get_settings()
    # login: per client address, a brake on password guessing (each guess also costs an argon2 hash)
    limits = {**settings.limits(), "api": Limit.parse(settings.api_rate_limit), "login": Limit.parse("10/60/5")}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with aio.resources(settings) as resources:
            app.state.aio = resources
            app.state.async_limiter = AsyncRateLimiter(resources.redis, limits)
            _freeze_startup_objects()
            yield

    app = FastAPI(title="MAMcrawler", version="0.1.0", docs_url="/api/docs", openapi_url="/api/openapi.json",
                  lifespan=lifespan)
    problems.install(app)
    app.state.limiter = RateLimiter(get_redis(), limits)  # for code off the event loop, and before start-up

    app.add_middleware(RequestIdMiddleware)
    app.include_router(health.router)
    app.include_router(auth.public)  # login and logout: the only /api/v1 routes open without a caller
    v1 = APIRouter(prefix="/api/v1", dependencies=[Depends(require_key)])
    v1.include_router(jobs.router)
    v1.include_router(pools.router)
    v1.include_router(auth.router)
    v1.include_router(apikeys.router)
    v1.include_router(events.router)
    for extra in _feature_routers():
        v1.include_router(extra)
    app.include_router(v1)
    ui.install(app, settings.ui_dir)
    return app


class RequestIdMiddleware:
    """Give every request an id (or keep the caller's), echo it, and log one line per request.

    Plain ASGI rather than BaseHTTPMiddleware: it sits on every request's path, and the
    gateway's latency budget is a few milliseconds.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                rid = value.decode("latin-1")[:64]
        rid = rid or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        start = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", rid.encode("latin-1")))
            await send(message)

        await self.app(scope, receive, send_with_id)
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s %s %.1fms rid=%s", scope["method"], scope["path"], status,
                     (time.perf_counter() - start) * 1000, rid)


def _feature_routers() -> list[APIRouter]:
    """Routers of the feature areas (library, metadata...)."""
    from api.routes import (
        account,
        alerts,
        connections,
        downloads,
        governor,
        imports,
        library,
        metadata,
        notifications,
        quality_profile,
        searches,
        settings,
        wanted,
    )

    # notifications before connections: ``/settings/notifications/test`` is not ``/settings/{service}/test``
    return [library.router, settings.router, quality_profile.router, notifications.router, connections.router,
            wanted.router, searches.router, metadata.router, account.router, alerts.router, downloads.router,
            governor.router, imports.router]
