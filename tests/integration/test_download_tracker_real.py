"""Seeding credit follows the real tracker: opentracker killed mid-seeding, then started again.

Real parts: the swarm's opentracker and the project's qbittorrent-nox 4.5.2 (``tests/fixtures/swarm.py``),
the monitor's and ``download.trackers``'s job bodies with the pool's own client (``QbitClient`` on
qbittorrent-api), PostgreSQL and Redis; the monitor's clock is injected (a cycle a minute), qBittorrent's is real.

What it shows on the real daemon: after opentracker dies, qBittorrent's next announce fails and its
tracker list says so (status 4, "Connection refused"), while ``sync/maindata``'s ``tracker`` field still
names the tracker. The credit stops at the first check that sees it, the obligation is at risk after
the grace, and the credit resumes once the tracker answers again.

qBittorrent only announces every ~30 min (opentracker's interval, whose 15 min minimum also defers a
forced re-announce), so the test stops and starts the torrent to make the next announce happen now;
the monitor's cycles run only once it seeds again. After a failure libtorrent retries within about a
minute, so the recovery needs no help.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import qbittorrentapi
from sqlalchemy import select

from shared.download.states import SEEDING_STATES, ObligationState
from shared.engine.jobtypes import NoArgs
from shared.engine.ratelimit import RateLimiter
from shared.infra.alerts import open_alert
from shared.infra.clock import ManualClock, use_clock, utcnow
from shared.infra.db import session_scope
from shared.infra.redis_client import get_redis
from shared.infra.settings import get_settings
from shared.models.download import Download, Obligation
from tests.fixtures.swarm import Swarm, api_client
from tests.fixtures.swarm_procs import QbitDaemon
from tests.integration.conftest import reset_singletons
from workers.context import JobContext
from workers.download import monitor, trackers
from workers.download.cycle import MonitorMemory

pytestmark = pytest.mark.slow
CYCLE = 60


def _wait(what: str, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout}s")


def _tracker_status(api: qbittorrentapi.Client, info_hash: str) -> int | None:
    rows = [t for t in api.torrents_trackers(torrent_hash=info_hash) if str(t.url).startswith("http")]
    return int(rows[0].status) if rows else None


@pytest.fixture
def category(swarm: Swarm, qbit_ours: QbitDaemon, settings_env: dict[str, str],
             monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The monitor pointed at *ours*, following a category of its own (the daemon is the session's)."""
    name = f"mamc-trk-{uuid.uuid4().hex[:8]}"
    for key, value in {"MAMC_QBIT_URL": qbit_ours.url, "MAMC_QBIT_USER": qbit_ours.username,
                       "MAMC_QBIT_PASSWORD": qbit_ours.password, "MAMC_QBIT_CATEGORY": name,
                       "MAMC_RATE_LIMITS": json.dumps({"qbit": "1000/1/1000"}),
                       "MAMC_TRACKER_CHECK_SECONDS": str(CYCLE), "MAMC_TRACKER_STALE_SECONDS": str(3 * CYCLE),
                       "MAMC_SEEDING_RISK_GRACE_SECONDS": str(2 * CYCLE)}.items():
        monkeypatch.setenv(key, value)
    reset_singletons()
    monitor.set_client_factory(None)
    monkeypatch.setattr(monitor, "MEMORY", MonitorMemory())
    try:
        yield name
    finally:
        if not swarm.tracker.proc.alive():
            swarm.tracker.start()  # the swarm is the session's: leave it whole


