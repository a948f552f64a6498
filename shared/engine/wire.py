"""A ledgered job's Celery message, exactly as kombu's Redis transport stores it in a queue list.

Why build it by hand: ``Celery.send_task`` costs about a millisecond of CPU per message
(producer pool, routing, declare cache, two serialisations) and it is on the gateway's hot path
and every redispatch. Our messages are all alike (task name, three kwargs, a time limit, maybe
an ETA and an expiry) and go to a queue bound to the default direct exchange, where kombu's
Redis transport does nothing but ``LPUSH <queue> <json>``; so one ``orjson.dumps`` and the same
``LPUSH`` do the same. ``tests/integration/test_wire.py`` keeps this in step with what ``send_task``
produces for the pinned Celery/kombu versions, and every integration test consumes these
messages with real workers.
"""

from __future__ import annotations

import base64
import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson


def _origin() -> str:
    return f"gen{os.getpid()}@{socket.gethostname()}"


def celery_message(
    *,
    task: str,
    task_id: str,
    queue: str,
    kwargs: dict[str, Any],
    time_limit: float | None,
    soft_time_limit: float | None,
    countdown: float | None = None,
    expires: float | None = None,
) -> bytes:
    """Celery protocol 2 (headers carry the task meta, the body is ``[args, kwargs, embed]``)."""
    now = datetime.now(UTC)
    eta = (now + timedelta(seconds=countdown)).isoformat() if countdown and countdown > 0 else None
    expires_at = (now + timedelta(seconds=expires)).isoformat() if expires else None
    body = orjson.dumps([[], kwargs, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}])
    headers: dict[str, Any] = {
        "lang": "py",
        "task": task,
        "id": task_id,
        "shadow": None,
        "eta": eta,
        "expires": expires_at,
        "group": None,
        "group_index": None,
        "retries": 0,
        "timelimit": [time_limit, soft_time_limit],
        "root_id": task_id,
        "parent_id": None,
        "argsrepr": "()",
        "kwargsrepr": repr(kwargs),
        "origin": _origin(),
        "ignore_result": None,
        "replaced_task_nesting": 0,
        "stamped_headers": None,
        "stamps": {},
        "mamc_published": time.time(),
    }
    properties: dict[str, Any] = {
        "correlation_id": task_id,
        "reply_to": None,
        "delivery_mode": 2,
        "delivery_info": {"exchange": "", "routing_key": queue},
        "priority": 0,
        "body_encoding": "base64",
        "delivery_tag": str(uuid.uuid4()),
    }
    if expires:
        properties["expiration"] = str(int(expires * 1000))
    return orjson.dumps({
        "body": base64.b64encode(body).decode("ascii"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": properties,
    })


def queue_key(queue: str) -> str:
    """The Redis list a message for ``queue`` at the default priority is pushed to."""
    return queue
