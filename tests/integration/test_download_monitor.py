"""``download.monitor`` against real PostgreSQL and Redis, a fake qBittorrent and an injected clock.

The job body runs in this process, cycle after cycle, with the clock moved by hand
(``shared.infra.clock.use_clock``) and qBittorrent played by ``tests/fixtures/qbit_fake.py`` (its
``sync/maindata`` rid, restarts, removals behind our back). What is proved:

- completion opens the obligation, moves the wanted entry to ``downloaded`` and marks the import
  pending; the seeded time keeps accumulating through a qBittorrent restart that loses its counters
  and a worker restart, and the obligation is met; idle cycles count, a restart's check does not;
- a torrent removed behind our back is re-added from the stored (encrypted) ``.torrent`` and flagged,
  the hit-and-run alert opens and resolves; one whose files are gone is not re-added; one moved to
  another category is not re-added either, and is at risk;
- a torrent added by hand in our category is followed as ``manual``, its obligation opened;
- a stalled download is re-announced once, then reported, and never touched again;
- per-torrent share limits are set to "none" while time is owed, and only then;
- the global share limits are checked at the first cycle and hourly, alerting with what to change;
- a steady-state cycle costs exactly one qBittorrent call (``download.trackers`` keeps the tracker answers
  fresh: only seeds that owe time, the newest answer kept), and an event is notified once, not per cycle;
- a window closing unmet fails the obligation (alert), and seeding on meets it late (resolved);
- a ``fetched`` row is left to its grab until qBittorrent has held it an hour (then marked added).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from shared.download.grabs import store_torrent, torrent_bytes
from shared.download.states import DownloadState, ObligationState
from shared.download.torrents import ShareLimits
from shared.download.tracker_checks import TrackerCheck
from shared.engine.jobtypes import NoArgs
from shared.engine.ratelimit import RateLimiter
from shared.infra.alerts import open_alert
from shared.infra.clock import ManualClock, use_clock
from shared.infra.db import session_scope
from shared.infra.redis_client import get_redis
from shared.infra.settings import get_settings
from shared.models.download import Download, Obligation
from shared.models.jobs import Job
from shared.models.metadata import Wanted, wanted_key
from shared.wanted.states import WantedReason, WantedState
from tests.fixtures.qbit_fake import FakeQbit, info_hash, view
from tests.integration.conftest import reset_singletons
from workers.context import JobContext
from workers.download import monitor, trackers
from workers.download.cycle import MonitorMemory
from workers.download.throttled import Throttled

D = DownloadState
O = ObligationState  # noqa: E741
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REQUIRED = 7200  # two hours owed, so a test runs it to the end
CYCLE = 60
TORRENT = b"d8:announce38:http://127.0.0.1:1/announce?passkey=abc4:infod4:name4:bookee"
ALLOWED_CALLS = {"snapshot", "has", "add_torrent", "reannounce", "set_no_share_limits", "global_share_limits",
                 "tracker_status"}


@pytest.fixture
def qbit(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeQbit]:
    for key, value in {"MAMC_SEEDING_REQUIRED_SECONDS": str(REQUIRED), "MAMC_SEEDING_WINDOW_SECONDS": "86400",
                       "MAMC_DOWNLOAD_STALL_SECONDS": "600", "MAMC_SEEDING_RISK_GRACE_SECONDS": "300",
                       "MAMC_SCHEDULE_DOWNLOAD_MONITOR": str(CYCLE),
                       "MAMC_RATE_LIMITS": json.dumps({"qbit": "1000/1/1000"})}.items():
        monkeypatch.setenv(key, value)
    reset_singletons()
    fake = FakeQbit()
    monitor.set_client_factory(lambda take_slot: nullcontext(Throttled(fake, take_slot)))
    monkeypatch.setattr(monitor, "MEMORY", MonitorMemory())
    yield fake
    monitor.set_client_factory(None)
    assert set(fake.calls) <= ALLOWED_CALLS, "the monitor asked qBittorrent for something it must never do"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def run(clock: ManualClock, advance: float = CYCLE) -> dict[str, Any]:
    clock.advance(advance)
    ctx = JobContext(job_id=uuid.uuid4(), job_type="download.monitor", generation=1, attempt=1, correlation_id="t",
                     phase=None, args=NoArgs(), limiter=RateLimiter(get_redis(), get_settings().limits()),
                     worker_host="test", worker_pid=0, lifetime_attempts=1)
    with use_clock(clock):
        return monitor.download_monitor(ctx)


def check(clock: ManualClock) -> dict[str, Any]:
    """One ``download.trackers`` run at the clock's time (no time passes)."""
    ctx = JobContext(job_id=uuid.uuid4(), job_type="download.trackers", generation=1, attempt=1, correlation_id="t",
                     phase=None, args=NoArgs(), limiter=RateLimiter(get_redis(), get_settings().limits()),
                     worker_host="test", worker_pid=0, lifetime_attempts=1)
    with use_clock(clock):
        return trackers.download_trackers(ctx)