def test_the_credit_stops_while_opentracker_is_down_and_resumes_when_it_is_back(
        swarm: Swarm, qbit_ours: QbitDaemon, category: str) -> None:
    api = api_client(qbit_ours)
    book = swarm.make_book()
    api.torrents_add(torrent_files=book.torrent, category=category, save_path=str(qbit_ours.downloads / category),
                     use_auto_torrent_management=False)
    h = book.info_hash
    try:
        _wait("seeding with a working tracker", lambda: bool(found := api.torrents_info(torrent_hashes=h))
              and found[0].progress == 1 and found[0].state in SEEDING_STATES and _tracker_status(api, h) == 2, 60)
        clock = ManualClock(utcnow())

        def ctx(job_type: str) -> JobContext[NoArgs]:
            return JobContext(job_id=uuid.uuid4(), job_type=job_type, generation=1, attempt=1,
                              correlation_id="t", phase=None, args=NoArgs(),
                              limiter=RateLimiter(get_redis(), get_settings().limits()), worker_host="test",
                              worker_pid=0, lifetime_attempts=1)

        def run() -> dict[str, Any]:
            """A minute: ``download.trackers``'s checks due, then a monitor cycle reading their answers."""
            clock.advance(CYCLE)
            with use_clock(clock):
                checks = trackers.download_trackers(ctx("download.trackers"))
                return {**monitor.download_monitor(ctx("download.monitor")), "checks": checks}

        def ledger() -> tuple[float, str, str | None]:
            with session_scope() as s:
                row = s.scalars(select(Download).where(Download.info_hash == h)).one()
                ob = s.get(Obligation, row.id)
                assert ob is not None
                return ob.seeded_seconds, ob.state, ob.risk_reason

        first = run()
        assert first["adopted"] == 1 and first["tracker_checks"] == 1, "the monitor asks about a torrent it adopts"
        for _ in range(3):
            report = run()
            assert report["credited_s"] == CYCLE and report["checks"]["checked"] == 1
            assert report["tracker_checks"] == 0, "later checks are download.trackers's"
        seeded, state, _ = ledger()
        assert state == ObligationState.OPEN and seeded >= 3 * CYCLE

        # opentracker dies; qBittorrent's next announce (made now by a stop and start) fails
        swarm.tracker.stop()
        api.torrents_pause(torrent_hashes=h)
        _wait("stopped", lambda: api.torrents_info(torrent_hashes=h)[0].state in ("pausedUP", "stoppedUP"), 20)
        api.torrents_resume(torrent_hashes=h)
        _wait("tracker not working", lambda: _tracker_status(api, h) == 4, 30)
        _wait("seeding again", lambda: api.torrents_info(torrent_hashes=h)[0].state in SEEDING_STATES, 20)
        maindata = api.sync_maindata(rid=0)["torrents"][h]
        assert maindata["tracker"], "sync/maindata still names the tracker: the per-torrent check is what sees it"

        report = run()
        assert report["tracker_not_working"] == 1 and report["credited_s"] == 0
        stopped_at, state, reason = ledger()
        assert state == ObligationState.OPEN and reason is not None and "Connection refused" in reason
        reports = [run() for _ in range(3)]
        assert all(r["credited_s"] == 0 for r in reports)
        still, state, _ = ledger()
        assert still == stopped_at and state == ObligationState.AT_RISK, "no credit while down; at risk after grace"
        with session_scope() as s:
            found = open_alert(s, "hit_and_run_risk")
            assert found is not None and "tracker is not working (Connection refused)" in found.message

        # opentracker is back: libtorrent's retry of the failed announce reaches it within about a minute
        swarm.tracker.start()
        _wait("tracker working again", lambda: _tracker_status(api, h) == 2, 180)
        report = run()
        assert report["changes"] == {"recovered": 1} and report["credited_s"] == 0
        for _ in range(3):
            assert run()["credited_s"] == CYCLE
        resumed, state, reason = ledger()
        assert state == ObligationState.OPEN and reason is None and resumed == stopped_at + 3 * CYCLE
        with session_scope() as s:
            assert open_alert(s, "hit_and_run_risk") is None
            row = s.scalars(select(Download).where(Download.info_hash == h)).one()
            assert row.tracker_working is True and row.tracker_checked_at == clock.now
    finally:
        api.torrents_delete(delete_files=False, torrent_hashes=h)
