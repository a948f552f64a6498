"""The hand-built message (shared/engine/wire.py) matches what ``Celery.send_task`` puts in Redis.

Compared field by field against a real send_task into a real Redis, for the pinned Celery and
kombu: if an upgrade changes the protocol, this fails before any worker misreads a message.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import redis as redis_lib

from shared.engine.celery_app import make_celery
from shared.engine.wire import celery_message, queue_key
from shared.infra.settings import get_settings

VOLATILE_HEADERS = {"id", "root_id", "eta", "expires", "kwargsrepr", "origin", "mamc_published"}
VOLATILE_PROPS = {"correlation_id", "delivery_tag", "reply_to"}


def _sent_by_celery(redis_url: str, countdown: float | None, expires: float | None) -> dict[str, Any]:
    app = make_celery(get_settings())
    kwargs = {"job_id": "j", "gen": 1, "seq": 1}
    app.send_task("probe", kwargs=kwargs, task_id="j.1.1", queue="crawl", countdown=countdown, expires=expires,
                  time_limit=300, soft_time_limit=240, retry=False, headers={"mamc_published": 1.0})
    raw = redis_lib.Redis.from_url(redis_url).rpop("crawl")
    assert raw is not None
    return dict(json.loads(raw))


def _ours(countdown: float | None, expires: float | None) -> dict[str, Any]:
    raw = celery_message(task="probe", task_id="j.1.1", queue="crawl", kwargs={"job_id": "j", "gen": 1, "seq": 1},
                         time_limit=300, soft_time_limit=240, countdown=countdown, expires=expires)
    return dict(json.loads(raw))


def test_hand_built_message_matches_send_task(settings_env: dict[str, str], redis_url: str) -> None:
    for countdown, expires in ((None, None), (3.0, 60.0)):
        theirs, ours = _sent_by_celery(redis_url, countdown, expires), _ours(countdown, expires)
        assert theirs.keys() == ours.keys()
        for field in ("content-encoding", "content-type"):
            assert theirs[field] == ours[field]
        assert theirs["headers"].keys() == ours["headers"].keys()
        for name, value in theirs["headers"].items():
            if name not in VOLATILE_HEADERS:
                assert ours["headers"][name] == value, name
        assert (theirs["headers"]["eta"] is None) == (ours["headers"]["eta"] is None)
        assert (theirs["headers"]["expires"] is None) == (ours["headers"]["expires"] is None)
        assert ours["headers"]["id"] == ours["headers"]["root_id"] == ours["properties"]["correlation_id"] == "j.1.1"
        assert theirs["properties"].keys() == ours["properties"].keys()
        for name, value in theirs["properties"].items():
            if name not in VOLATILE_PROPS:
                assert ours["properties"][name] == value, name
        assert json.loads(base64.b64decode(theirs["body"])) == json.loads(base64.b64decode(ours["body"]))
    assert queue_key("crawl") == "crawl"