def checked_run(clock: ManualClock, advance: float = CYCLE) -> dict[str, Any]:
    """A minute of production: the tracker checks due, then a monitor cycle that reads their answers."""
    clock.advance(advance)
    report = check(clock)
    return {**run(clock, 0), "tracker_run": report}


def grabbed(h: str, *, wanted: bool = True, state: D = D.DOWNLOADING, content_path: str | None = None) -> int:
    """A download the grab added to qBittorrent (its .torrent stored), for a ``grabbed`` wanted entry."""
    with session_scope() as s:
        wanted_id = None
        if wanted:
            entry = Wanted(key=wanted_key(f"Book {h[:6]}", ["Ada Abbott"]), reason=WantedReason.WISHLIST,
                           reasons=[WantedReason.WISHLIST], state=WantedState.GRABBED, priority=50,
                           priority_manual=False, title=f"Book {h[:6]}", authors=["Ada Abbott"],
                           author_keys=["ada abbott"], sources={})
            s.add(entry)
            s.flush()
            wanted_id = entry.id
        row = Download(wanted_id=wanted_id, torrent_id=int(h[-6:], 16), state=state.value, source="grab",
                       dry_run=False, title=f"Book {h[:6]}", category="mamcrawler", tags=["mamcrawler", "Ada Abbott"],
                       save_path="/downloads", content_path=content_path, added_at=T0, last_progress_at=T0,
                       progress=0.0)
        store_torrent(row, TORRENT, h)
        row.state = state.value
        s.add(row)
        s.flush()
        return row.id


def download(download_id: int) -> Download:
    with session_scope() as s:
        row = s.get(Download, download_id)
        assert row is not None
        s.expunge(row)
        return row


def obligation(download_id: int) -> Obligation:
    with session_scope() as s:
        row = s.get(Obligation, download_id)
        assert row is not None, f"download {download_id} has no obligation"
        s.expunge(row)
        return row


def wanted_state(download_id: int) -> WantedState:
    with session_scope() as s:
        state = s.scalar(select(Wanted.state).join(Download, Download.wanted_id == Wanted.id)
                         .where(Download.id == download_id))
        assert state is not None
        return state


def alert(kind: str) -> str | None:
    with session_scope() as s:
        found = open_alert(s, kind)
        return found.message if found else None


def calls_of(fake: FakeQbit, clock: ManualClock, advance: float = CYCLE) -> int:
    before = fake.total_calls()
    run(clock, advance)
    return fake.total_calls() - before


