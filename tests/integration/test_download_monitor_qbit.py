"""``download.monitor`` with the pool's real client (``QbitClient`` on qbittorrent-api) over HTTP
against the qBittorrent WebUI simulator, real PostgreSQL and Redis, and an injected clock.

What the in-memory fake cannot show: that the cycle's calls are what qBittorrent is actually sent
(counted by the simulator), that a torrent removed behind our back comes back through a real
``torrents/add`` of the stored ``.torrent`` (a MAM-simulator metainfo, its files on disk), and that a
refused login parks the monitor on the ``qbit_login`` gate, after which qBittorrent is sent nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shared.download import qbit_gate
from shared.download.grabs import store_torrent
from shared.download.states import DownloadState, ObligationState
from shared.engine.jobtypes import NoArgs
from shared.engine.ratelimit import RateLimiter
from shared.infra.alerts import open_alert
from shared.infra.clock import ManualClock, use_clock
from shared.infra.db import session_scope
from shared.infra.errors import Parked
from shared.infra.redis_client import get_redis
from shared.infra.settings import get_settings
from shared.models.download import Download, Obligation
from shared.models.jobs import Job
from tests.integration.conftest import reset_singletons
from tests.sims.mam import build_torrent, torrent_file, write_content
from tests.sims.qbit import QbitSimState, read, serve_qbit
from workers.context import JobContext
from workers.download import monitor, trackers
from workers.download.cycle import MonitorMemory

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def qbit(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[QbitSimState]:
    """The simulator over HTTP, and this process's settings pointed at it: the monitor uses the pool's
    own client (``pool_client``: ``qbit_session.qbit_client`` and its login gate)."""
    state = QbitSimState(username="mamc", password="qbit-secret")
    base, stop = serve_qbit(state)
    for key, value in {"MAMC_RATE_LIMITS": json.dumps({"qbit": "1000/1/1000"}), "MAMC_QBIT_URL": base,
                       "MAMC_QBIT_USER": "mamc", "MAMC_QBIT_PASSWORD": "qbit-secret",
                       "MAMC_QBIT_CATEGORY": "mamcrawler"}.items():
        monkeypatch.setenv(key, value)
    reset_singletons()
    monitor.set_client_factory(None)
    monkeypatch.setattr(monitor, "MEMORY", MonitorMemory())
    yield state
    stop()
    forbidden = {r for r in state.routes() if r.endswith(("delete", "pause", "stop", "setLocation", "rename",
                                                          "removeTags", "setCategory"))}
    assert not forbidden, f"the monitor asked qBittorrent to {forbidden}"


def _ctx(job_type: str) -> JobContext[NoArgs]:
    return JobContext(job_id=uuid.uuid4(), job_type=job_type, generation=1, attempt=1, correlation_id="t",
                      phase=None, args=NoArgs(), limiter=RateLimiter(get_redis(), get_settings().limits()),
                      worker_host="test", worker_pid=0, lifetime_attempts=1)


def run(clock: ManualClock, seconds: float = 60, *, checks: bool = False) -> dict[str, Any]:
    """A monitor cycle ``seconds`` later; ``checks``: ``download.trackers`` runs first, at the same time."""
    clock.advance(seconds)
    with use_clock(clock):
        if checks:
            trackers.download_trackers(_ctx("download.trackers"))
        return monitor.download_monitor(_ctx("download.monitor"))


def test_a_real_client_cycle_costs_one_http_call_and_a_removed_torrent_comes_back_through_torrents_add(
        qbit: QbitSimState, tmp_path: Path) -> None:
    state = qbit
    book = build_torrent({"id": 424242, "title": "The Sim Book", "authors": ["Ada Abbott"]})
    meta = torrent_file(book, "http://127.0.0.1:1/announce?passkey=secretpasskey")
    content = write_content(book, tmp_path)
    state.add(read(meta.data), category="mamcrawler", tags=["mamcrawler"], save_path=str(tmp_path),
              ratio_limit=-1, seeding_time_limit=-1)
    with session_scope() as s:
        row = Download(torrent_id=book.id, state=DownloadState.DOWNLOADING.value, source="grab", dry_run=False,
                       title=book.title, category="mamcrawler", tags=["mamcrawler"], save_path=str(tmp_path),
                       progress=0.0, added_at=T0, last_progress_at=T0)
        store_torrent(row, meta.data, meta.info_hash)
        row.state = DownloadState.DOWNLOADING.value
        s.add(row)
        s.flush()
        did = row.id
    clock = ManualClock(T0)

    state.set_progress(meta.info_hash, 0.5)
    first = run(clock)
    assert first["followed"] == 1 and first["calls"] >= 3, "403, login, sync/maindata (+ the global limits)"
    state.complete(meta.info_hash)
    assert run(clock)["completed"] == 1
    for _ in range(5):
        before = state.count()
        run(clock)
        assert state.count() - before == 1, "one sync/maindata per steady cycle, counted by qBittorrent"
    with session_scope() as s:
        ob = s.get(Obligation, did)
        assert ob is not None and ob.state == ObligationState.OPEN and ob.seeded_seconds == pytest.approx(300)
        got = s.get(Download, did)
        assert got is not None and got.content_path == str(content)

    adds_before = state.count("torrents/add")
    state.remove(meta.info_hash)
    report = run(clock)
    assert report["readded"] == 1 and state.count("torrents/add") == adds_before + 1
    back = state.torrents[meta.info_hash].fields
    assert back["category"] == "mamcrawler" and back["save_path"] == str(tmp_path) and back["tags"] == "mamcrawler"
    with session_scope() as s:
        got = s.scalar(select(Download).where(Download.id == did))
        assert got is not None and got.state == DownloadState.MISSING and got.error is not None
        assert got.error.startswith("re-added from the stored .torrent")
    state.complete(meta.info_hash)  # qBittorrent checked the files: complete, seeding
    run(clock)
    with session_scope() as s:
        got = s.get(Download, did)
        ob = s.get(Obligation, did)
        assert got is not None and got.state == DownloadState.SEEDING
        assert ob is not None and ob.state == ObligationState.OPEN


def test_a_refused_login_parks_the_monitor_on_the_qbit_gate_without_trying_again(
        qbit: QbitSimState, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMC_QBIT_PASSWORD", "wrong-password")
    get_settings.cache_clear()
    clock = ManualClock(T0)
    with pytest.raises(Parked):
        run(clock)
    logins = qbit.count("auth/login")
    assert logins >= 1
    with session_scope() as s:
        assert qbit_gate.gate_closed(s) and open_alert(s, qbit_gate.ALERT_KIND) is not None
    with pytest.raises(Parked):
        run(clock)
    assert qbit.count("auth/login") == logins, "a closed gate sends qBittorrent nothing"


def test_tracker_lists_are_read_a_bounded_few_per_cycle_and_an_outage_stops_the_credit(
        qbit: QbitSimState, monkeypatch: pytest.MonkeyPatch) -> None:
    """25 seeds added by hand, at most 10 tracker lists a minute (the monitor's for the torrents it
    adopts, then ``download.trackers``'s), each seed asked every 3 minutes; a
    tracker outage (``torrents/trackers``: "Connection refused", while ``sync/maindata`` still names the
    tracker) stops every seed's credit within a round and raises the risk; its end resumes the credit."""
    for key, value in {"MAMC_TRACKER_CHECKS_PER_CYCLE": "10", "MAMC_TRACKER_CHECK_SECONDS": "180",
                       "MAMC_TRACKER_STALE_SECONDS": "600", "MAMC_SEEDING_RISK_GRACE_SECONDS": "300",
                       "MAMC_NOTIFY_URLS": "json://127.0.0.1:9/"}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    state = qbit
    hashes = state.populate(25, category="mamcrawler")
    clock = ManualClock(T0)

    def cycle() -> tuple[dict[str, Any], list[str]]:
        seen = len(state.log)
        report = run(clock, checks=True)
        calls = state.log[seen:]
        assert sum(1 for c in calls if c.route == "sync/maindata" and c.status == 200) == 1
        return report, [c.params["hash"] for c in calls if c.route == "torrents/trackers"]

    asked = [cycle()[1] for _ in range(6)]
    # the monitor asks about 10 of the 25 it adopts; a minute later download.trackers about 10 more and
    # the monitor about the 5 still unanswered; then download.trackers alone, each seed every 3 min
    assert [len(a) for a in asked] == [10, 15, 0, 10, 10, 5], "a bounded round-robin"
    assert set(asked[0] + asked[1] + asked[2]) == set(hashes)
    with session_scope() as s:
        before = dict(s.execute(select(Obligation.download_id, Obligation.seeded_seconds)).all())
    assert len(before) == 25 and all(v > 0 for v in before.values())

    state.set_tracker(None, working=False)  # the tracker is down for everyone
    reports = [cycle()[0] for _ in range(3)]  # one round: every seed asked once
    assert reports[-1]["tracker_not_working"] == 25
    with session_scope() as s:
        during = dict(s.execute(select(Obligation.download_id, Obligation.seeded_seconds)).all())
    gained = {d: during[d] - before[d] for d in before}
    assert all(g <= 2 * 60 for g in gained.values()), "credit stops at each seed's first failing answer"
    for _ in range(6):
        cycle()
    with session_scope() as s:
        states = set(s.scalars(select(Obligation.state)))
        assert states == {ObligationState.AT_RISK}
        stuck = dict(s.execute(select(Obligation.download_id, Obligation.seeded_seconds)).all())
    assert stuck == during
    assert "× stalledUP, but its tracker is not working (Connection refused)" in (
        open_alert_message("hit_and_run_risk") or "")
    with session_scope() as s:
        notes = list(s.scalars(select(Job).where(Job.type == "notify.send")))
    # the seeds go at risk as the round-robin reaches them: one notification per cycle (10, 10, 5), not 25
    assert [n.args["kind"] for n in notes] == ["hit_and_run_risk"] * 3
    assert sorted(n.args["body"].split(" downloads owing")[0][-2:].strip() for n in notes) == ["10", "10", "5"]

    state.set_tracker(None, working=True)
    for _ in range(5):
        cycle()
    with session_scope() as s:
        assert set(s.scalars(select(Obligation.state))) == {ObligationState.OPEN}
        after = dict(s.execute(select(Obligation.download_id, Obligation.seeded_seconds)).all())
    assert all(after[d] > stuck[d] for d in stuck), "credited again once seen working"
    assert open_alert_message("hit_and_run_risk") is None


def open_alert_message(kind: str) -> str | None:
    with session_scope() as s:
        found = open_alert(s, kind)
        return found.message if found else None
