"""``/api/v1/settings/notifications`` through the real gateway, and a real download worker sending
with what was stored (Apprise's ``json://`` to a sink on loopback).

- GET shows the environment's settings until a PUT overrides them; every override is visible with
  its source; DELETE goes back to the environment.
- The URLs are write-only: stored encrypted, shown as a count and schemes only, never in an answer,
  a log line or the database's plain text; a URL Apprise cannot use is a 422 that names its position.
- What is stored is what the events use: a kind switched off queues nothing, a threshold moves the
  account notification, the worker delivers to the stored URL.
- "Send a test" is a ``notify.send`` job; its result says whether it arrived, and a failure is its
  result (not a retry); without any URL it is a 409.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shared.crawl.torrent import AccountSnapshot
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.notify.account import notify_account
from shared.notify.events import EventKind, notify
from tests.fixtures.sinks import Sink
from tests.integration.stack import Stack, api_headers, wait_for, wait_state

pytestmark = pytest.mark.slow
PATH = "/api/v1/settings/notifications"
HOOK_SECRET = "hook-3d1e0c9b7a"


@pytest.fixture
def api(stack: Stack, api_key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, Any]]]:
    env = {"MAMC_NOTIFY_DISABLED": "vip_expiring", "MAMC_NOTIFY_UNSAT_HEADROOM": "10", "MAMC_LOG_LEVEL": "DEBUG"}
    stack.env.update(env)
    for name, value in env.items():  # this process raises events too: it reads the same settings
        monkeypatch.setenv(name, value)
    from shared.infra.settings import get_settings

    get_settings.cache_clear()
    stack.worker("download", concurrency=1)
    _, base = stack.api()
    yield base, api_headers(api_key)


def _call(api: tuple[str, dict[str, Any]], method: str, path: str = PATH, **kwargs: Any) -> httpx.Response:
    base, headers = api
    return httpx.request(method, base + path, headers=headers, timeout=30, **kwargs)


def _ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    assert HOOK_SECRET not in r.text
    body: dict[str, Any] = r.json()
    return body


def _snapshot(unsat: int) -> AccountSnapshot:
    return AccountSnapshot(uid=1, username="u", classname="VIP", ratio=2.0, uploaded_bytes=2, downloaded_bytes=1,
                           seedbonus=10.0, wedges=1, vip_until=None, unsat_count=unsat, unsat_limit=100)


def test_notification_settings_round_trip_and_the_worker_uses_them(
        api: tuple[str, dict[str, Any]], sink: Sink, stack: Stack) -> None:
    port = sink.server.server_address[1]
    url = f"json://127.0.0.1:{port}/{HOOK_SECRET}"

    first = _ok(_call(api, "GET"))
    assert first["urls"] == {"count": 0, "schemes": [], "source": "unset"}
    assert first["disabled"] == ["vip_expiring"] and first["unsat_headroom"] == 10
    assert set(first["kinds"]) == {k.value for k in EventKind}
    assert first["sources"] == dict.fromkeys(("disabled", "unsat_headroom", "vip_days", "points_near"), "environment")
    assert first["source"] == "default"
    assert _call(api, "POST", PATH + "/test").status_code == 409  # nowhere to send it

    # -- bad bodies: 422 naming the field, never echoing a URL; nothing stored --------------------------
    bad: list[tuple[dict[str, Any], list[Any]]] = [
        ({"urls": [f"nonsense-{HOOK_SECRET}"]}, ["body", "urls"]),
        ({"urls": []}, ["body", "urls"]),
        ({"disabled": ["nope"]}, ["body", "disabled", 0]),
        ({"unsat_headroom": -1}, ["body", "unsat_headroom"]),
        ({"vip_days": "soon"}, ["body", "vip_days"]),
        ({"webhook": url}, ["body", "webhook"]),
    ]
    for body, loc in bad:
        r = _call(api, "PUT", json=body)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), body
        assert [e["loc"] for e in r.json()["errors"]] == [loc], (body, r.text)
        assert HOOK_SECRET not in r.text
    r = _call(api, "PUT", json={"urls": [url, f"nonsense-{HOOK_SECRET}"]})
    assert "number 2" in r.json()["errors"][0]["msg"]
    assert _ok(_call(api, "GET"))["source"] == "default"

    # -- a PUT stores overrides and the URL (encrypted); the answer shows its scheme only --------------
    saved = _ok(_call(api, "PUT", json={"urls": [url], "disabled": ["grabbed"], "unsat_headroom": 3}))
    assert saved["urls"] == {"count": 1, "schemes": ["json://…"], "source": "stored"}
    assert saved["disabled"] == ["grabbed"] and saved["unsat_headroom"] == 3 and saved["vip_days"] == 7.0
    assert saved["sources"] == {"disabled": "stored", "unsat_headroom": "stored", "vip_days": "environment",
                                "points_near": "environment"}
    with session_scope() as s:
        blobs = s.execute(text("SELECT ciphertext FROM stored_secrets WHERE name = 'notify_urls'")).scalars().all()
        plain = s.execute(text("SELECT value::text FROM app_settings")).scalars().all()
    assert len(blobs) == 1 and HOOK_SECRET.encode() not in bytes(blobs[0])
    assert not any(HOOK_SECRET in v for v in plain)
    # a PUT without urls keeps the stored ones (write-only: there is nothing to send back)
    kept = _ok(_call(api, "PUT", json={"disabled": ["grabbed"], "unsat_headroom": 3}))
    assert kept["urls"]["source"] == "stored"

    # -- the events use what was stored ------------------------------------------------------------------
    now = utcnow()
    with session_scope() as s:
        assert not notify(s, EventKind.GRABBED, "Grabbed: X", "switched off through the API")
        assert notify(s, EventKind.VIP_EXPIRING, "VIP", "on again: the stored switches replace the environment's")
        # headroom 3: 96 of 100 is not near the limit, 97 is
        assert notify_account(s, None, _snapshot(96), now) == 0
        assert notify_account(s, _snapshot(96), _snapshot(97), now) == 1
    wait_for(lambda: len(sink.received) == 2, 60, 0.2, what="two notifications delivered by the worker")
    assert sorted(m["title"] for m in sink.received) == ["MAM: unsatisfied torrents near the limit", "VIP"]

    # -- send a test: a job whose result says it arrived; a failure is its result, not a retry ----------
    r = _call(api, "POST", PATH + "/test")
    assert r.status_code == 202 and r.json()["type"] == "notify.send", r.text
    job = r.json()
    done = wait_state(job["id"], ("succeeded", "failed", "dead"), 60)
    assert done.state == "succeeded" and done.result["sent"] is True
    assert sink.received[-1]["title"] == "MAMcrawler: test notification"
    sink.failing = True
    job = _call(api, "POST", PATH + "/test").json()
    done = wait_state(job["id"], ("succeeded", "failed", "dead"), 60)
    assert done.state == "succeeded" and done.attempts == 1, done.error
    assert done.result["sent"] is False and "could not deliver" in done.result["why"]
    sink.failing = False

    # -- forgetting: the URLs, then everything --------------------------------------------------------
    cleared = _ok(_call(api, "DELETE", PATH + "/urls"))
    assert cleared["urls"] == {"count": 0, "schemes": [], "source": "unset"} and cleared["unsat_headroom"] == 3
    assert _call(api, "POST", PATH + "/test").status_code == 409
    reset = _ok(_call(api, "DELETE"))
    assert reset["source"] == "default" and reset["disabled"] == ["vip_expiring"] and reset["unsat_headroom"] == 10
    assert _call(api, "DELETE").status_code == 200  # idempotent
    assert httpx.get(api[0] + PATH, timeout=30).status_code == 401

    # -- the URL's token never reached a log -----------------------------------------------------------
    for log in Path(stack.workdir).glob("*.log"):
        assert HOOK_SECRET not in log.read_text(errors="replace"), log.name