def test_completion_opens_the_obligation_which_survives_restarts_until_met(qbit: FakeQbit, clock: ManualClock) -> None:
    h = info_hash(1)
    did = grabbed(h)
    qbit.put(view(h, state="downloading", progress=0.4, downloaded_bytes=40_000_000, seeding_time=0))
    first = run(clock)
    assert first["calls"] == 2, "the first cycle of a process also reads the global share limits"
    assert download(did).state == D.DOWNLOADING and download(did).progress == 0.4

    done_at = clock.now + timedelta(seconds=30)
    qbit.set(h, state="uploading", progress=1.0, downloaded_bytes=100_000_000, completion_on=done_at, seeding_time=30)
    report = run(clock)
    assert report["completed"] == 1
    row, ob = download(did), obligation(did)
    assert row.state == D.SEEDING and row.completed_at == done_at and row.import_state == "queued"
    with session_scope() as s:
        assert s.scalar(text("SELECT count(*) FROM jobs WHERE type = 'import.abs' AND args->>'download_id' = :d"),
                        {"d": str(row.id)}) == 1
    assert wanted_state(did) == WantedState.DOWNLOADED
    assert ob.state == O.OPEN and ob.seeded_seconds == 30 and ob.deadline == done_at + timedelta(seconds=86400)

    for _ in range(20):  # active seeding: both witnesses agree
        qbit.seed(CYCLE)
        run(clock)
    assert obligation(did).seeded_seconds == pytest.approx(30 + 20 * CYCLE)
    for _ in range(20):  # idle: qBittorrent's counter stands still, our clock does not
        run(clock)
    assert obligation(did).seeded_seconds == pytest.approx(30 + 40 * CYCLE)
    assert obligation(did).qbit_seeding_time == 30 + 20 * CYCLE

    # qBittorrent restarts and loses its counters: one cycle checking, then seeding again
    qbit.restart(reset_seeding_time=True)
    qbit.set(h, state="checkingResumeData")
    report = run(clock)
    assert report["calls"] == 1
    ob = obligation(did)
    assert ob.state == O.OPEN and ob.risk_reason == "not seeding (checkingResumeData)", "brief: within the grace"
    assert download(did).state == D.SEEDING, "a check says nothing lasting"
    qbit.set(h, state="stalledUP")
    run(clock)
    assert obligation(did).seeded_seconds == pytest.approx(30 + 40 * CYCLE), "the check's interval is not credited"
    assert obligation(did).risk_since is None

    # the worker restarts: a new client (rid 0) and empty memory; the row carries everything
    qbit.forget_client()
    monitor.MEMORY = MonitorMemory()
    qbit.seed(CYCLE)
    report = run(clock)
    assert report["calls"] == 2 and obligation(did).seeded_seconds == pytest.approx(30 + 41 * CYCLE)

    # a monitor outage of three hours while the seed was active: qBittorrent's counter covers it
    qbit.seed(3 * 3600)
    report = run(clock, 3 * 3600)
    ob = obligation(did)
    assert ob.state == O.MET and ob.met_at == clock.now and ob.seeded_seconds >= REQUIRED
    assert report["changes"] == {"met": 1}
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.type == "notify.send")) == 0


def test_a_torrent_removed_behind_our_back_is_readded_from_the_stored_torrent_and_flagged(
        qbit: FakeQbit, clock: ManualClock, tmp_path: Path) -> None:
    h = info_hash(2)
    content = tmp_path / "Book"
    content.mkdir()
    did = grabbed(h, content_path=str(content))
    qbit.put(view(h, completion_on=T0, content_path=str(content), seeding_time=0))
    run(clock)
    for _ in range(5):
        run(clock)
    seeded = obligation(did).seeded_seconds
    assert seeded == pytest.approx(5 * CYCLE)

    qbit.remove(h)
    report = run(clock)
    assert report["vanished"] == 1 and report["readded"] == 1 and report["calls"] == 3  # snapshot, has, add
    (added,) = qbit.added
    assert added.torrent == TORRENT and added.info_hash == h
    assert added.category == "mamcrawler" and added.tags == ["mamcrawler", "Ada Abbott"]
    assert added.save_path == "/downloads"
    row, ob = download(did), obligation(did)
    assert row.state == D.MISSING and row.error is not None and row.error.startswith("re-added from the stored")
    assert ob.state == O.AT_RISK and ob.risk_reason == "gone from qBittorrent"
    assert "hit-and-run risk" in (alert("hit_and_run_risk") or "")
    assert f"download {did}" in (alert("torrent_readded") or "")
    with session_scope() as s:
        stored = s.get(Download, did)
        assert stored is not None and stored.torrent_file != TORRENT and torrent_bytes(stored) == TORRENT

    report = run(clock)  # qBittorrent checked the files and seeds it again, with a new counter
    row, ob = download(did), obligation(did)
    assert row.state == D.SEEDING and report["changes"] == {"recovered": 1} and ob.state == O.OPEN
    assert ob.seeded_seconds == pytest.approx(seeded), "nothing lost, nothing credited for the gap"
    assert row.error is not None, "the flag stays"
    assert alert("hit_and_run_risk") is None and alert("torrent_readded") is None
    assert qbit.calls["add_torrent"] == 1


