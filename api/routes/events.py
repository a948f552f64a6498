"""``GET /api/v1/events``: server-sent events, so the web UI updates without polling.

Each event is one Redis pub/sub message (shared/engine/events.py), sent on as
``event: <kind>`` + ``data: <json>``: ``job`` (``id``, ``state``, ``type``, ``queue``) after a job's
state change is committed, ``pool`` (``pool``, ``paused``) after a pause or resume. An event
says what changed, not the whole object: the page reads the object again.

Best effort, by design: a browser's ``EventSource`` reconnects by itself (``retry:`` below) after
a gateway restart or a Redis outage ends the stream, and events sent meanwhile are not replayed,
so a page reloads its lists on every (re)connection (the ``hello`` event). A comment every 15 s
keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.exceptions
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from redis.asyncio import Redis as AsyncRedis

from shared.engine.events import CHANNEL
from shared.infra.settings import get_settings

log = logging.getLogger(__name__)
router = APIRouter(tags=["events"])
KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000

_DOC = {200: {"description": "a `text/event-stream`: `hello` on connection, then `job` and `pool` events",
              "content": {"text/event-stream": {"schema": {"type": "string"}}}}}


def frame(kind: str, data: dict[str, Any] | str) -> str:
    body = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"event: {kind}\ndata: {body}\n\n"


async def _stream(request: Request, client: AsyncRedis[bytes], own: bool) -> AsyncIterator[str]:
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(CHANNEL)
        yield f"retry: {RETRY_MS}\n" + frame("hello", {"channel": "events"})
        while not await request.is_disconnected():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=KEEPALIVE_SECONDS)
            if message is None:
                yield ": keep-alive\n\n"
                continue
            raw = message["data"]
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            try:
                kind = str(json.loads(text).get("kind", "message"))
            except (ValueError, AttributeError):
                continue
            yield frame(kind, text)
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        log.warning("event stream ended, Redis: %s (the browser reconnects)", type(exc).__name__)
    except asyncio.CancelledError:
        raise
    finally:
        try:
            await pubsub.aclose()  # type: ignore[attr-defined]  # types-redis predates aclose
        except (redis.exceptions.RedisError, OSError):
            pass  # the connection is already gone; nothing left to release
        if own:
            await client.aclose()  # type: ignore[attr-defined]


@router.get("/events", response_class=StreamingResponse, responses=_DOC)  # type: ignore[arg-type]
async def events(request: Request) -> StreamingResponse:
    """Live changes as server-sent events (see the module docstring); open it with ``EventSource``."""
    resources = getattr(request.app.state, "aio", None)
    own = resources is None
    client: AsyncRedis[bytes]
    if resources is not None:
        client = resources.redis
    else:
        url = get_settings().redis_url
        assert url is not None
        client = AsyncRedis.from_url(url)
    return StreamingResponse(_stream(request, client, own), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
