"""Notifications through Apprise to a local sink: Apprise's ``json://`` posting to an HTTP server on
loopback, sent by a real download-pool worker.

- An enabled event reaches the sink with its title and body; a switched-off kind queues nothing.
- The sink failing makes the job retry (not fail the cause), and it is delivered once the sink is back.
- Consecutive account snapshots notify the onset of "unsatisfied near the limit", once.
- The MAM session turning invalid notifies once per cookie.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from shared.crawl import session as mam_state
from shared.crawl.torrent import AccountSnapshot
from shared.infra.clock import utcnow
from shared.infra.db import session_scope
from shared.models.jobs import Job
from shared.notify.account import notify_account
from shared.notify.events import EventKind, notify
from tests.fixtures.sinks import Sink
from tests.integration.stack import Stack, wait_for, wait_state

pytestmark = pytest.mark.slow


@pytest.fixture
def notifying(stack: Stack, sink: Sink, monkeypatch: pytest.MonkeyPatch) -> Stack:
    env = {"MAMC_NOTIFY_URLS": sink.url, "MAMC_NOTIFY_DISABLED": "vip_expiring"}
    stack.env.update(env)
    for name, value in env.items():  # this process queues the events: it reads the same settings
        monkeypatch.setenv(name, value)
    from shared.infra.settings import get_settings

    get_settings.cache_clear()
    stack.worker("download", concurrency=1)
    return stack


def _jobs() -> list[Job]:
    with session_scope() as s:
        return list(s.scalars(select(Job).where(Job.type == "notify.send").order_by(Job.created_at)))


def test_events_reach_the_sink_switched_off_kinds_do_not_and_failures_retry(notifying: Stack, sink: Sink) -> None:
    with session_scope() as s:
        assert notify(s, EventKind.GRABBED, "Grabbed: The Glass Orchard", "torrent 400001, free")
        assert not notify(s, EventKind.VIP_EXPIRING, "VIP", "ends soon")
    (sent,) = _jobs()
    assert wait_state(sent.id, ("succeeded", "failed", "dead"), 60).state == "succeeded"
    received = [(m["title"], m["message"]) for m in sink.received]
    assert received == [("Grabbed: The Glass Orchard", "torrent 400001, free")]

    sink.failing = True
    with session_scope() as s:
        notify(s, EventKind.DOWNLOAD_STALLED, "Stalled: X", "no progress for 30 min")
    stalled = _jobs()[-1]
    wait_for(lambda: wait_state(stalled.id, ("retrying", "failed", "dead", "succeeded"), 60).state == "retrying",
             60, what="a retry after the sink failed")
    sink.failing = False
    done = wait_state(stalled.id, ("succeeded", "failed", "dead"), 180)
    assert done.state == "succeeded" and done.attempts >= 2
    assert sink.received[-1]["title"] == "Stalled: X"


def _snapshot(unsat: int, points: float = 1000.0) -> AccountSnapshot:
    return AccountSnapshot(uid=1, username="u", classname="VIP", ratio=2.0, uploaded_bytes=2, downloaded_bytes=1,
                           seedbonus=points, wedges=1, vip_until=utcnow() + timedelta(days=2), unsat_count=unsat,
                           unsat_limit=100)


def test_account_onsets_and_an_invalid_session_notify_once(notifying: Stack, sink: Sink) -> None:
    now = utcnow()
    with session_scope() as s:
        assert notify_account(s, None, _snapshot(50), now) == 0  # VIP ending is switched off
        assert notify_account(s, _snapshot(50), _snapshot(92, points=96_000), now) == 2
        assert notify_account(s, _snapshot(92, points=96_000), _snapshot(93, points=97_000), now) == 0
    with session_scope() as s:
        mam_state.enter_cookie(s, "cookie-value-for-the-notify-test")
    with session_scope() as s:
        cookie = mam_state.current_cookie(s)
        assert cookie is not None
        assert mam_state.mark_invalid(s, cookie.epoch, cookie.value, "MAM: HTTP 403 on GET /jsonLoad.php")
        assert mam_state.mark_invalid(s, cookie.epoch, cookie.value, "MAM: HTTP 403 again")
    jobs = _jobs()
    assert sorted(j.args["kind"] for j in jobs) == ["mam_session_invalid", "points_near_cap", "unsat_near_limit"]
    for j in jobs:
        assert wait_state(j.id, ("succeeded", "failed", "dead"), 60).state == "succeeded"
    titles = sorted(m["title"] for m in sink.received)
    assert titles == ["MAM session invalid: every MAM job is waiting", "MAM: bonus points near the cap",
                      "MAM: unsatisfied torrents near the limit"]
    assert all("cookie-value-for-the-notify-test" not in json.dumps(m) for m in sink.received)