def test_a_vanished_torrent_whose_files_are_gone_is_not_readded_and_stays_at_risk(
        qbit: FakeQbit, clock: ManualClock, tmp_path: Path) -> None:
    h = info_hash(3)
    did = grabbed(h, content_path=str(tmp_path / "gone"))
    qbit.put(view(h, completion_on=T0))
    run(clock)
    qbit.remove(h)
    run(clock)
    assert qbit.added == [] and obligation(did).state == O.AT_RISK
    calls = calls_of(qbit, clock)
    assert calls == 1, "a torrent already known missing costs no further call"
    assert alert("hit_and_run_risk") is not None


def test_a_torrent_moved_out_of_our_category_is_not_readded_and_is_at_risk(qbit: FakeQbit, clock: ManualClock,
                                                                           tmp_path: Path) -> None:
    h = info_hash(4)
    did = grabbed(h, content_path=str(tmp_path))
    qbit.put(view(h, completion_on=T0))
    run(clock)
    qbit.set(h, category="movies")
    run(clock)
    row, ob = download(did), obligation(did)
    assert qbit.added == [] and row.state == D.MISSING and row.error is not None and "left category" in row.error
    assert ob.state == O.AT_RISK and ob.risk_reason == "moved out of our category: its seeding cannot be followed"
    qbit.set(h, category="mamcrawler")  # moved back
    run(clock)
    assert download(did).state == D.SEEDING and obligation(did).state == O.OPEN


def test_a_torrent_added_by_hand_in_our_category_is_followed(qbit: FakeQbit, clock: ManualClock) -> None:
    done, fetching, elsewhere = info_hash(5), info_hash(6), info_hash(7)
    qbit.put(view(done, name="Hand Added", completion_on=T0 - timedelta(hours=1), seeding_time=1800,
                  ratio_limit=-2, seeding_time_limit=-2))
    qbit.put(view(fetching, state="downloading", progress=0.1))
    qbit.put(view(elsewhere, category="linux-isos"))
    report = run(clock)
    assert report["adopted"] == 2 and report["completed"] == 1
    with session_scope() as s:
        rows = {r.info_hash: r for r in s.scalars(select(Download))}
        assert set(rows) == {done, fetching}
        manual = rows[done]
        assert manual.source == "manual" and manual.wanted_id is None and manual.torrent_id is None
        assert manual.state == D.SEEDING and manual.name == "Hand Added" and manual.import_state is None
        ob = s.get(Obligation, manual.id)
        assert ob is not None and ob.seeded_seconds == 1800 and ob.state == O.OPEN
        assert rows[fetching].state == D.DOWNLOADING
    assert qbit.limits_set == [done], "its limits followed the global ones: set to none"
    assert run(clock)["adopted"] == 0


def test_a_stalled_download_is_reannounced_once_then_reported_and_never_touched(qbit: FakeQbit,
                                                                                clock: ManualClock) -> None:
    h = info_hash(8)
    did = grabbed(h)
    qbit.put(view(h, state="stalledDL", progress=0.3, downloaded_bytes=30_000_000))
    run(clock)  # first sight: the stall clock starts
    for _ in range(9):
        run(clock)
    assert qbit.reannounced == [] and download(did).state == D.DOWNLOADING
    run(clock)  # 600 s without a byte
    assert qbit.reannounced == [h] and download(did).reannounced_at == clock.now
    for _ in range(9):
        assert calls_of(qbit, clock) == 1
    assert download(did).state == D.DOWNLOADING and alert("download_stalled") is None
    report = run(clock)  # as long again
    assert report["reported_stalled"] == 1 and download(did).state == D.STALLED
    assert "has not moved for 20 min at 30.0 %" in (alert("download_stalled") or "")
    for _ in range(30):
        assert calls_of(qbit, clock) == 1
    assert qbit.reannounced == [h] and qbit.calls["reannounce"] == 1
    assert download(did).state == D.STALLED

    qbit.set(h, state="downloading", progress=0.35, downloaded_bytes=35_000_000)
    run(clock)
    row = download(did)
    assert row.state == D.DOWNLOADING and row.reannounced_at is None and row.stalled_since is None
    assert alert("download_stalled") is None


def test_share_limits_are_set_to_none_while_time_is_owed_and_left_alone_after(qbit: FakeQbit,
                                                                              clock: ManualClock) -> None:
    h = info_hash(9)
    did = grabbed(h)
    qbit.put(view(h, completion_on=T0, ratio_limit=2.0, seeding_time_limit=-1))
    report = run(clock)
    assert report["limits_set"] == 1 and qbit.limits_set == [h]
    assert calls_of(qbit, clock) == 1, "qBittorrent now shows none: nothing to set"
    qbit.set(h, ratio_limit=-2)  # someone put it back on the global limits
    run(clock)
    assert qbit.limits_set == [h, h]
    with session_scope() as s:
        ob = s.get(Obligation, did)
        assert ob is not None
        ob.seeded_seconds = REQUIRED
    run(clock)
    assert obligation(did).state == O.MET
    qbit.set(h, ratio_limit=-2)
    run(clock)
    assert qbit.limits_set == [h, h], "met: the member's own limits apply again"


def test_global_share_limits_are_checked_at_start_and_hourly(qbit: FakeQbit, clock: ManualClock) -> None:
    qbit.limits = ShareLimits(ratio=1.0, seeding_minutes=None, inactive_seeding_minutes=None, action="pause")
    report = run(clock)
    assert report["global_limit_problems"] and qbit.calls["global_share_limits"] == 1
    message = alert("qbit_global_share_limits") or ""
    assert "ratio limit 1" in message and "Seeding Limits" in message
    for _ in range(58):
        run(clock)
    assert qbit.calls["global_share_limits"] == 1
    qbit.limits = ShareLimits(None, None, None, "pause")
    run(clock, 120)  # an hour since the last check
    assert qbit.calls["global_share_limits"] == 2 and alert("qbit_global_share_limits") is None


def test_a_steady_state_cycle_costs_exactly_one_call(qbit: FakeQbit, clock: ManualClock) -> None:
    hashes = [info_hash(100 + n) for n in range(60)]
    for n, h in enumerate(hashes):
        grabbed(h, wanted=False)
        qbit.put(view(h, completion_on=T0) if n % 2 else view(h, state="downloading", progress=0.5,
                                                              downloaded_bytes=n))
    first = run(clock)  # 30 seeds complete: the monitor asks about 10 (MAMC_TRACKER_CHECKS_PER_CYCLE) ...
    assert first["tracker_checks"] == 10
    for _ in range(2):  # ... and download.trackers about the 20 others, 10 a run
        assert check(clock)["checked"] == 10
    assert qbit.calls["tracker_status"] == 30 and len(set(qbit.tracker_checked)) == 30
    assert check(clock)["due"] == 0, "every seed was checked within MAMC_TRACKER_CHECK_SECONDS"
    assert calls_of(qbit, clock) == 1  # the 20 checked after the first cycle: their credit starts from here
    with session_scope() as s:
        before = dict(s.execute(select(Obligation.download_id, Obligation.seeded_seconds)).all())
    for n in range(10):  # within the checks' 15 minutes: one sync/maindata and nothing else
        for i, h in enumerate(hashes):
            if i % 2 == 0:
                qbit.set(h, downloaded_bytes=qbit.torrents[h].downloaded_bytes + 1000)  # moving: no stall
        qbit.seed(CYCLE)
        assert calls_of(qbit, clock) == 1, f"cycle {n}"
    with session_scope() as s:
        seeded = dict(s.execute(select(Obligation.download_id, Obligation.seeded_seconds)).all())
    assert len(seeded) == 30 and all(seeded[d] - before[d] == pytest.approx(10 * CYCLE) for d in seeded)


def test_a_risk_is_notified_once_when_it_happens_not_on_every_cycle(qbit: FakeQbit, clock: ManualClock,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMC_NOTIFY_URLS", "json://127.0.0.1:9/")
    get_settings.cache_clear()
    h = info_hash(10)
    did = grabbed(h)
    qbit.put(view(h, completion_on=T0))
    run(clock)
    qbit.set(h, state="pausedUP")
    for _ in range(5):
        run(clock)
    with session_scope() as s:
        jobs = list(s.scalars(select(Job).where(Job.type == "notify.send")))
        assert len(jobs) == 1
        assert jobs[0].args["kind"] == "hit_and_run_risk" and f"download {did}" in jobs[0].args["body"]
        assert "stopped in qBittorrent (pausedUP)" in jobs[0].args["body"]


def test_a_fetched_row_is_the_grabs_until_its_grab_has_evidently_died(qbit: FakeQbit, clock: ManualClock) -> None:
    h = info_hash(11)
    did = grabbed(h, state=D.FETCHED)
    with session_scope() as s:
        entry = s.scalar(select(Wanted).join(Download, Download.wanted_id == Wanted.id).where(Download.id == did))
        assert entry is not None
        entry.state = WantedState.WANTED  # the grab has not marked it grabbed yet
    qbit.put(view(h, state="downloading", progress=0.2, added_on=T0 + timedelta(seconds=30)))
    report = run(clock)
    assert report["adopted"] == 0 and download(did).state == D.FETCHED, "a live grab marks it added itself"
    for _ in range(59):
        run(clock)
    assert download(did).state == D.FETCHED
    run(clock)  # qBittorrent has held it for an hour: the grab died after adding it
    row = download(did)
    assert row.state == D.DOWNLOADING and row.added_at == T0 + timedelta(seconds=30) and row.progress == 0.2
    assert wanted_state(did) == WantedState.GRABBED
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Download)) == 1


def test_a_window_closing_unmet_fails_the_obligation_and_seeding_on_meets_it_late(qbit: FakeQbit,
                                                                                  clock: ManualClock) -> None:
    h = info_hash(12)
    did = grabbed(h)
    qbit.put(view(h, completion_on=T0, state="pausedUP"))
    run(clock)
    assert obligation(did).state == O.AT_RISK
    run(clock, 86400)  # the window (one day in this test) closes with the torrent still paused
    ob = obligation(did)
    assert ob.state == O.FAILED and "hit-and-run" in (alert("obligation_failed") or "")
    assert alert("hit_and_run_risk") is None, "nothing is at risk now: it has failed"
    qbit.set(h, state="stalledUP")
    run(clock)
    for _ in range(REQUIRED // CYCLE):
        run(clock)
    ob = obligation(did)
    assert ob.state == O.MET and ob.met_at is not None and ob.met_at > ob.deadline
    assert alert("obligation_failed") is None


def test_checks_that_cannot_keep_up_leave_time_uncredited_never_a_false_risk(qbit: FakeQbit, clock: ManualClock,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """One tracker check a run for 24 seeds (and one a monitor cycle for a seed whose answer went
    stale): each is asked about every twelve minutes, its answer stale after five. The time between
    is not credited (a doubt counts against us), and nothing is reported."""
    for key, value in {"MAMC_TRACKER_CHECKS_PER_CYCLE": "1", "MAMC_TRACKER_CHECK_SECONDS": "120",
                       "MAMC_TRACKER_STALE_SECONDS": "300"}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    hashes = [info_hash(200 + n) for n in range(24)]
    for h in hashes:
        grabbed(h, wanted=False)
        qbit.put(view(h, completion_on=T0))
    reports = [checked_run(clock) for _ in range(36)]
    assert reports[0]["tracker_run"]["checked"] == 0, "nothing seeds yet: the monitor has not seen them"
    assert all(r["tracker_run"]["checked"] <= 1 and r["tracker_checks"] <= 1 for r in reports), "the bound holds"
    assert sum(r["tracker_run"]["checked"] for r in reports) == 35, "download.trackers: one every run it had work"
    checks = Counter(qbit.tracker_checked)
    assert set(checks) == set(hashes) and min(checks.values()) >= 2, "round-robin: each seed in turn"
    assert all(r["tracker_unconfirmed"] > 0 for r in reports[12:]), "answers go stale between turns"
    with session_scope() as s:
        obs = list(s.scalars(select(Obligation)))
    assert len(obs) == 24 and all(ob.state == O.OPEN for ob in obs)
    # each seed: credited only while its answer was fresh, not all the time
    assert all(0 < ob.seeded_seconds < 35 * CYCLE for ob in obs), [ob.seeded_seconds for ob in obs]
    assert alert("hit_and_run_risk") is None


def test_a_tracker_seen_not_working_stops_the_credit_and_raises_the_risk(qbit: FakeQbit, clock: ManualClock,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMC_TRACKER_CHECK_SECONDS", "60")
    get_settings.cache_clear()
    sick, well = info_hash(300), info_hash(301)
    sick_id, well_id = grabbed(sick, wanted=False), grabbed(well, wanted=False)
    qbit.put(view(sick, completion_on=T0))
    qbit.put(view(well, completion_on=T0))
    for _ in range(3):
        run(clock)
    assert obligation(sick_id).seeded_seconds == obligation(well_id).seeded_seconds == pytest.approx(2 * CYCLE)
    qbit.set_tracker(sick, working=False, message="Unregistered torrent")
    assert qbit.torrents[sick].tracker_ok, "sync/maindata's tracker field does not notice"
    report = checked_run(clock)
    assert report["tracker_not_working"] == 1
    ob = obligation(sick_id)
    assert ob.seeded_seconds == pytest.approx(2 * CYCLE) and ob.state == O.OPEN
    assert ob.risk_reason == "stalledUP, but its tracker is not working (Unregistered torrent)"
    with session_scope() as s:
        row = s.get(Download, sick_id)
        assert row is not None and row.tracker_working is False and row.tracker_message == "Unregistered torrent"
        assert row.tracker_checked_at == clock.now
    for _ in range(5):  # the grace is 300 s in these tests
        checked_run(clock)
    assert obligation(sick_id).state == O.AT_RISK
    assert "its tracker is not working (Unregistered torrent)" in (alert("hit_and_run_risk") or "")
    assert obligation(sick_id).seeded_seconds == pytest.approx(2 * CYCLE)
    assert obligation(well_id).seeded_seconds == pytest.approx(8 * CYCLE), "each torrent's own tracker answer"

    qbit.set_tracker(sick, working=True)
    report = checked_run(clock)
    assert report["changes"] == {"recovered": 1} and obligation(sick_id).seeded_seconds == pytest.approx(2 * CYCLE)
    checked_run(clock)
    assert obligation(sick_id).seeded_seconds == pytest.approx(3 * CYCLE)
    assert alert("hit_and_run_risk") is None


def test_download_trackers_asks_only_seeds_that_owe_time_and_keeps_the_newest_answer(qbit: FakeQbit,
                                                                                   clock: ManualClock) -> None:
    owing, met, leeching = info_hash(400), info_hash(401), info_hash(402)
    owing_id, met_id = grabbed(owing, wanted=False), grabbed(met, wanted=False)
    grabbed(leeching, wanted=False)
    qbit.put(view(owing, completion_on=T0))
    qbit.put(view(met, completion_on=T0 - timedelta(hours=3), seeding_time=REQUIRED + 60))
    qbit.put(view(leeching, state="downloading", progress=0.5))
    run(clock)
    assert obligation(met_id).state == O.MET and obligation(owing_id).state == O.OPEN
    qbit.tracker_checked.clear()
    clock.advance(3600)  # every answer is due again
    report = check(clock)
    assert qbit.tracker_checked == [owing], "a met obligation and a download owe nothing"
    assert report["owing"] == 1 and report["kept"] == 1 and download(owing_id).tracker_checked_at == clock.now

    with session_scope() as s:  # an answer older than the stored one (a slow run racing the monitor's)
        kept = trackers.store(s, {owing_id: TrackerCheck(False, "late", clock.now - timedelta(seconds=5))})
    assert kept == 0 and download(owing_id).tracker_working is True
